// What `danelab watch` concludes from the lab's grades as they change (pure: grades and clock in, state out): when a
// scenario's verdict is final, which messages are probably waiting in the user's MTA's queue, the progress line, and
// the exit code.
//
// The lab's grader (lab/grade/) re-grades a run from its events at every request; a verdict can still change while
// the MTA works. When watch treats a verdict as final:
// - a delivery decided it (the lab accepted the message: `evidence.delivered` > 0) and it is pass, fail or observed —
//   final at once: the grader judges the first delivery, and one message was sent per scenario;
// - pass, fail or observed without a delivery (the MTA turned the server down, or — for `no-delivery` — did not
//   connect at all) — final once the grade and the scenario's newest event have held still for the settle time
//   (default 10 s), so the MTA's next try within the same queue run (another MX host, a fallback to cleartext) is
//   seen first. If every connection so far was refused by the lab itself (greylisting), the MTA has not yet met the
//   scenario's real server: not final, whatever the verdict says;
// - pending and not tested — never final. A `no-delivery` pass stays open to one more change, in principle: an MTA that
//   keeps the message queued and delivers it hours later turns it into a fail. watch does not wait for the MTA to
//   give up (days); `danelab report --run <id>` later re-grades everything.
//
// "Probably in the MTA's queue": a watched scenario that is not final, whose message the lab expects to arrive
// eventually (any `expect` but no-delivery), with no delivery yet, where the lab saw only attempts it refused
// (greylisting) or nothing at all, and nothing new for the settle time. A queue run (`exim -qff`, `postqueue -f`)
// makes the MTA try again now instead of at its next scheduled retry (Debian's Exim: every 30 min).

/** The parts of a grade (GET /api/report?run=&format=json) that watch reads. */
export interface WatchGrade {
  scenario: string;
  expect: string;
  verdict: string;
  reason: string;
  evidence?: {
    sessions?: number;
    refused?: number;
    delivered?: { tls?: number; cleartext?: number };
    lastEvent?: { seq?: number } | null;
    dnsQueries?: number;
  };
}

export const DEFAULT_SETTLE_MS = 10_000;

/** The MTAs whose queue-flush command watch knows. */
export const FLUSH_COMMANDS: Record<string, string> = {
  exim: "exim -qff",
  postfix: "postqueue -f",
};

interface Seen {
  /** verdict + newest event: when this changes, the settle clock starts again. */
  key: string;
  since: number;
  verdict: string;
}

export type Standing = "final" | "queued" | "open";

export interface ScenarioState {
  grade: WatchGrade;
  standing: Standing;
  /** Why it is queued, for the hint ("refused 2 attempts", "nothing seen yet"). */
  queueNote?: string;
}

export interface Counts {
  total: number;
  final: number;
  pass: number;
  fail: number;
  pending: number;
  "not-tested": number;
  observed: number;
}

export interface WatchSnapshot {
  states: ScenarioState[];
  counts: Counts;
  /** Every watched scenario is final. */
  done: boolean;
  /** Verdict changes since the previous snapshot: [scenario, old verdict | null, grade]. */
  changes: { scenario: string; from: string | null; grade: WatchGrade }[];
  queued: ScenarioState[];
}

const delivered = (g: WatchGrade) => (g.evidence?.delivered?.tls ?? 0) + (g.evidence?.delivered?.cleartext ?? 0);
const sessions = (g: WatchGrade) => g.evidence?.sessions ?? 0;
const refused = (g: WatchGrade) => g.evidence?.refused ?? 0;
const DECIDED = new Set(["pass", "fail", "observed"]);

/** Follows the grades of one run over time. */
export class WatchTracker {
  private readonly seen = new Map<string, Seen>();

  constructor(private readonly settleMs = DEFAULT_SETTLE_MS) {}

  /** Feeds the newest grades of the watched scenarios (in display order) at time `now` (ms). */
  update(grades: readonly WatchGrade[], now: number): WatchSnapshot {
    const changes: WatchSnapshot["changes"] = [];
    const states = grades.map((grade): ScenarioState => {
      const key = `${grade.verdict}@${grade.evidence?.lastEvent?.seq ?? "-"}`;
      const before = this.seen.get(grade.scenario);
      if (!before || before.key !== key) {
        this.seen.set(grade.scenario, { key, since: now, verdict: grade.verdict });
        if (before?.verdict !== grade.verdict)
          changes.push({ scenario: grade.scenario, from: before?.verdict ?? null, grade });
      }
      const settled = now - this.seen.get(grade.scenario)!.since >= this.settleMs;
      return classify(grade, settled);
    });
    const counts: Counts = {
      total: states.length,
      final: 0,
      pass: 0,
      fail: 0,
      pending: 0,
      "not-tested": 0,
      observed: 0,
    };
    for (const s of states) {
      if (s.standing === "final") counts.final++;
      const v = s.grade.verdict as keyof Counts;
      if (v in counts && v !== "total" && v !== "final") counts[v]++;
    }
    return {
      states,
      counts,
      done: states.every((s) => s.standing === "final"),
      changes,
      queued: states.filter((s) => s.standing === "queued"),
    };
  }
}

/** The rules of the module comment, for one grade; `settled` = unchanged for the settle time. */
export function classify(grade: WatchGrade, settled: boolean): ScenarioState {
  if (DECIDED.has(grade.verdict)) {
    if (delivered(grade) > 0) return { grade, standing: "final" };
    const metRealServer = sessions(grade) === 0 || sessions(grade) > refused(grade);
    if (settled && metRealServer) return { grade, standing: "final" };
  }
  if (settled && grade.expect !== "no-delivery" && delivered(grade) === 0 && refused(grade) >= sessions(grade)) {
    const n = refused(grade);
    const queueNote =
      n > 0
        ? `the lab refused ${n === 1 ? "1 attempt" : `${n} attempts`} (greylisting)`
        : (grade.evidence?.dnsQueries ?? 0) > 0
          ? "looked up, no connection yet"
          : "nothing seen yet";
    return { grade, standing: "queued", queueNote };
  }
  return { grade, standing: "open" };
}

/** The flush commands to name: the one of the MTA the user said, else both. */
export function flushHint(mta: string | null | undefined): string {
  const cmd = mta ? FLUSH_COMMANDS[mta] : undefined;
  return cmd ? `\`${cmd}\`` : `\`${FLUSH_COMMANDS["exim"]}\` (Exim) or \`${FLUSH_COMMANDS["postfix"]}\` (Postfix)`;
}

/** One line naming the queued scenarios and the command that flushes the queue. */
export function queueLine(queued: readonly ScenarioState[], mta: string | null | undefined): string {
  const list = queued.map((s) => `${s.grade.scenario} (${s.queueNote})`).join(", ");
  return (
    `probably waiting in your MTA's queue: ${list}. Flush the queue so it tries again now: ${flushHint(mta)}` +
    " (as root, where the MTA runs)."
  );
}

/** "3/8 final · pass 2 · fail 1 · pending 3 · not tested 2" (observed only when there is one). */
export function countsText(c: Counts): string {
  const parts = [`${c.final}/${c.total} final`, `pass ${c.pass}`, `fail ${c.fail}`, `pending ${c.pending}`];
  parts.push(`not tested ${c["not-tested"]}`);
  if (c.observed > 0) parts.push(`observed ${c.observed}`);
  return parts.join(" · ");
}

/** The in-place progress line of a terminal: a bar of final scenarios, the counts, the elapsed time. */
export function progressBar(c: Counts, elapsedMs: number, width = 24): string {
  const filled = c.total === 0 ? width : Math.round((c.final / c.total) * width);
  const s = Math.floor(elapsedMs / 1000);
  const clock = `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
  return `[${"#".repeat(filled)}${"-".repeat(width - filled)}] ${countsText(c)} · ${clock}`;
}

/** Exit codes of `danelab watch` (its --help lists them). */
export const WATCH_EXIT = { ok: 0, fail: 1, error: 2, timeout: 3, interrupted: 130 } as const;

/** 1 when any scenario failed (also after a timeout); else 3 when some were not final; else 0. */
export function watchExitCode(s: Pick<WatchSnapshot, "counts" | "done">): number {
  if (s.counts.fail > 0) return WATCH_EXIT.fail;
  return s.done ? WATCH_EXIT.ok : WATCH_EXIT.timeout;
}
