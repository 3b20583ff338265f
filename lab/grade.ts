// The grader: turns what clients did at the lab's SMTP listeners (the event log, lab/events.ts) into one verdict per
// scenario — did the client MTA do what RFC 7672 requires? Grading is server-side only: the lab sees connections,
// greetings, EHLO, STARTTLS, the TLS handshake (or the client's alert), recipients and accepted messages, so any MTA
// anywhere can be graded without access to its logs. Pure: no clock, no files, no sockets.
//
// Verdicts:
//   pass        the client did what the scenario's `expect` requires
//   fail        it did not; `reason` says what it did wrong, in words a mail admin acts on
//   pending     not decided yet (no delivery so far, a retry still expected, or the lab cannot tell)
//   not-tested  the client never tried this scenario (no connection, no DNS query)
//   observed    `implementation-defined` scenarios: the RFCs leave it open, the reason says what the client did
//
// How events are put together:
// - A session is one SMTP connection (all events sharing `session`); each belongs to one scenario (the listener's).
// - A run is the set of sessions whose recipients were `run-<id>@…` (the `run` field of rcpt and message events).
//   With `run`, a session belongs to it when any of its rcpt/message events carries that run. Sessions without any
//   recipient (greylisted at the greeting, TLS failed, no STARTTLS so the client quit) and DNS queries carry no run:
//   they are attributed to the run of the *nearest* (in time) run-carrying session of the same client address, when
//   that one lies within ±`attributionWindowMs` (15 min) — a session of the same scenario is preferred over one of
//   another scenario. DNS queries from an address that has no run-carrying session at all (a validating resolver in
//   front of the MTA, e.g. `--resolver unbound`, or MTAs in containers whose lookups all leave from 127.0.0.1) count
//   for every run with a session within that window: several runs at once cannot be told apart, and each had to ask. Limitation: two runs from the same
//   client address at the same time cannot be told apart for recipient-less sessions; give each MTA its own source
//   address (Exim `interface`, Postfix `smtp_bind_address`) to make attribution exact.
// - Without `run`, every event counts.
import type { LabEvent } from "./events.js";

export type Verdict = "pass" | "fail" | "pending" | "not-tested" | "observed";
export const VERDICTS: readonly Verdict[] = ["pass", "fail", "pending", "not-tested", "observed"];

/** What the grader needs of a scenario; the manifest's scenarios (lab/manifest.ts) fit. */
export interface GradableScenario {
  id: string;
  /** deliver | deliver-after-retry | no-delivery | tls-required | opportunistic | implementation-defined */
  expect: string;
  title?: string;
  group?: string;
  /** The scenario's zone ("ta-baseline.lab.example." or without the dot): used to match DNS queries to scenarios. */
  domain?: string;
  /** MX hosts and preferences (the manifest's `mx`): used to check that MX preference order was kept. */
  mx?: readonly { host: string; preference: number }[];
}

export interface GradeEvidence {
  /** SMTP connections (sessions) counted for this scenario. */
  sessions: number;
  /** Messages accepted, by transport. */
  delivered: { tls: number; cleartext: number };
  /** Attempts the server refused on purpose: 421 greylisting greeting, 4xx on RCPT. */
  refused: number;
  /** The newest event counted for this scenario (SMTP or DNS). */
  lastEvent: { seq: number; time: string; kind: string; session: string | null } | null;
  /** Client addresses seen. */
  clients: string[];
  /** Ids of accepted messages (GET /api/messages/<id>/raw). */
  messages: string[];
  /** DNS queries for names in the scenario's zone (when the DNS server logs queries). */
  dnsQueries: number;
}

export interface ScenarioGrade {
  scenario: string;
  title?: string;
  group?: string;
  expect: string;
  verdict: Verdict;
  reason: string;
  evidence: GradeEvidence;
}

export interface GradeOptions {
  /** Only this run (`run-<id>` recipients); omitted = every event. */
  run?: string;
  /**
   * The clock for "never retried" (deliver-after-retry). Default: the time of the newest event in the log, so grading
   * an old events.jsonl is reproducible and a client is only blamed when the log shows the lab kept running past the
   * retry window. A live lab should pass `new Date()`.
   */
  now?: Date | number | string;
  /** How long after the last refusal a retry must have come. Default 60 min (see RETRY_WINDOW_MS). */
  retryWindowMs?: number;
  /** ± window for attributing recipient-less sessions and DNS queries to a run. Default 15 min. */
  attributionWindowMs?: number;
}

/**
 * Default retry window: Debian's Exim runs its queue every 30 min (QUEUEINTERVAL) with retry rule F,2h,15m, Postfix
 * retries deferred mail after 5–10 min (minimal_backoff_time 300s, queue_run_delay 300s). 60 min covers both with a
 * margin; a client silent for longer after being greylisted did not retry.
 */
export const RETRY_WINDOW_MS = 60 * 60_000;
export const ATTRIBUTION_WINDOW_MS = 15 * 60_000;

// ---------------------------------------------------------------------------------------------------------------
// Reading events defensively: the log may come from an older or newer danelab (events.jsonl), so every field is
// checked before use rather than trusted.

interface Ev {
  seq: number;
  t: number;
  time: string;
  kind: string;
  session: string | null;
  scenario: string | null;
  client: string | null;
  raw: Record<string, unknown>;
}

function toEv(o: object, index: number): Ev | null {
  const r = o as Record<string, unknown>;
  const kind = r["kind"];
  if (typeof kind !== "string") return null;
  const time = typeof r["time"] === "string" ? (r["time"] as string) : "";
  const t = Date.parse(time);
  return {
    seq: typeof r["seq"] === "number" ? (r["seq"] as number) : index,
    t: Number.isNaN(t) ? 0 : t,
    time,
    kind,
    session: typeof r["session"] === "string" ? (r["session"] as string) : null,
    scenario: typeof r["scenario"] === "string" ? (r["scenario"] as string) : null,
    client: typeof r["client"] === "string" ? (r["client"] as string) : null,
    raw: r,
  };
}

const str = (e: Ev, k: string): string | null => (typeof e.raw[k] === "string" ? (e.raw[k] as string) : null);
const num = (e: Ev, k: string): number | null => (typeof e.raw[k] === "number" ? (e.raw[k] as number) : null);
const bool = (e: Ev, k: string): boolean | null => (typeof e.raw[k] === "boolean" ? (e.raw[k] as boolean) : null);
const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

// ---------------------------------------------------------------------------------------------------------------
// Sessions: one SMTP connection, summarised into the facts the rules need.

interface TlsInfo {
  version: string | null;
  cipher: string | null;
  sni: string | null;
}

interface Session {
  id: string;
  scenario: string;
  client: string | null;
  listener: string | null;
  start: number;
  end: number;
  events: Ev[];
  /** Greeting code when the server refused at the greeting (421 greylisting). */
  greylistedGreeting: number | null;
  /** 4xx RCPT replies (RCPT greylisting); their time, for "refused before delivered". */
  rcptTempRefusals: Ev[];
  rcptPermRefusals: Ev[];
  /** null when the client never got to EHLO. */
  starttlsOffered: boolean | null;
  tls: TlsInfo | null;
  tlsErrors: Ev[];
  /** MAIL FROM sent (or a recipient/message seen). */
  mail: boolean;
  messages: Ev[];
  runs: Set<string>;
  hasRecipients: boolean;
  close: Ev | null;
}

function buildSessions(events: Ev[]): Map<string, Session> {
  const sessions = new Map<string, Session>();
  for (const e of events) {
    if (e.session === null || e.scenario === null || e.kind === "dns-query") continue;
    let s = sessions.get(e.session);
    if (!s) {
      s = {
        id: e.session,
        scenario: e.scenario,
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
      sessions.set(e.session, s);
    }
    s.events.push(e);
    s.end = Math.max(s.end, e.t);
    s.client ??= e.client;
    const code = num(e, "code");
    switch (e.kind) {
      case "greeting":
        // RFC 5321 §3.8: a 421 greeting refuses service for now; the client must try again later.
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
  return sessions;
}

const refused = (s: Session) => s.greylistedGreeting !== null || s.rcptTempRefusals.length > 0;
const refusalTimes = (s: Session): number[] => [
  ...(s.greylistedGreeting !== null ? [s.start] : []),
  ...s.rcptTempRefusals.map((e) => e.t),
];
const messageTls = (m: Ev) => bool(m, "tls") === true;

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
function clientRejection(s: Session): string | null {
  const handshake = s.tlsErrors.filter((e) => str(e, "stage") === "handshake");
  const last = handshake[handshake.length - 1];
  if (last && !s.tls) {
    const alert = str(last, "alert");
    if (alert) {
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
function noSni(tlsError: Ev): string {
  const hello = tlsError.raw["clientHello"];
  return hello && typeof hello === "object" && (hello as { sni?: unknown }).sni === null
    ? " (the client sent no SNI, RFC 7672 §8.1)"
    : "";
}

function tlsText(t: TlsInfo): string {
  const parts = [t.version ?? "TLS"];
  if (t.cipher) parts.push(t.cipher);
  parts.push(t.sni ? `SNI ${t.sni}` : "no SNI");
  return parts.join(", ");
}

const CLOSE_TEXT: Record<string, string> = {
  quit: "the client quit",
  "client-closed": "the client closed the connection",
  timeout: "the connection timed out",
  error: "the connection failed",
  "closed-after-handshake-without-command": "the client closed the connection after the TLS handshake",
  "server-closed": "the server closed the connection",
};

/** One line about one connection, e.g. "TLSv1.3, TLS_AES_256_GCM_SHA384, SNI mx.x: message accepted". */
export function describeSessionEvents(events: readonly object[]): string {
  const evs = events.map(toEv).filter((e): e is Ev => e !== null);
  const s = [...buildSessions(evs).values()][0];
  return s ? describeSession(s) : "no events";
}

function describeSession(s: Session): string {
  if (s.greylistedGreeting !== null) return `greeted with ${s.greylistedGreeting} (greylisted)`;
  const parts: string[] = [];
  const errors = s.tlsErrors.map((e) => str(e, "stage"));
  let handshakeFailed = false;
  if (s.tls) parts.push(tlsText(s.tls));
  else if (errors.includes("aborted-by-server")) parts.push("the server cut the TLS handshake (part of the scenario)");
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

// ---------------------------------------------------------------------------------------------------------------
// Run attribution (see the module comment).

interface Anchor {
  run: string;
  client: string | null;
  scenario: string;
  start: number;
  end: number;
}

/** Run-carrying sessions indexed by client address and start time, so attribution stays fast on big logs. */
class AnchorIndex {
  private readonly all: Anchor[];
  private readonly byClient = new Map<string | null, Anchor[]>();
  private readonly maxSpan: number;

  constructor(anchors: Anchor[]) {
    this.all = [...anchors].sort((a, b) => a.start - b.start);
    for (const a of this.all) {
      const list = this.byClient.get(a.client);
      if (list) list.push(a);
      else this.byClient.set(a.client, [a]);
    }
    this.maxSpan = this.all.reduce((m, a) => Math.max(m, a.end - a.start), 0);
  }

  hasClient(client: string | null): boolean {
    return this.byClient.has(client);
  }

  /** Every run with an anchor (of any client) within ±windowMs of t. */
  runsNear(t: number, windowMs: number): Set<string> {
    const runs = new Set<string>();
    let i = lowerBound(this.all, t - windowMs - this.maxSpan);
    const stop = lowerBound(this.all, t + windowMs + 1);
    for (; i < stop; i++) {
      const a = this.all[i]!;
      const d = t < a.start ? a.start - t : t > a.end ? t - a.end : 0;
      if (d <= windowMs) runs.add(a.run);
    }
    return runs;
  }

  /**
   * The run of the nearest anchor within ±windowMs: of the same client address (any client when `byTimeAlone` and
   * this address has no anchor at all), same scenario preferred.
   */
  attribute(
    item: { client: string | null; t: number; scenario: string | null },
    windowMs: number,
    byTimeAlone: boolean,
  ) {
    let pool = this.byClient.get(item.client);
    if (!pool) {
      if (!byTimeAlone) return null;
      pool = this.all;
    }
    // Candidates start no later than t + window and end no earlier than t - window (end <= start + maxSpan).
    let i = lowerBound(pool, item.t - windowMs - this.maxSpan);
    const stop = lowerBound(pool, item.t + windowMs + 1);
    let best: Anchor | null = null;
    let bestSame: Anchor | null = null;
    let bestD = Number.POSITIVE_INFINITY;
    let bestSameD = Number.POSITIVE_INFINITY;
    for (; i < stop; i++) {
      const a = pool[i]!;
      const d = item.t < a.start ? a.start - item.t : item.t > a.end ? item.t - a.end : 0;
      if (d > windowMs) continue;
      if (d < bestD) [best, bestD] = [a, d];
      if (a.scenario === item.scenario && d < bestSameD) [bestSame, bestSameD] = [a, d];
    }
    return (bestSame ?? best)?.run ?? null;
  }
}

/**
 * For a DNS query from an address that has no run-carrying session (a shared resolver, or MTAs in containers whose
 * lookups all leave from 127.0.0.1): does `run` have any session within ±windowMs? Several runs at once (a client
 * matrix) each get the query — the lab cannot tell which of them asked, and each of them had to.
 */
function sharedLookupBelongs(
  index: AnchorIndex,
  item: { client: string | null; t: number },
  run: string,
  windowMs: number,
) {
  return index.hasClient(item.client) ? null : index.runsNear(item.t, windowMs).has(run);
}

/** First index whose anchor starts at or after t. */
function lowerBound(list: Anchor[], t: number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (list[mid]!.start < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

// ---------------------------------------------------------------------------------------------------------------
// The rules.

interface Facts {
  scenario: GradableScenario;
  sessions: Session[];
  dns: Ev[];
  /** Does the DNS server log queries at all (any dns-query event in the whole log)? */
  dnsLogged: boolean;
  clock: number;
  retryWindowMs: number;
}

function deliveredTls(f: Facts): Ev[] {
  return f.sessions.flatMap((s) => s.messages.filter(messageTls));
}
function deliveredClear(f: Facts): Ev[] {
  return f.sessions.flatMap((s) => s.messages.filter((m) => !messageTls(m)));
}
function sessionOf(f: Facts, m: Ev): Session | undefined {
  return f.sessions.find((s) => s.id === m.session);
}
function lastRejection(f: Facts): string | null {
  for (let i = f.sessions.length - 1; i >= 0; i--) {
    const r = clientRejection(f.sessions[i]!);
    if (r) return r;
  }
  return null;
}
function lastSessionText(f: Facts): string {
  const last = f.sessions[f.sessions.length - 1];
  return last ? describeSession(last) : "";
}
function tlsDeliveryText(f: Facts, m: Ev): string {
  const s = sessionOf(f, m);
  const host = s?.listener ? ` at ${s.listener.split(" ")[0]}` : "";
  return `delivered over TLS${host} (${s?.tls ? tlsText(s.tls) : (str(m, "tlsVersion") ?? "TLS")})`;
}
const hostOf = (s: Session | undefined) => (s?.listener ?? "").split(" ")[0]!.toLowerCase().replace(/\.$/, "");

/**
 * MX preference order (RFC 5321 §5.1; RFC 7672 §2.2.1: DANE does not reorder MX hosts — security status is no reason
 * to skip a more preferred host). A delivery at a less preferred host passes when the client first tried a most
 * preferred one and that host failed it; it fails when the client never tried one, or turned one down itself.
 */
function mxOrderProblem(f: Facts, delivered: Ev): string | null {
  const mx = f.scenario.mx ?? [];
  if (mx.length < 2) return null;
  const best = Math.min(...mx.map((m) => m.preference));
  const name = (h: string) => h.toLowerCase().replace(/\.$/, "");
  const bestHosts = new Set(mx.filter((m) => m.preference === best).map((m) => name(m.host)));
  const at = hostOf(sessionOf(f, delivered));
  if (at === "" || bestHosts.has(at)) return null;
  const tried = f.sessions.filter((s) => bestHosts.has(hostOf(s)) && s.start <= delivered.t);
  const preferred = [...bestHosts].join(" / ");
  if (tried.length === 0) {
    return (
      `delivered at ${at} without trying the more preferred MX ${preferred} (preference ${best}) first; ` +
      "MX preference decides the order, not DANE (RFC 5321 §5.1, RFC 7672 §2.2.1)"
    );
  }
  const rejected = tried.map(clientRejection).find((r) => r !== null);
  if (rejected) {
    return (
      `turned down the more preferred MX ${preferred} (${rejected}) and delivered at ${at}; the preferred host ` +
      "was usable (RFC 7672 §2.2.1)"
    );
  }
  return null;
}

function dnsText(f: Facts): string {
  const names = [...new Set(f.dns.map((e) => `${str(e, "name") ?? "?"} ${str(e, "type") ?? "?"}`))];
  const shown = names.slice(0, 4).join(", ");
  return names.length > 4 ? `${shown} and ${names.length - 4} more` : shown;
}
function notYet(f: Facts): { verdict: Verdict; reason: string } {
  if (f.sessions.length > 0) {
    return {
      verdict: "pending",
      reason: `no delivery yet after ${plural(f.sessions.length, "connection")}; last: ${lastSessionText(f)}`,
    };
  }
  if (f.dns.length > 0) {
    return {
      verdict: "pending",
      reason: `the client looked up ${dnsText(f)} but has not connected to the server yet`,
    };
  }
  return { verdict: "not-tested", reason: "no connection and no DNS query for this scenario" };
}

const CLEARTEXT_USABLE =
  "RFC 7672 §2.2: with a usable TLSA record STARTTLS is mandatory and the server must be authenticated — " +
  "cleartext is exactly the downgrade DANE exists to stop";

/** deliver: the TLSA records are usable and match; the message must arrive over TLS (RFC 7672 §2.2, §3). */
function gradeDeliver(f: Facts): { verdict: Verdict; reason: string } {
  const clear = deliveredClear(f);
  if (clear.length > 0) {
    return {
      verdict: "fail",
      reason: `delivered in cleartext (${plural(clear.length, "message")}); ${CLEARTEXT_USABLE}`,
    };
  }
  const tls = deliveredTls(f);
  if (tls.length > 0) {
    const order = mxOrderProblem(f, tls[0]!);
    if (order) return { verdict: "fail", reason: order };
    const failed = f.sessions.filter((s) => clientRejection(s) && s.start < tls[0]!.t).length;
    return {
      verdict: "pass",
      reason: tlsDeliveryText(f, tls[0]!) + (failed > 0 ? ` after ${plural(failed, "failed attempt")}` : ""),
    };
  }
  const rejection = lastRejection(f);
  if (rejection) {
    return {
      verdict: "fail",
      reason: `${rejection}; this server's certificate matches its TLSA records, so an RFC 7672 client must accept it`,
    };
  }
  return notYet(f);
}

/**
 * deliver-after-retry: the server refuses the first attempt(s) (421 greeting, 451 RCPT) — a temporary failure the
 * client must retry (RFC 5321 §4.5.4.1) — and the message must then arrive over TLS, never in cleartext (the first
 * connections offer no STARTTLS: a client that "falls back" to cleartext there is downgraded, RFC 7672 §2.2).
 */
function gradeDeliverAfterRetry(f: Facts): { verdict: Verdict; reason: string } {
  const clear = deliveredClear(f);
  if (clear.length > 0) {
    return {
      verdict: "fail",
      reason: `delivered in cleartext (${plural(clear.length, "message")}); ${CLEARTEXT_USABLE}`,
    };
  }
  const refusals = f.sessions.flatMap(refusalTimes).sort((a, b) => a - b);
  const tls = deliveredTls(f);
  if (tls.length > 0) {
    const before = refusals.filter((t) => t <= tls[0]!.t).length;
    return {
      verdict: "pass",
      reason:
        before > 0
          ? `${tlsDeliveryText(f, tls[0]!)} after the server refused ${plural(before, "attempt")}`
          : `${tlsDeliveryText(f, tls[0]!)}; the server refused no attempt (client allow-listed or greylisting ` +
            "already passed), so the retry itself was not exercised",
    };
  }
  const rejection = lastRejection(f);
  if (rejection) {
    return {
      verdict: "fail",
      reason: `${rejection}; this server's certificate matches its TLSA records, so an RFC 7672 client must accept it`,
    };
  }
  const lastRefusal = refusals[refusals.length - 1];
  if (lastRefusal !== undefined && f.sessions.every(refused)) {
    const silentMs = f.clock - lastRefusal;
    const minutes = Math.floor(silentMs / 60_000);
    if (silentMs > f.retryWindowMs) {
      return {
        verdict: "fail",
        reason:
          `never retried after greylisting: the server refused ${plural(refusals.length, "attempt")} with a temporary ` +
          `error and the client did not come back within ${Math.round(f.retryWindowMs / 60_000)} min ` +
          `(${minutes} min since the last refusal); RFC 5321 §4.5.4.1 requires retrying a 4xx`,
      };
    }
    return {
      verdict: "pending",
      reason:
        `the server refused ${plural(refusals.length, "attempt")} (last: ${lastSessionText(f)}, ${minutes} min ago); ` +
        `waiting for the client's retry (up to ${Math.round(f.retryWindowMs / 60_000)} min)`,
    };
  }
  return notYet(f);
}

/**
 * no-delivery: something a DANE client must not accept — a name or chain that fails RFC 7672 §3.2 checks, a TLSA
 * RRset that does not match (§3.1), bogus or unanswerable TLSA/MX data (§2.1.1: delivery must be delayed), no
 * STARTTLS despite usable TLSA (§2.2), a handshake cut short. Any accepted message fails; cleartext is the worst.
 */
function gradeNoDelivery(f: Facts): { verdict: Verdict; reason: string } {
  const clear = deliveredClear(f);
  if (clear.length > 0) {
    return {
      verdict: "fail",
      reason:
        `delivered in cleartext (${plural(clear.length, "message")}) — the worst outcome: this host must get mail only ` +
        "over authenticated TLS, or none at all (RFC 7672 §2.1.1, §2.2)" +
        (f.scenario.title ? `; the trap: ${f.scenario.title}` : ""),
    };
  }
  const tls = deliveredTls(f);
  if (tls.length > 0) {
    return {
      verdict: "fail",
      reason:
        `${tlsDeliveryText(f, tls[0]!)} although a DANE client must not accept this server` +
        (f.scenario.title ? ` — ${f.scenario.title}` : " (its certificate or DNS data fails RFC 7672 checks)"),
    };
  }
  const closed = f.sessions.filter((s) => s.close !== null);
  if (closed.length > 0) {
    return {
      verdict: "pass",
      reason: `connected ${plural(f.sessions.length, "time")}, never delivered; last: ${lastSessionText(f)}`,
    };
  }
  if (f.sessions.length > 0) {
    return { verdict: "pending", reason: `a connection is in progress: ${lastSessionText(f)}` };
  }
  if (f.dns.length > 0) {
    return { verdict: "pass", reason: `did not connect (looked up ${dnsText(f)})` };
  }
  if (f.dnsLogged) {
    return {
      verdict: "not-tested",
      reason: "no DNS query and no connection for this scenario: the client never tried it",
    };
  }
  return {
    verdict: "pending",
    reason:
      "no connection seen: the lab cannot tell a client that correctly refused to connect (e.g. after a bogus DNS " +
      "answer) from one that never tried — check the client's log for a deferral",
  };
}

/**
 * tls-required: the TLSA RRset is secure but no record is usable (RFC 7672 §3.1: unknown usages, PKIX-TA/EE, bad
 * digest lengths): the client must not authenticate with them, yet TLS stays mandatory — §2.2: a secure TLSA RRset
 * rules out cleartext.
 */
function gradeTlsRequired(f: Facts): { verdict: Verdict; reason: string } {
  const clear = deliveredClear(f);
  if (clear.length > 0) {
    return {
      verdict: "fail",
      reason:
        `delivered in cleartext (${plural(clear.length, "message")}); RFC 7672 §2.2: a secure TLSA RRset makes TLS ` +
        "mandatory even when none of its records is usable",
    };
  }
  const tls = deliveredTls(f);
  if (tls.length > 0)
    return { verdict: "pass", reason: `${tlsDeliveryText(f, tls[0]!)} (unauthenticated TLS is right here)` };
  const rejection = lastRejection(f);
  if (rejection) {
    return {
      verdict: "fail",
      reason:
        `${rejection}; with only unusable TLSA records the client must use TLS without authenticating the server ` +
        "(RFC 7672 §3.1) and deliver",
    };
  }
  return notYet(f);
}

/** opportunistic: DANE does not apply (insecure zone, TLSA securely denied — RFC 7672 §2.2); any delivery passes. */
function gradeOpportunistic(f: Facts): { verdict: Verdict; reason: string } {
  const tls = deliveredTls(f);
  const clear = deliveredClear(f);
  const first = [...tls, ...clear].sort((a, b) => a.seq - b.seq)[0];
  const order = first ? mxOrderProblem(f, first) : null;
  if (order) return { verdict: "fail", reason: order };
  if (tls.length > 0) {
    return {
      verdict: "pass",
      reason: tlsDeliveryText(f, tls[0]!) + (clear.length > 0 ? `; also ${clear.length} in cleartext (allowed)` : ""),
    };
  }
  if (clear.length > 0) {
    return { verdict: "pass", reason: "delivered in cleartext (allowed: DANE does not apply to this host)" };
  }
  const rejection = lastRejection(f);
  if (rejection) {
    return {
      verdict: "fail",
      reason:
        `${rejection}; DANE does not apply to this host (RFC 7672 §2.2), so the client must not require an ` +
        "authenticated certificate — it should deliver",
    };
  }
  return notYet(f);
}

/** implementation-defined: no pass/fail, say what happened. */
function gradeObserved(f: Facts): { verdict: Verdict; reason: string } {
  const tls = deliveredTls(f);
  const clear = deliveredClear(f);
  if (tls.length > 0) return { verdict: "observed", reason: tlsDeliveryText(f, tls[0]!) };
  if (clear.length > 0)
    return { verdict: "observed", reason: `delivered in cleartext (${plural(clear.length, "message")})` };
  const rejection = lastRejection(f);
  if (rejection) return { verdict: "observed", reason: `did not deliver: ${rejection}` };
  if (f.sessions.length > 0) {
    return {
      verdict: "observed",
      reason: `connected ${plural(f.sessions.length, "time")}, no delivery; last: ${lastSessionText(f)}`,
    };
  }
  if (f.dns.length > 0) return { verdict: "observed", reason: `looked up ${dnsText(f)}, never connected` };
  return { verdict: "not-tested", reason: "no connection and no DNS query for this scenario" };
}

const RULES: Record<string, (f: Facts) => { verdict: Verdict; reason: string }> = {
  deliver: gradeDeliver,
  "deliver-after-retry": gradeDeliverAfterRetry,
  "no-delivery": gradeNoDelivery,
  "tls-required": gradeTlsRequired,
  opportunistic: gradeOpportunistic,
  "implementation-defined": gradeObserved,
};

// ---------------------------------------------------------------------------------------------------------------

/** One verdict per scenario, in the order of `scenarios`. */
export function gradeRun(
  events: readonly (LabEvent | object)[],
  scenarios: readonly GradableScenario[],
  options: GradeOptions = {},
): ScenarioGrade[] {
  const all = events
    .map((e, i) => (e && typeof e === "object" ? toEv(e, i) : null))
    .filter((e): e is Ev => e !== null)
    .sort((a, b) => a.seq - b.seq);
  const window = options.attributionWindowMs ?? ATTRIBUTION_WINDOW_MS;
  const newest = all.reduce((m, e) => Math.max(m, e.t), 0);
  const clock = options.now !== undefined ? new Date(options.now).getTime() : newest;

  let sessions = [...buildSessions(all).values()];
  let dns = all.filter((e) => e.kind === "dns-query");
  const dnsLogged = dns.length > 0;

  if (options.run !== undefined) {
    const run = options.run;
    const index = new AnchorIndex(
      sessions.flatMap((s) =>
        [...s.runs].map((r) => ({ run: r, client: s.client, scenario: s.scenario, start: s.start, end: s.end })),
      ),
    );
    sessions = sessions.filter((s) => {
      if (s.runs.size > 0) return s.runs.has(run);
      // A session with recipients that carry no run (probe@…) is someone else's traffic.
      if (s.hasRecipients) return false;
      return index.attribute({ client: s.client, t: s.start, scenario: s.scenario }, window, false) === run;
    });
    dns = dns.filter(
      (e) =>
        sharedLookupBelongs(index, e, run, window) ??
        index.attribute({ client: e.client, t: e.t, scenario: e.scenario }, window, false) === run,
    );
  }

  const sessionsOf = new Map<string, Session[]>();
  for (const s of sessions) {
    const list = sessionsOf.get(s.scenario);
    if (list) list.push(s);
    else sessionsOf.set(s.scenario, [s]);
  }
  // A DNS query belongs to the scenario whose zone holds its name (closest enclosing zone wins).
  const byDomain = new Map<string, string>();
  for (const sc of scenarios) {
    const domain = (sc.domain ?? "").toLowerCase().replace(/\.$/, "");
    if (domain !== "") byDomain.set(domain, sc.id);
  }
  const dnsOf = new Map<string, Ev[]>();
  for (const e of dns) {
    let id = e.scenario;
    if (id === null) {
      const labels = (str(e, "name") ?? "").toLowerCase().replace(/\.$/, "").split(".");
      for (let i = 0; i < labels.length && id === null; i++) id = byDomain.get(labels.slice(i).join(".")) ?? null;
    }
    if (id === null) continue;
    const list = dnsOf.get(id);
    if (list) list.push(e);
    else dnsOf.set(id, [e]);
  }

  return scenarios.map((scenario) => {
    const mine = (sessionsOf.get(scenario.id) ?? []).sort(
      (a, b) => a.start - b.start || a.events[0]!.seq - b.events[0]!.seq,
    );
    const myDns = dnsOf.get(scenario.id) ?? [];
    const facts: Facts = {
      scenario,
      sessions: mine,
      dns: myDns,
      dnsLogged,
      clock,
      retryWindowMs: options.retryWindowMs ?? RETRY_WINDOW_MS,
    };
    const rule = RULES[scenario.expect];
    const { verdict, reason } = rule
      ? rule(facts)
      : {
          verdict: "not-tested" as const,
          reason: `unknown expectation "${scenario.expect}" (this danelab knows ${Object.keys(RULES).join(", ")})`,
        };
    const ends = [...mine.map((s) => s.events[s.events.length - 1]!), ...myDns.slice(-1)];
    const last = ends.reduce<Ev | null>((m, e) => (m === null || e.seq > m.seq ? e : m), null);
    const messages = mine.flatMap((s) => s.messages);
    return {
      scenario: scenario.id,
      ...(scenario.title !== undefined ? { title: scenario.title } : {}),
      ...(scenario.group !== undefined ? { group: scenario.group } : {}),
      expect: scenario.expect,
      verdict,
      reason,
      evidence: {
        sessions: mine.length,
        delivered: {
          tls: messages.filter(messageTls).length,
          cleartext: messages.filter((m) => !messageTls(m)).length,
        },
        refused: mine.reduce((n, s) => n + (s.greylistedGreeting !== null ? 1 : 0) + s.rcptTempRefusals.length, 0),
        lastEvent: last ? { seq: last.seq, time: last.time, kind: last.kind, session: last.session } : null,
        clients: [...new Set(mine.map((s) => s.client).filter((c): c is string => c !== null))].sort(),
        messages: messages.map((m) => str(m, "id")).filter((id): id is string => id !== null),
        dnsQueries: myDns.length,
      },
    };
  });
}
