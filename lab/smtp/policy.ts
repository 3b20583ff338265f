// What one SMTP listener refuses, and with which reply: the scenario's policy hooks, each an RFC reply code with an
// RFC 3463 enhanced code, so a client can tell "try later" from "never":
// - greylisting at the greeting (421 4.7.0) and at RCPT (451 4.7.1), skipped by the lab-wide allow-list;
// - relay: only recipients in `acceptDomains` (the lab suffix and below) are accepted, 550 5.7.1 otherwise — never a
//   relay; the domain-less "postmaster" always is;
// - limits with proper replies: SIZE (RFC 1870: advertised, 552 5.3.4 above it), recipients per message (452 4.5.3),
//   command line length (500 5.5.2, then close), connections per client address (421 4.7.0), idle timeout (421 4.4.2,
//   RFC 5321 §4.5.3.2), and per session — Postfix's defaults — 100 "junk" commands (NOOP, RSET, VRFY, EXPN, HELP), 20
//   error replies (5xx) and 10,000 commands in all, each answered 421 4.7.0 and closed (RFC 5321 §3.8), so one
//   connection cannot grow the event log without end;
// - a message the store could not keep: 452 4.3.1 / 451 4.3.0, never a 250.

import { normalizeName } from "../../zones/names.js";
import { ConnectionGreylist, type GreylistAllowList, RcptGreylist } from "./greylist.js";
import { StoreFullError } from "./store.js";

export interface SmtpLimits {
  /** Bytes of message content; advertised as SIZE. Default 10,240,000 (Postfix's default). */
  maxMessageSize?: number;
  /** Longest command line in bytes. Default 4096. */
  maxLineLength?: number;
  /**
   * Recipients per message; one more gets 452 4.5.3 and the client sends the rest in another transaction. Default
   * 1000 (Postfix's smtpd_recipient_limit; RFC 5321 §4.5.3.1.8 asks for at least 100).
   */
  maxRecipients?: number;
  /** Simultaneous connections from one client address. Default 100. */
  maxConnectionsPerAddress?: number;
  /** Idle time before 421 4.4.2. Default 300,000 ms (RFC 5321 §4.5.3.2.7: a server waits at least 5 minutes). */
  idleTimeoutMs?: number;
  /** NOOP/RSET/VRFY/EXPN/HELP per session before 421. Default 100 (Postfix's smtpd_junk_command_limit). */
  maxJunkCommands?: number;
  /** 5xx replies per session before 421. Default 20 (Postfix's smtpd_hard_error_limit). */
  maxErrors?: number;
  /** Commands per session before 421. Default 10,000 (Exim sends up to 500 messages per connection). */
  maxCommands?: number;
}

export interface PolicyOptions {
  /** The MX host name, as in the replies. */
  host: string;
  /** Recipient domains accepted (each with its subdomains). */
  acceptDomains: string[];
  greylist?: { connections?: number; rcptSeconds?: number } | undefined;
  limits?: SmtpLimits | undefined;
  allowList: GreylistAllowList;
}

/** What a session has done so far, as the per-session limits count it. */
export interface SessionCounts {
  commands: number;
  junkCommands: number;
  errors: number;
}

const DEFAULT_LIMITS: Required<SmtpLimits> = {
  maxMessageSize: 10_240_000,
  maxLineLength: 4096,
  maxConnectionsPerAddress: 100,
  maxRecipients: 1000,
  idleTimeoutMs: 300_000,
  maxJunkCommands: 100,
  maxErrors: 20,
  maxCommands: 10_000,
};
/** smtp-server's cap on connections per listener (421 above it); per client address, `limits` applies. */
export const MAX_CLIENTS = 5000;
const JUNK_COMMANDS = new Set(["NOOP", "RSET", "VRFY", "EXPN", "HELP"]);

/** An error smtp-server turns into this reply. */
export function refuse(code: number, text: string): Error {
  return Object.assign(new Error(text), { responseCode: code });
}

export class ListenerPolicy {
  readonly limits: Required<SmtpLimits>;
  private readonly host: string;
  private readonly acceptDomains: string[];
  private readonly allowList: GreylistAllowList;
  private readonly connGreylist: ConnectionGreylist | null;
  private readonly rcptGreylist: RcptGreylist | null;

  constructor(opts: PolicyOptions) {
    this.limits = { ...DEFAULT_LIMITS, ...stripUndefined(opts.limits ?? {}) };
    this.host = opts.host;
    this.acceptDomains = opts.acceptDomains.map((d) => normalizeName(d));
    this.allowList = opts.allowList;
    this.connGreylist = opts.greylist?.connections ? new ConnectionGreylist(opts.greylist.connections) : null;
    this.rcptGreylist = opts.greylist?.rcptSeconds ? new RcptGreylist(opts.greylist.rcptSeconds) : null;
  }

  /** Forgets greylisting state (one client address, or all). */
  resetGreylist(client?: string): void {
    this.connGreylist?.reset(client);
    this.rcptGreylist?.reset(client);
  }

  /** At the greeting, for a client with `connections` open (this one included): null, or the 421 and why. */
  connect(client: string, connections: number): { refusal: Error; greylisted: boolean } | null {
    const host = this.host;
    // RFC 5321 §3.8: 421 at the greeting = "service not available", the client retries later.
    if (connections > this.limits.maxConnectionsPerAddress) {
      const text = `4.7.0 ${host} Error: too many connections from ${client}, try again later`;
      return { refusal: refuse(421, text), greylisted: false };
    }
    if (this.connGreylist && !this.allowList.has(client) && this.connGreylist.check(client)) {
      const text = `4.7.0 ${host} Greylisted: first connections from ${client} are refused, try again later`;
      return { refusal: refuse(421, text), greylisted: true };
    }
    return null;
  }

  /** At RCPT TO: null to accept, or the refusal. `accepted` = recipients of this transaction so far. */
  rcpt(rcpt: string, client: string, sender: string, accepted: number): Error | null {
    const at = rcpt.lastIndexOf("@");
    const domain = at >= 0 ? rcpt.slice(at + 1).toLowerCase() : "";
    // RFC 5321 §4.1.1.3: the domain-less "postmaster" must be accepted.
    const local = at < 0 && rcpt.toLowerCase() === "postmaster";
    if (!local && !this.acceptDomains.some((d) => domain === d || domain.endsWith(`.${d}`))) {
      return refuse(
        550,
        `5.7.1 <${rcpt}>: Relay access denied: ${this.host} accepts mail only for ${this.acceptDomains.join(", ")} and subdomains`,
      );
    }
    // RFC 5321 §4.5.3.1.10: "452 too many recipients" — the client delivers the rest in a later transaction.
    if (accepted >= this.limits.maxRecipients) {
      return refuse(452, `4.5.3 Error: too many recipients (at most ${this.limits.maxRecipients} per message)`);
    }
    if (this.rcptGreylist && !this.allowList.has(client) && this.rcptGreylist.check(client, sender, rcpt)) {
      return refuse(
        451,
        `4.7.1 <${rcpt}>: Recipient address rejected: Greylisted, try again in ${this.rcptGreylist.seconds} seconds`,
      );
    }
    return null;
  }

  isJunk(verb: string): boolean {
    return JUNK_COMMANDS.has(verb);
  }

  /** The 421 text once a session has sent too many commands (counting the one just received), or null. */
  commandLimit(s: SessionCounts): string | null {
    const { maxCommands, maxJunkCommands } = this.limits;
    const over =
      s.commands > maxCommands
        ? `too many commands in one session (limit ${maxCommands})`
        : s.junkCommands > maxJunkCommands
          ? `too many NOOP/RSET/VRFY/EXPN/HELP commands (limit ${maxJunkCommands})`
          : null;
    return over ? `4.7.0 ${this.host} Error: ${over}, closing connection` : null;
  }

  /** The 421 text once a session has had too many 5xx replies, or null. */
  errorLimit(s: SessionCounts): string | null {
    const max = this.limits.maxErrors;
    return s.errors > max ? `4.7.0 ${this.host} Error: too many errors (limit ${max}), closing connection` : null;
  }

  /** RFC 5321 §4.5.3.1.4 / §4.2.2: a line above the limit is a syntax error; the parser cannot resync, so close. */
  lineTooLong(): string {
    return `5.5.2 Error: command line too long (limit ${this.limits.maxLineLength} octets), closing connection`;
  }

  tooLarge(): Error {
    return refuse(552, `5.3.4 Error: message exceeds fixed maximum message size ${this.limits.maxMessageSize}`);
  }

  /**
   * RFC 5321 §4.2.2 / §4.2.5: 452 "insufficient system storage" with RFC 3463 §3.4 4.3.1 "mail system full"; any other
   * failure to store is 451 4.3.0 "local error in processing". Both are temporary: the client keeps the message and
   * tries again. The reply never carries a file path of this machine.
   */
  notStored(err: Error | null): Error {
    return err instanceof StoreFullError
      ? refuse(
          452,
          err.reason === "quota"
            ? "4.3.1 Insufficient system storage: the lab's mail store quota is reached, try again later"
            : "4.3.1 Insufficient system storage: the lab's disk is full, try again later",
        )
      : refuse(451, "4.3.0 Error: the lab could not store the message, try again later");
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
