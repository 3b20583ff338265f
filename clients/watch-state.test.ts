// When `danelab watch` calls a verdict final, which messages it says are queued, its progress line and exit code —
// from grades shaped as GET /api/report?format=json gives them.
import { describe, expect, it } from "vitest";
import {
  classify,
  countsText,
  progressBar,
  queueLine,
  type WatchGrade,
  WatchTracker,
  watchExitCode,
} from "./watch-state.js";

const grade = (
  scenario: string,
  expectation: string,
  verdict: string,
  ev: { sessions?: number; refused?: number; tls?: number; clear?: number; seq?: number } = {},
): WatchGrade => ({
  scenario,
  expect: expectation,
  verdict,
  reason: `${verdict} because`,
  evidence: {
    sessions: ev.sessions ?? 0,
    refused: ev.refused ?? 0,
    delivered: { tls: ev.tls ?? 0, cleartext: ev.clear ?? 0 },
    lastEvent: ev.seq === undefined ? null : { seq: ev.seq },
  },
});

describe("classify: when a verdict is final", () => {
  it("a verdict decided by a delivery is final at once, pass or fail", () => {
    expect(classify(grade("a", "deliver", "pass", { sessions: 1, tls: 1, seq: 5 }), false).standing).toBe("final");
    expect(classify(grade("b", "no-delivery", "fail", { sessions: 1, tls: 1, seq: 5 }), false).standing).toBe("final");
    expect(classify(grade("c", "deliver", "fail", { sessions: 1, clear: 1, seq: 5 }), false).standing).toBe("final");
  });

  it("a verdict without a delivery is final only once it has settled", () => {
    const turnedDown = grade("seed-mx06-ku", "no-delivery", "pass", { sessions: 1, seq: 9 });
    expect(classify(turnedDown, false).standing).toBe("open");
    expect(classify(turnedDown, true).standing).toBe("final");
    const rejected = grade("ta-baseline", "deliver", "fail", { sessions: 1, seq: 9 });
    expect(classify(rejected, false).standing).toBe("open");
    expect(classify(rejected, true).standing).toBe("final");
    // A no-delivery scenario the MTA rightly never connected to (it only looked up the bogus records).
    expect(classify(grade("tlsa-bogus", "no-delivery", "pass", { seq: 3 }), true).standing).toBe("final");
  });

  it("is not final while every connection was refused by the lab's greylisting, whatever the verdict", () => {
    // A no-delivery pass after only greylisted connections: the MTA has not met the real server yet.
    const greylistedOnly = grade("x", "no-delivery", "pass", { sessions: 2, refused: 2, seq: 4 });
    expect(classify(greylistedOnly, true).standing).toBe("open");
    expect(classify(grade("x", "no-delivery", "pass", { sessions: 3, refused: 2, seq: 6 }), true).standing).toBe(
      "final",
    );
  });

  it("pending and not-tested are never final", () => {
    expect(classify(grade("a", "deliver", "pending", { sessions: 1 }), true).standing).not.toBe("final");
    expect(classify(grade("a", "no-delivery", "not-tested"), true).standing).not.toBe("final");
    expect(classify(grade("a", "no-delivery", "pending", { sessions: 1 }), true).standing).toBe("open");
  });
});

describe("classify: probably in the MTA's queue", () => {
  it("names a greylisted deliver-after-retry scenario once it has settled, with the refusals", () => {
    const g = grade("seed-mx06", "deliver-after-retry", "pending", { sessions: 1, refused: 1, seq: 7 });
    expect(classify(g, false).standing).toBe("open");
    const s = classify(g, true);
    expect(s.standing).toBe("queued");
    expect(s.queueNote).toBe("the lab refused 1 attempt (greylisting)");
  });

  it("names a scenario the lab expects mail for and saw nothing of", () => {
    const s = classify(grade("ta-baseline", "deliver", "not-tested"), true);
    expect(s).toMatchObject({ standing: "queued", queueNote: "nothing seen yet" });
  });

  it("never names a no-delivery scenario, nor one with a connection the lab did not refuse", () => {
    expect(classify(grade("ee-mismatch", "no-delivery", "not-tested"), true).standing).toBe("open");
    expect(classify(grade("ta-baseline", "deliver", "pending", { sessions: 2, refused: 1 }), true).standing).toBe(
      "open",
    );
  });
});

describe("WatchTracker", () => {
  it("restarts the settle clock when the verdict or the scenario's newest event changes", () => {
    const t = new WatchTracker(10_000);
    const ku = (seq: number) => grade("seed-mx06-ku", "no-delivery", "pass", { sessions: 1, seq });
    expect(t.update([ku(1)], 0).done).toBe(false);
    expect(t.update([ku(1)], 9_999).done).toBe(false);
    // A new event (the MTA tried again) at 9.999 s: another 10 s from then.
    expect(t.update([ku(2)], 9_999).done).toBe(false);
    expect(t.update([ku(2)], 19_998).done).toBe(false);
    const s = t.update([ku(2)], 19_999);
    expect(s.done).toBe(true);
    expect(s.counts).toMatchObject({ total: 1, final: 1, pass: 1 });
  });

  it("reports each verdict change once, and is done only when every scenario is final", () => {
    const t = new WatchTracker(10_000);
    const first = t.update(
      [
        grade("ta-baseline", "deliver", "not-tested"),
        grade("seed-mx06", "deliver-after-retry", "pending", { sessions: 1, refused: 1, seq: 3 }),
      ],
      0,
    );
    expect(first.changes.map((c) => [c.scenario, c.from, c.grade.verdict])).toEqual([
      ["ta-baseline", null, "not-tested"],
      ["seed-mx06", null, "pending"],
    ]);
    expect(first.queued).toEqual([]);
    const later = t.update(
      [
        grade("ta-baseline", "deliver", "pass", { sessions: 1, tls: 1, seq: 9 }),
        grade("seed-mx06", "deliver-after-retry", "pending", { sessions: 1, refused: 1, seq: 3 }),
      ],
      12_000,
    );
    expect(later.changes.map((c) => [c.scenario, c.from, c.grade.verdict])).toEqual([
      ["ta-baseline", "not-tested", "pass"],
    ]);
    expect(later.queued.map((q) => q.grade.scenario)).toEqual(["seed-mx06"]);
    expect(later.done).toBe(false);
    expect(later.counts).toMatchObject({ total: 2, final: 1, pass: 1, pending: 1 });
    expect(watchExitCode(later)).toBe(3);
    const end = t.update(
      [
        grade("ta-baseline", "deliver", "pass", { sessions: 1, tls: 1, seq: 9 }),
        grade("seed-mx06", "deliver-after-retry", "pass", { sessions: 3, refused: 2, tls: 1, seq: 20 }),
      ],
      13_000,
    );
    expect(end.done).toBe(true);
    expect(watchExitCode(end)).toBe(0);
  });

  it("exits 1 on a fail, even when other scenarios are still open", () => {
    const t = new WatchTracker(0);
    const s = t.update(
      [
        grade("ta-forged-chain", "no-delivery", "fail", { sessions: 1, tls: 1, seq: 4 }),
        grade("ta-baseline", "deliver", "pending", { sessions: 1, seq: 5 }),
      ],
      0,
    );
    expect(s.done).toBe(false);
    expect(watchExitCode(s)).toBe(1);
  });
});

describe("what watch prints", () => {
  it("names the queued scenarios and the flush command of the MTA, or both when unknown", () => {
    const queued = [classify(grade("seed-mx06", "deliver-after-retry", "pending", { sessions: 2, refused: 2 }), true)];
    expect(queueLine(queued, "exim")).toBe(
      "probably waiting in your MTA's queue: seed-mx06 (the lab refused 2 attempts (greylisting)). Flush the queue " +
        "so it tries again now: `exim -qff` (as root, where the MTA runs).",
    );
    expect(queueLine(queued, "postfix")).toContain("`postqueue -f`");
    expect(queueLine(queued, null)).toContain("`exim -qff` (Exim) or `postqueue -f` (Postfix)");
  });

  it("draws the progress bar from the final share, with counts and elapsed time", () => {
    const counts = { total: 8, final: 4, pass: 3, fail: 1, pending: 2, "not-tested": 2, observed: 0 };
    expect(countsText(counts)).toBe("4/8 final · pass 3 · fail 1 · pending 2 · not tested 2");
    expect(progressBar(counts, 83_400, 8)).toBe(
      "[####----] 4/8 final · pass 3 · fail 1 · pending 2 · not tested 2 · 1:23",
    );
    expect(progressBar({ ...counts, final: 8, observed: 1 }, 0, 4)).toBe(
      "[####] 8/8 final · pass 3 · fail 1 · pending 2 · not tested 2 · observed 1 · 0:00",
    );
  });
});
