// Stage 4 of the grader: the rules. One rule per scenario `expect` (lab/catalogue/schema.ts EXPECTS) turns the facts
// of one scenario — its sessions (./sessions.ts) and DNS queries, already narrowed to one run (./runs.ts) — into a
// verdict and a reason a mail admin acts on. Each rule cites the RFC sentence it enforces.
//
// Verdicts:
//   pass        the client did what the scenario's `expect` requires
//   fail        it did not; `reason` says what it did wrong, in words a mail admin acts on
//   pending     not decided yet (no delivery so far, a retry still expected, or the lab cannot tell)
//   not-tested  the client never tried this scenario (no connection, no DNS query)
//   observed    `implementation-defined` scenarios: the RFCs leave it open, the reason says what the client did
//
// Adding an expectation: add it to EXPECTS in lab/catalogue/schema.ts, write its `grade…(f: Facts)` function here
// and list it in RULES. RULES is typed `Record<Expect, Rule>`, so the build fails until the new expectation has its
// rule (rules.test.ts checks the same). Facts a rule needs about one connection belong in ./sessions.ts, facts about
// the scenario in GradableScenario.

import { DANE_OUTCOMES, type DaneOutcome } from "../../dane/outcome.js";
import { normalizeName } from "../../zones/names.js";
import type { Expect } from "../catalogue/schema.js";
import { type LoggedEvent, plural, str } from "./events.js";
import {
  clientRejection,
  describeSession,
  messageTls,
  refusalTimes,
  refused,
  type Session,
  tlsText,
} from "./sessions.js";

export type Verdict = "pass" | "fail" | "pending" | "not-tested" | "observed";
export const VERDICTS: readonly Verdict[] = ["pass", "fail", "pending", "not-tested", "observed"];

/** What the grader needs of a scenario; the manifest's scenarios (lab/manifest.ts) fit. */
export interface GradableScenario {
  id: string;
  /** One of EXPECTS (lab/catalogue/schema.ts); typed string, since a manifest may come from another danelab. */
  expect: string;
  title?: string;
  group?: string;
  /** The scenario's zone ("ta-baseline.lab.example." or without the dot): used to match DNS queries to scenarios. */
  domain?: string;
  /** MX hosts and preferences (the manifest's `mx`): used to check that MX preference order was kept. */
  mx?: readonly { host: string; preference: number }[];
}

/**
 * Default retry window: Debian's Exim runs its queue every 30 min (QUEUEINTERVAL) with retry rule F,2h,15m, Postfix
 * retries deferred mail after 5–10 min (minimal_backoff_time 300s, queue_run_delay 300s). 60 min covers both with a
 * margin; a client silent for longer after being greylisted did not retry.
 */
export const RETRY_WINDOW_MS = 60 * 60_000;

/** What a rule sees of one scenario. */
/**
 * What dane/ says the DNS answer obliged the client to do, in the words of its named outcomes (dane/outcome.ts), so
 * that the grade, the scenario page and `explain` state a rule the same way.
 */
function outcomeText(...outcomes: DaneOutcome[]): string {
  const rfc = [...new Set(outcomes.map((o) => DANE_OUTCOMES[o].rfc))].join("; ");
  return `${outcomes.map((o) => DANE_OUTCOMES[o].means).join("; or ")} (${rfc})`;
}

export interface Facts {
  scenario: GradableScenario;
  /** Its sessions, oldest first. */
  sessions: Session[];
  /** DNS queries for names in its zone. */
  dns: LoggedEvent[];
  /** Does the DNS server log queries at all (any dns-query event in the whole log)? */
  dnsLogged: boolean;
  /** "Now", for "never retried" (GradeOptions.now). */
  clock: number;
  retryWindowMs: number;
}

/** A verdict and the reason for it. */
export interface Outcome {
  verdict: Verdict;
  reason: string;
}

export type Rule = (f: Facts) => Outcome;

function deliveredTls(f: Facts): LoggedEvent[] {
  return f.sessions.flatMap((s) => s.messages.filter(messageTls));
}
function deliveredClear(f: Facts): LoggedEvent[] {
  return f.sessions.flatMap((s) => s.messages.filter((m) => !messageTls(m)));
}
function sessionOf(f: Facts, m: LoggedEvent): Session | undefined {
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
function tlsDeliveryText(f: Facts, m: LoggedEvent): string {
  const s = sessionOf(f, m);
  const host = s?.listener ? ` at ${s.listener.split(" ")[0]}` : "";
  return `delivered over TLS${host} (${s?.tls ? tlsText(s.tls) : (str(m, "tlsVersion") ?? "TLS")})`;
}
const hostOf = (s: Session | undefined) => normalizeName((s?.listener ?? "").split(" ")[0]!);

/**
 * MX preference order (RFC 5321 §5.1; RFC 7672 §2.2.1: DANE does not reorder MX hosts — security status is no reason
 * to skip a more preferred host). A delivery at a less preferred host passes when the client first tried a most
 * preferred one and that host failed it; it fails when the client never tried one, or turned one down itself.
 */
function mxOrderProblem(f: Facts, delivered: LoggedEvent): string | null {
  const mx = f.scenario.mx ?? [];
  if (mx.length < 2) return null;
  const best = Math.min(...mx.map((m) => m.preference));
  const bestHosts = new Set(mx.filter((m) => m.preference === best).map((m) => normalizeName(m.host)));
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
function notYet(f: Facts): Outcome {
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

/** Fails a cleartext delivery where a usable TLSA record made TLS mandatory (RFC 7672 §2.2). */
function deliveredDespiteUsableTlsa(f: Facts): Outcome | null {
  const clear = deliveredClear(f);
  if (clear.length === 0) return null;
  return {
    verdict: "fail",
    reason: `delivered in cleartext (${plural(clear.length, "message")}); ${CLEARTEXT_USABLE}`,
  };
}

/** Fails a client that turned down a certificate matching the server's TLSA records (RFC 7672 §3). */
function rejectedMatchingCertificate(f: Facts): Outcome | null {
  const rejection = lastRejection(f);
  if (!rejection) return null;
  return {
    verdict: "fail",
    reason: `${rejection}; this server's certificate matches its TLSA records, so an RFC 7672 client must accept it`,
  };
}

/** deliver: the TLSA records are usable and match; the message must arrive over TLS (RFC 7672 §2.2, §3). */
function gradeDeliver(f: Facts): Outcome {
  const downgraded = deliveredDespiteUsableTlsa(f);
  if (downgraded) return downgraded;
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
  const rejected = rejectedMatchingCertificate(f);
  if (rejected) return rejected;
  return notYet(f);
}

/**
 * deliver-after-retry: the server refuses the first attempt(s) (421 greeting, 451 RCPT) — a temporary failure the
 * client must retry (RFC 5321 §4.5.4.1) — and the message must then arrive over TLS, never in cleartext (the first
 * connections offer no STARTTLS: a client that "falls back" to cleartext there is downgraded, RFC 7672 §2.2).
 */
function gradeDeliverAfterRetry(f: Facts): Outcome {
  const downgraded = deliveredDespiteUsableTlsa(f);
  if (downgraded) return downgraded;
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
  const rejected = rejectedMatchingCertificate(f);
  if (rejected) return rejected;
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
function gradeNoDelivery(f: Facts): Outcome {
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
function gradeTlsRequired(f: Facts): Outcome {
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
        `${rejection}; ${outcomeText("no-usable-records")}: the client must use TLS without authenticating the ` +
        "server, and deliver",
    };
  }
  return notYet(f);
}

/** opportunistic: DANE does not apply (insecure zone, TLSA securely denied — RFC 7672 §2.2); any delivery passes. */
function gradeOpportunistic(f: Facts): Outcome {
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
        `${rejection}; ${outcomeText("no-records", "insecure")}: the client must not require an authenticated ` +
        "certificate, and should deliver",
    };
  }
  return notYet(f);
}

/** implementation-defined: no pass/fail, say what happened. */
function gradeObserved(f: Facts): Outcome {
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

/** The rule for each expectation. `Record<Expect, Rule>`: an expectation without a rule does not compile. */
export const RULES: Record<Expect, Rule> = {
  deliver: gradeDeliver,
  "deliver-after-retry": gradeDeliverAfterRetry,
  "no-delivery": gradeNoDelivery,
  "tls-required": gradeTlsRequired,
  opportunistic: gradeOpportunistic,
  "implementation-defined": gradeObserved,
};

/** The rule for a scenario's `expect`, or null when this danelab does not know it (a manifest from a newer one). */
export function ruleFor(expect: string): Rule | null {
  return Object.hasOwn(RULES, expect) ? RULES[expect as Expect] : null;
}
