// Stage 3 of the grader: run attribution. A run is the set of sessions whose recipients were `run-<id>@…` (the `run`
// field of rcpt and message events); a session belongs to a run when any of its rcpt/message events carries it.
// Sessions without any recipient (greylisted at the greeting, TLS failed, no STARTTLS so the client quit) and DNS
// queries carry no run: they are attributed to the run of the *nearest* (in time) run-carrying session of the same
// client address, when that one lies within ±`attributionWindowMs` (15 min) — a session of the same scenario is
// preferred over one of another scenario. DNS queries from an address that has no run-carrying session at all (a
// validating resolver in front of the MTA, e.g. `--resolver unbound`, or MTAs in containers whose lookups all leave
// from 127.0.0.1) count for every run with a session within that window: several runs at once cannot be told apart,
// and each had to ask.
//
// Limitation: two runs from the same client address at the same time cannot be told apart for recipient-less
// sessions; give each MTA its own source address (Exim `interface`, Postfix `smtp_bind_address`) to make attribution
// exact.
import type { LoggedEvent } from "./events.js";
import type { Session } from "./sessions.js";

/** Default ± window for attributing recipient-less sessions and DNS queries to a run. */
export const ATTRIBUTION_WINDOW_MS = 15 * 60_000;

/** The sessions and DNS queries of one run, out of a whole log's. */
export function attributeToRun(
  sessions: readonly Session[],
  dns: readonly LoggedEvent[],
  run: string,
  windowMs: number,
): { sessions: Session[]; dns: LoggedEvent[] } {
  const index = new AnchorIndex(
    sessions.flatMap((s) =>
      [...s.runs].map((r) => ({ run: r, client: s.client, scenario: s.scenario, start: s.start, end: s.end })),
    ),
  );
  return {
    sessions: sessions.filter((s) => {
      if (s.runs.size > 0) return s.runs.has(run);
      // A session with recipients that carry no run (probe@…) is someone else's traffic.
      if (s.hasRecipients) return false;
      return index.attribute({ client: s.client, t: s.start, scenario: s.scenario }, windowMs, false) === run;
    }),
    dns: dns.filter(
      (e) =>
        sharedLookupBelongs(index, e, run, windowMs) ??
        index.attribute({ client: e.client, t: e.t, scenario: e.scenario }, windowMs, false) === run,
    ),
  };
}

/** A run-carrying session: the evidence that `client` was running `run` between `start` and `end`. */
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
