// The grader: turns what clients did at the lab's SMTP listeners (the event log, lab/events.ts) into one verdict per
// scenario — did the client MTA do what RFC 7672 requires? Grading is server-side only: the lab sees connections,
// greetings, EHLO, STARTTLS, the TLS handshake (or the client's alert), recipients and accepted messages, so any MTA
// anywhere can be graded without access to its logs. Pure: no clock, no files, no sockets.
//
// The stages, one file each, in the order the data flows:
//   events.ts    read the log defensively (it may come from another danelab version)
//   sessions.ts  one SMTP connection summed up into facts (greylisted? TLS? rejected by the client? delivered?)
//   runs.ts      which sessions and DNS queries belong to one run (`run-<id>` recipients, nearest in time)
//   rules.ts     one rule per scenario `expect`, giving the verdict and the reason (verdicts explained there)
// This file wires them together (`gradeRun`) and is the grader's public surface. Without `run`, every event counts.

import { normalizeName } from "../../zones/names.js";
import type { LabEvent } from "../events.js";
import { type LoggedEvent, readEvents, str } from "./events.js";
import { type Facts, type GradableScenario, RETRY_WINDOW_MS, RULES, ruleFor, type Verdict } from "./rules.js";
import { ATTRIBUTION_WINDOW_MS, attributeToRun } from "./runs.js";
import { buildSessions, messageTls, type Session } from "./sessions.js";

export { type GradableScenario, RETRY_WINDOW_MS, VERDICTS, type Verdict } from "./rules.js";
export { ATTRIBUTION_WINDOW_MS } from "./runs.js";

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

/** One verdict per scenario, in the order of `scenarios`. */
export function gradeRun(
  events: readonly (LabEvent | object)[],
  scenarios: readonly GradableScenario[],
  options: GradeOptions = {},
): ScenarioGrade[] {
  const all = readEvents(events);
  const window = options.attributionWindowMs ?? ATTRIBUTION_WINDOW_MS;
  const newest = all.reduce((m, e) => Math.max(m, e.t), 0);
  const clock = options.now !== undefined ? new Date(options.now).getTime() : newest;

  let sessions = [...buildSessions(all).values()];
  let dns = all.filter((e) => e.kind === "dns-query");
  const dnsLogged = dns.length > 0;
  if (options.run !== undefined) ({ sessions, dns } = attributeToRun(sessions, dns, options.run, window));

  const sessionsOf = new Map<string, Session[]>();
  for (const s of sessions) {
    const list = sessionsOf.get(s.scenario);
    if (list) list.push(s);
    else sessionsOf.set(s.scenario, [s]);
  }
  // A DNS query belongs to the scenario whose zone holds its name (closest enclosing zone wins).
  const byDomain = new Map<string, string>();
  for (const sc of scenarios) {
    const domain = normalizeName(sc.domain ?? "");
    if (domain !== "") byDomain.set(domain, sc.id);
  }
  const dnsOf = new Map<string, LoggedEvent[]>();
  for (const e of dns) {
    let id = e.scenario;
    if (id === null) {
      const labels = normalizeName(str(e, "name") ?? "").split(".");
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
    const rule = ruleFor(scenario.expect);
    const { verdict, reason } = rule
      ? rule(facts)
      : {
          verdict: "not-tested" as const,
          reason: `unknown expectation "${scenario.expect}" (this danelab knows ${Object.keys(RULES).join(", ")})`,
        };
    const ends = [...mine.map((s) => s.events[s.events.length - 1]!), ...myDns.slice(-1)];
    const last = ends.reduce<LoggedEvent | null>((m, e) => (m === null || e.seq > m.seq ? e : m), null);
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
