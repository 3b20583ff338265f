// Reads Exim's main log (/var/log/exim4/mainlog) into one client-side outcome per recipient. Pure: text in, data out.
//
// Exim's delivery log flags (spec, chapter "Log files", "Flags in log lines"):
//   <=  message arrival            =>  normal delivery          ->  additional address in the same delivery
//   ==  delivery deferred          **  delivery failed (bounce)  *>  delivery suppressed by -N
// A delivery line carries `H=host [ip]`, `X=<TLS version:cipher:bits>` when TLS was used, and `CV=` how the peer's
// certificate was verified: `dane` (TLSA match, RFC 7672 §3), `yes` (CA chain + name), `no` (unverified).
// Host-level errors ("SMTP error from remote mail server after initial connection", "TLS session: …") are logged as
// separate lines with the message id but without the recipient; they are kept as the error's context.
import type { ClientOutcome, DeliverySecurity } from "./outcome.js";

// "2026-11-29 05:30:02 1t3XYZ-000123-AB => ..." — optional [pid] after the time (log_selector +pid).
const LINE =
  /^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?)(?: [+-]\d{4})?(?: \[\d+\])? ([0-9A-Za-z]{6}-[0-9A-Za-z]{6,11}-[0-9A-Za-z]{2,4}) (.*)$/;

interface MessageState {
  recipient?: string;
  outcome?: ClientOutcome;
  lines: string[];
  /** Host-level error lines since the last recipient-level line. */
  context: string[];
}

function field(rest: string, name: string): string | undefined {
  // Values are either "quoted" or run to the next space; H= is "name [ip]" (two tokens) and may carry a :port.
  if (name === "H") {
    const m = / H=(\S+(?: \[[^\]]+\])?(?::\d+)?)/.exec(rest);
    return m?.[1];
  }
  const m = new RegExp(` ${name}=("(?:[^"\\\\]|\\\\.)*"|\\S+)`).exec(rest);
  return m?.[1]?.replace(/^"|"$/g, "");
}

/**
 * The error text of a `==`/`**` line: what follows the fields (`R=… T=… defer (-37) H=name [ip] DT=0s: <text>`).
 * No field value before the text contains ": " (H= is "name [ip]", IPv6 addresses have no space after a colon).
 */
function errorText(afterAddress: string): string {
  const i = afterAddress.indexOf(": ");
  // log_selector +deliver_time appends " DT=<time>" to failure lines.
  return (i >= 0 ? afterAddress.slice(i + 2) : afterAddress).replace(/\s+DT=\S+\s*$/, "").trim();
}

function security(rest: string): { security: DeliverySecurity; tls?: string } {
  const tls = field(rest, "X");
  if (!tls) return { security: "cleartext" };
  const cv = field(rest, "CV");
  const sec: DeliverySecurity = cv === "dane" ? "dane" : cv === "yes" ? "tls-verified" : "tls-unverified";
  return { security: sec, tls };
}

/**
 * Exim built with OpenSSL logs the first entry of OpenSSL's error queue after a failed handshake, and that is often a
 * stale one left by certificate parsing (measured on Debian 12's Exim 4.96 rebuilt with OpenSSL 3.0: ta-nexthop-name,
 * ta-wildcard-deep and eku-client-only all log "asn1 encoding routines::illegal zero content"), not the X509 reason.
 * Say so next to it, so the words are not taken for the cause.
 */
function staleOpenSsl(error: string): string {
  return /error:068000DE:asn1 encoding routines::illegal zero content/.test(error)
    ? `${error} (a stale OpenSSL error, not the verification result: \`exim -d+tls\` shows the X509 reason)`
    : error;
}

/**
 * Outcomes by recipient (lower-cased), for the recipients in `only` when given. A recipient sent in several messages
 * gets the outcome of the last one.
 */
export function parseEximLog(log: string, only?: Iterable<string>): Map<string, ClientOutcome> {
  const wanted = only ? new Set([...only].map((r) => r.toLowerCase())) : null;
  const messages = new Map<string, MessageState>();
  const out = new Map<string, ClientOutcome>();

  for (const line of log.split("\n")) {
    const m = LINE.exec(line);
    if (!m) continue;
    const id = m[2]!;
    const rest = m[3]!;
    let msg = messages.get(id);
    if (!msg) {
      msg = { lines: [], context: [] };
      messages.set(id, msg);
    }
    msg.lines.push(line);

    const flag = /^(=>|->|==|\*\*|\*>) (\S+)(?: <([^>]*)>)?(.*)$/.exec(rest);
    if (!flag) {
      if (/^<= /.test(rest) || rest === "Completed" || /^Frozen|^Message is frozen/.test(rest)) continue;
      // Host-level error or warning for this message's current attempt.
      msg.context.push(rest.trim());
      continue;
    }
    const [, sign, address, original, fields] = flag as unknown as [string, string, string, string | undefined, string];
    const recipient = (original ?? address!).toLowerCase();
    if (wanted && !wanted.has(recipient)) continue;
    const previous = out.get(recipient);
    const attempts = (previous?.status === "deferred" ? previous.attempts : 0) + 1;
    const host = field(rest, "H");
    // The lines up to this one: the last is the recipient's own verdict line (not the later "Completed"), which is
    // what the matrix's findings quote.
    const base = { recipient, attempts, lines: [...msg.lines], ...(host ? { host } : {}) };

    let outcome: ClientOutcome;
    if (sign === "=>" || sign === "->" || sign === "*>") {
      const sec = security(rest);
      outcome = {
        ...base,
        status: "delivered",
        security: sec.security,
        ...(sec.tls ? { tls: sec.tls } : {}),
        ...(previous?.error ? { error: previous.error } : {}),
      };
    } else {
      const text = errorText(fields);
      // "retry time not reached" says nothing new: keep the error that caused the deferral.
      const uninformative = /retry time not reached/i.test(text) && previous?.error;
      const context = msg.context.filter((c) => !text.includes(c.replace(/^.*?: /, "")));
      const error = uninformative ? previous!.error! : staleOpenSsl([text, ...context].filter(Boolean).join(" | "));
      outcome = { ...base, status: sign === "==" ? "deferred" : "bounced", error };
    }
    msg.context = [];
    msg.recipient = recipient;
    out.set(recipient, outcome);
  }
  return out;
}
