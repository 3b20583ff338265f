// One SMTP connection as the lab sees it, and the events it becomes (lab/events.ts, docs/contracts.md): connect,
// greeting, ehlo, command (each command and its reply code), tls or tls-error (with the alert the client sent, the SNI
// from its ClientHello), rcpt, message, close (with the reason). Replies are translated into events here: a reply
// answers the pending command, the end of the message content, the greeting, or nothing (an idle timeout, a shutdown).
// The session also counts what the per-session limits (policy.ts) look at, and carries out the STARTTLS modes
// `refused` and `abort` (tls-context.ts). smtp-internals.ts calls it at the points smtp-server keeps private.
import type { Socket } from "node:net";
import type { TLSSocket } from "node:tls";
import type { ClientHelloSummary, CloseReason, SmtpEventInput } from "../events.js";
import type { ListenerPolicy } from "./policy.js";
import type { ConnectionControl, ConnectionObserver } from "./smtp-internals.js";
import { runOfRecipient } from "./store.js";
import type { StarttlsMode } from "./tls-context.js";
import { alertFromError, parseClientHello } from "./tls-inspect.js";

/** An event of this session, without the fields the listener fills in. */
export type SessionEvent = DistributiveOmit<SmtpEventInput, "session" | "scenario" | "listener" | "client">;

export class Session implements ConnectionObserver {
  readonly id: string;
  pendingCommand: string | null = null;
  awaitingDataEnd = false;
  greeted = false;
  greylisted = false;
  inTimeout = false;
  timedOut = false;
  serverClosed = false;
  quit = false;
  starttlsSent = false;
  tlsErrorRecorded = false;
  tls: { version: string; cipher: string; sni: string | null } | null = null;
  clientHello: ClientHelloSummary | null = null;
  commands = 0;
  commandsAfterTls = 0;
  junkCommands = 0;
  errors = 0;
  messages = 0;
  sender: string | null = null;
  error: string | null = null;

  constructor(
    private readonly conn: ConnectionControl,
    /** The client's address, normalised (lab/smtp/greylist.ts). */
    readonly client: string,
    /** The TCP socket (under TLS after STARTTLS): byte counts and shutdown. */
    readonly rawSocket: Socket,
    private readonly ctx: {
      emit: (s: Session, fields: SessionEvent) => void;
      policy: ListenerPolicy;
      starttls: StarttlsMode;
    },
  ) {
    this.id = conn.id;
  }

  private emit(fields: SessionEvent): void {
    this.ctx.emit(this, fields);
  }

  /** The reply → event translation. */
  reply(code: number, lines: string[]): void {
    this.record(code, lines);
    if (code === 421 && !this.inTimeout) this.serverClosed = true;
  }

  replied(code: number): void {
    if (code >= 500 && code < 600) {
      this.errors += 1;
      const over = this.ctx.policy.errorLimit(this);
      if (over && !this.serverClosed) this.conn.send(421, over);
    }
  }

  lineTooLong(): string {
    const text = this.ctx.policy.lineTooLong();
    this.record(500, [text]);
    this.serverClosed = true;
    return text;
  }

  command(command: Buffer): boolean {
    this.pendingCommand = commandForLog(command);
    this.commands += 1;
    if (this.tls) this.commandsAfterTls += 1;
    const verb = this.pendingCommand.trimStart().split(" ", 1)[0]!.toUpperCase();
    if (this.ctx.policy.isJunk(verb)) this.junkCommands += 1;
    const over = this.ctx.policy.commandLimit(this);
    if (over && !this.serverClosed) {
      this.conn.send(421, over);
      return false;
    }
    return true;
  }

  socketError(err: Error & { code?: string; meta?: { message?: string } }, upgrading: boolean): void {
    const text = err.meta?.message ?? err.message;
    if ((upgrading || (this.starttlsSent && !this.tls)) && !this.tlsErrorRecorded && this.ctx.starttls === "offered") {
      this.tlsErrorRecorded = true;
      const alert = alertFromError({ code: err.code, message: text });
      this.emit({
        kind: "tls-error",
        stage: "handshake",
        alert: alert?.alert ?? null,
        alertNumber: alert?.alertNumber ?? null,
        error: [err.code, text].filter(Boolean).join(": "),
        sni: this.clientHello?.sni ?? null,
        clientHello: this.clientHello,
      });
    }
    if (!this.error) this.error = [err.code, text].filter(Boolean).join(": ");
  }

  timeoutStart(closing: boolean): void {
    this.inTimeout = true;
    // RFC 5321 §4.5.3.2: the server closes an idle connection; smtp-server replies 421 (4.4.2 with our codes)
    if (!closing) this.timedOut = true;
  }

  timeoutEnd(): void {
    this.inTimeout = false;
  }

  starttls(): "refuse" | "proceed" {
    if (this.ctx.starttls !== "refused") return "proceed";
    // RFC 3207 §4: 454 "TLS not available due to temporary reason"
    this.conn.send(454, "4.7.0 TLS not available due to temporary reason");
    this.emit({
      kind: "tls-error",
      stage: "refused",
      alert: null,
      alertNumber: null,
      error: "STARTTLS refused with 454 (scenario behaviour)",
    });
    this.tlsErrorRecorded = true;
    return "refuse";
  }

  starttlsReplySent(): void {
    this.starttlsSent = true;
  }

  clientHelloReceived(buffered: Buffer): "abort" | "continue" {
    this.clientHello = parseClientHello(buffered);
    if (this.ctx.starttls !== "abort") return "continue";
    this.tlsErrorRecorded = true;
    this.serverClosed = true;
    this.emit({
      kind: "tls-error",
      stage: "aborted-by-server",
      alert: null,
      alertNumber: null,
      error: "the server destroyed the connection after the ClientHello (scenario behaviour)",
      sni: this.clientHello?.sni ?? null,
      clientHello: this.clientHello,
    });
    return "abort";
  }

  closedBeforeHandshake(): void {
    if (!this.error) this.error = "the client closed the connection after STARTTLS before completing a ClientHello";
  }

  /** smtp-server's onSecure: the handshake completed. */
  secured(tls: TLSSocket): void {
    const cipher = tls.getCipher?.();
    const peer = tls.getPeerCertificate?.();
    const local = tls.getCertificate?.() as { subject?: Record<string, unknown>; fingerprint256?: string } | null;
    const sni = typeof tls.servername === "string" && tls.servername ? tls.servername : null;
    this.tls = { version: tls.getProtocol?.() ?? "unknown", cipher: cipher?.name ?? "unknown", sni };
    this.emit({
      kind: "tls",
      version: this.tls.version,
      cipher: this.tls.cipher,
      sni,
      clientCertificate: peer && Object.keys(peer).length > 0 ? formatSubject(peer.subject) || "(empty subject)" : null,
      clientCertificateError:
        peer && Object.keys(peer).length > 0
          ? ((tls as unknown as { authorizationError?: string }).authorizationError ?? null)
          : null,
      serverCertificate: local?.fingerprint256
        ? { subject: formatSubject(local.subject), sha256: local.fingerprint256.replace(/:/g, "").toLowerCase() }
        : null,
    });
  }

  /** A message was stored and acknowledged. */
  stored(m: { id: string; size: number; run: string | null; path: string }, recipients: string[]): void {
    this.messages += 1;
    this.emit({
      kind: "message",
      id: m.id,
      size: m.size,
      tls: this.tls !== null,
      tlsVersion: this.tls?.version ?? null,
      recipients,
      run: m.run,
      path: m.path,
    });
  }

  /** The connection is gone: a late tls-error if the handshake never finished, then the close event with its reason. */
  closed(): void {
    if (this.starttlsSent && !this.tls && !this.tlsErrorRecorded && this.ctx.starttls === "offered") {
      this.tlsErrorRecorded = true;
      this.emit({
        kind: "tls-error",
        stage: "handshake",
        alert: null,
        alertNumber: null,
        error: this.error ?? "the client closed the connection during the TLS handshake without sending an alert",
        sni: this.clientHello?.sni ?? null,
        clientHello: this.clientHello,
      });
    }
    let reason: CloseReason;
    if (this.serverClosed) reason = "server-closed";
    else if (this.timedOut) reason = "timeout";
    else if (this.quit) reason = "quit";
    else if (this.tls && this.commandsAfterTls === 0) reason = "closed-after-handshake-without-command";
    else if (this.error) reason = "error";
    else reason = "client-closed";
    this.emit({
      kind: "close",
      reason,
      error: this.error,
      starttlsUsed: this.tls !== null,
      commands: this.commands,
      messages: this.messages,
      bytesIn: this.rawSocket.bytesRead,
      bytesOut: this.rawSocket.bytesWritten,
    });
  }

  private record(code: number, lines: string[]): void {
    const reply = `${code} ${lines[0] ?? ""}`.slice(0, 300);
    if (this.inTimeout) {
      this.emit({ kind: "reply", code, reply });
      return;
    }
    if (this.pendingCommand !== null) {
      const command = this.pendingCommand;
      this.pendingCommand = null;
      const verb = command.split(" ")[0]!.toUpperCase();
      this.emit({ kind: "command", command, code, reply });
      if ((verb === "EHLO" || verb === "HELO") && code === 250) {
        this.emit({
          kind: "ehlo",
          verb,
          name: command.slice(5).trim(),
          code,
          starttlsOffered: lines.some((l) => /^STARTTLS\b/i.test(l.trim())),
        });
      } else if (verb === "RCPT") {
        const rcpt = /^RCPT\s+TO:\s*<([^>]*)>/i.exec(command)?.[1] ?? command.slice(8).trim();
        this.emit({ kind: "rcpt", recipient: rcpt, code, run: runOfRecipient(rcpt) });
      } else if (verb === "DATA" && code === 354) {
        this.awaitingDataEnd = true;
      } else if (verb === "QUIT") {
        this.quit = true;
      }
      return;
    }
    if (this.awaitingDataEnd) {
      // the reply to the end of the message content ("." on a line by itself, RFC 5321 §4.1.1.4)
      this.awaitingDataEnd = false;
      this.emit({ kind: "command", command: ".", code, reply });
      return;
    }
    if (!this.greeted) {
      this.greeted = true;
      this.emit({ kind: "greeting", code, greylisted: this.greylisted, reply });
      return;
    }
    this.emit({ kind: "reply", code, reply });
  }
}

/** The command line as logged: printable, at most 512 characters, never a credential (AUTH is disabled anyway). */
function commandForLog(command: Buffer): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: stripping control characters is the point
  const text = command.toString("latin1").replace(/[\x00-\x1f\x7f]/g, "?");
  return text.length > 512 ? `${text.slice(0, 512)}…` : text;
}

function formatSubject(subject: unknown): string {
  if (!subject || typeof subject !== "object") return "";
  return Object.entries(subject as Record<string, unknown>)
    .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join("+") : String(v)}`)
    .join(", ");
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
