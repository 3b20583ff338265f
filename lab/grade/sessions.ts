// Stage 2 of the grader: sessions. A session is one SMTP connection (all events sharing `session`), summed up into
// the facts the rules need — was the client greylisted, did TLS come up, did the client break off the handshake or
// leave after it, which messages were accepted over which transport. The same summary, in words, is the grader's
// "last: …" in a reason (`describeSession`) and the training board's badge on each connection's timeline
// (`sessionBadge`, lab/ui/model.ts): one reading of the events, so the two never disagree. Imports only ./events.ts,
// and nothing from Node: lab/ui/model.ts bundles this file for the browser.
import { bool, type LoggedEvent, num, plural, str } from "./events.js";

/** How alarming an outcome is, for the board's colours. */
export type Tone = "ok" | "info" | "warn" | "bad";

export interface TlsInfo {
  version: string | null;
  cipher: string | null;
  sni: string | null;
}

export interface Session {
  id: string;
  /** The listener's scenario; "" when the events carry none. */
  scenario: string;
  client: string | null;
  /** "<MX host> <address>:<port>" */
  listener: string | null;
  start: number;
  end: number;
  events: LoggedEvent[];
  /** Greeting code when the server refused at the greeting (421 greylisting). */
  greylistedGreeting: number | null;
  /** 4xx RCPT replies (RCPT greylisting); their time, for "refused before delivered". */
  rcptTempRefusals: LoggedEvent[];
  rcptPermRefusals: LoggedEvent[];
  /** null when the client never got to EHLO. */
  starttlsOffered: boolean | null;
  tls: TlsInfo | null;
  tlsErrors: LoggedEvent[];
  /** MAIL FROM sent (or a recipient/message seen). */
  mail: boolean;
  messages: LoggedEvent[];
  /** Runs named by the recipients (`run-<id>@…`). */
  runs: Set<string>;
  hasRecipients: boolean;
  close: LoggedEvent | null;
}

function openSession(id: string, e: LoggedEvent): Session {
  return {
    id,
    scenario: e.scenario ?? "",
    client: e.client,
    listener: str(e, "listener"),
    start: e.t,
    end: e.t,
    events: [],
    greylistedGreeting: null,
    rcptTempRefusals: [],
    rcptPermRefusals: [],
    starttlsOffered: null,
    tls: null,
    tlsErrors: [],
    mail: false,
    messages: [],
    runs: new Set(),
    hasRecipients: false,
    close: null,
  };
}

/** Folds one event of the connection into its summary. */
function addEvent(s: Session, e: LoggedEvent): void {
  s.events.push(e);
  s.end = Math.max(s.end, e.t);
  s.client ??= e.client;
  const code = num(e, "code");
  switch (e.kind) {
    case "greeting":
      // RFC 5321 §3.8, §4.2.3: a 421 greeting refuses service for now; the client must try again later.
      if (bool(e, "greylisted") === true || (code !== null && code >= 400 && code < 500)) {
        s.greylistedGreeting = code ?? 421;
      }
      break;
    case "ehlo":
      if (bool(e, "starttlsOffered") !== null) s.starttlsOffered = s.starttlsOffered || bool(e, "starttlsOffered");
      break;
    case "command":
      if (/^MAIL\b/i.test(str(e, "command") ?? "")) s.mail = true;
      break;
    case "tls":
      s.tls = { version: str(e, "version"), cipher: str(e, "cipher"), sni: str(e, "sni") };
      break;
    case "tls-error":
      s.tlsErrors.push(e);
      break;
    case "rcpt": {
      s.mail = true;
      s.hasRecipients = true;
      const run = str(e, "run");
      if (run !== null) s.runs.add(run);
      if (code !== null && code >= 400 && code < 500) s.rcptTempRefusals.push(e);
      else if (code !== null && code >= 500) s.rcptPermRefusals.push(e);
      break;
    }
    case "message": {
      s.mail = true;
      s.hasRecipients = true;
      s.messages.push(e);
      const run = str(e, "run");
      if (run !== null) s.runs.add(run);
      break;
    }
    case "close":
      s.close = e;
      break;
  }
}

/** The SMTP sessions of a log (in `seq` order); DNS queries and events without a session or scenario are skipped. */
export function buildSessions(events: readonly LoggedEvent[]): Map<string, Session> {
  const sessions = new Map<string, Session>();
  for (const e of events) {
    if (e.session === null || e.scenario === null || e.kind === "dns-query") continue;
    let s = sessions.get(e.session);
    if (!s) {
      s = openSession(e.session, e);
      sessions.set(e.session, s);
    }
    addEvent(s, e);
  }
  return sessions;
}

/** One connection's events (in `seq` order) summed up as a session; null for no events. */
export function summarizeSession(events: readonly LoggedEvent[]): Session | null {
  const first = events[0];
  if (!first) return null;
  const s = openSession(first.session ?? "", first);
  for (const e of events) addEvent(s, e);
  return s;
}

/** Did the server refuse this attempt on purpose (421 greeting, 4xx RCPT)? */
export const refused = (s: Session) => s.greylistedGreeting !== null || s.rcptTempRefusals.length > 0;
export const refusalTimes = (s: Session): number[] => [
  ...(s.greylistedGreeting !== null ? [s.start] : []),
  ...s.rcptTempRefusals.map((e) => e.t),
];
/** Was this accepted message received over TLS? */
export const messageTls = (m: LoggedEvent) => bool(m, "tls") === true;

/** TLS alerts that mean "the client did not accept the server's certificate" (RFC 8446 §6.2). */
const CERTIFICATE_ALERTS = new Set([
  "bad_certificate",
  "unsupported_certificate",
  "certificate_revoked",
  "certificate_expired",
  "certificate_unknown",
  "unknown_ca",
  "access_denied",
]);

/**
 * Did the client itself turn this server down? Two signatures, as the server sees them:
 * - it broke off the TLS handshake (an alert such as bad_certificate, or it closed the connection mid-handshake —
 *   GnuTLS-based clients such as Debian's Exim fail verification inside the handshake);
 * - it completed the handshake, then left without MAIL FROM (OpenSSL-based clients such as Postfix check DANE after
 *   the handshake, then send QUIT).
 * A handshake the server cut on purpose (`aborted-by-server`) or a STARTTLS the server refused is not the client's doing.
 */
export function clientRejection(s: Session): string | null {
  const handshake = s.tlsErrors.filter((e) => str(e, "stage") === "handshake");
  const last = handshake[handshake.length - 1];
  if (last && !s.tls) {
    const alert = str(last, "alert");
    if (alert) {
      // RFC 8446 §6.2: handshake_failure, protocol_version and insufficient_security mean no shared parameters.
      const why = CERTIFICATE_ALERTS.has(alert)
        ? " — the client rejected the server's certificate"
        : alert === "handshake_failure" || alert === "protocol_version" || alert === "insufficient_security"
          ? " — client and server share no acceptable TLS version or cipher"
          : "";
      return `TLS handshake failed: ${alert}${why}${noSni(last)}`;
    }
    return `TLS handshake failed: ${str(last, "error") ?? "the client broke off the handshake"}${noSni(last)}`;
  }
  if (s.tls && !s.mail && s.close && s.messages.length === 0) {
    const reason = str(s.close, "reason");
    if (reason === "quit" || reason === "client-closed" || reason === "closed-after-handshake-without-command") {
      return (
        `the client completed the TLS handshake (${tlsText(s.tls)}) and then left without sending MAIL FROM — ` +
        "it did not accept the server's certificate"
      );
    }
  }
  return null;
}

/** RFC 7672 §8.1: DANE clients send SNI (the TLSA base domain); a server with several certificates depends on it. */
function noSni(tlsError: LoggedEvent): string {
  const hello = tlsError.raw["clientHello"];
  return hello && typeof hello === "object" && (hello as { sni?: unknown }).sni === null
    ? " (the client sent no SNI, RFC 7672 §8.1)"
    : "";
}

/** "TLSv1.3, TLS_AES_256_GCM_SHA384, SNI mx.x" */
export function tlsText(t: TlsInfo): string {
  const parts = [t.version ?? "TLS"];
  if (t.cipher) parts.push(t.cipher);
  parts.push(t.sni ? `SNI ${t.sni}` : "no SNI");
  return parts.join(", ");
}

/** A `tls-error` event in a few words: who ended TLS, and how. */
export function tlsErrorText(e: LoggedEvent): { label: string; tone: Tone } {
  const stage = str(e, "stage");
  if (stage === "refused") return { label: "STARTTLS refused by the server", tone: "warn" };
  if (stage === "aborted-by-server") return { label: "server cut the TLS handshake (on purpose)", tone: "warn" };
  const alert = str(e, "alert");
  return {
    label: alert
      ? `client rejected the certificate: TLS alert ${alert}`
      : `TLS handshake failed: ${str(e, "error") ?? "?"}`,
    tone: "bad",
  };
}

const CLOSE_TEXT: Record<string, string> = {
  quit: "the client quit",
  "client-closed": "the client closed the connection",
  timeout: "the connection timed out",
  error: "the connection failed",
  "closed-after-handshake-without-command": "the client closed the connection after the TLS handshake",
  "server-closed": "the server closed the connection",
};

/** One line about one connection, e.g. "TLSv1.3, TLS_AES_256_GCM_SHA384, SNI mx.x; 1 message accepted". */
export function describeSession(s: Session): string {
  if (s.greylistedGreeting !== null) return `greeted with ${s.greylistedGreeting} (greylisted)`;
  const parts: string[] = [];
  const errors = s.tlsErrors.map((e) => str(e, "stage"));
  let handshakeFailed = false;
  if (s.tls) parts.push(tlsText(s.tls));
  else if (errors.includes("aborted-by-server")) parts.push("the server cut the TLS handshake (part of the scenario)");
  // RFC 3207 §4: 454 "TLS not available due to temporary reason".
  else if (errors.includes("refused")) parts.push("STARTTLS refused by the server (454)");
  else if (errors.includes("handshake")) {
    parts.push(clientRejection(s) ?? "TLS handshake failed");
    handshakeFailed = true;
  } else if (s.starttlsOffered === false) parts.push("no STARTTLS offered");
  else if (s.starttlsOffered === true) parts.push("STARTTLS offered, not used");
  if (s.messages.length > 0) {
    const clear = s.messages.filter((m) => !messageTls(m)).length;
    parts.push(`${plural(s.messages.length, "message")} accepted${clear > 0 ? " in cleartext" : ""}`);
  } else if (s.rcptTempRefusals[0]) {
    parts.push(`RCPT refused with ${num(s.rcptTempRefusals[0], "code")} (greylisted)`);
  } else if (s.rcptPermRefusals[0]) {
    parts.push(`RCPT refused with ${num(s.rcptPermRefusals[0], "code")}`);
  } else if (!s.close) {
    parts.push("connection still open");
  } else if (!handshakeFailed) {
    const reason = str(s.close, "reason") ?? "";
    const closed = CLOSE_TEXT[reason] ?? `closed (${reason || "unknown reason"})`;
    parts.push(s.mail ? `${closed} without a message accepted` : `${closed} without sending MAIL FROM`);
  }
  return parts.join("; ");
}

/**
 * The connection's outcome as a short badge ("delivered over TLS", "greylisted (421)", "TLS, no message"), the most
 * telling fact first: what was delivered, else how TLS ended, else whether the server refused the attempt.
 */
export function sessionBadge(s: Session): { label: string; tone: Tone } {
  if (s.messages.some((m) => !messageTls(m))) return { label: "delivered in cleartext", tone: "bad" };
  if (s.messages.length > 0) return { label: "delivered over TLS", tone: "ok" };
  const tlsError = s.tlsErrors[0];
  if (tlsError) return tlsErrorText(tlsError);
  if (s.greylistedGreeting !== null) return { label: `greylisted (${s.greylistedGreeting})`, tone: "warn" };
  if (s.starttlsOffered === false && !s.tls) {
    return { label: "no STARTTLS offered; client did not deliver", tone: s.close ? "ok" : "info" };
  }
  if (s.tls) return s.close ? { label: "TLS, no message", tone: "warn" } : { label: "TLS up", tone: "info" };
  return { label: s.close ? "closed without a message" : "in progress", tone: "info" };
}
