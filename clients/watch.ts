// `danelab watch`: follows one run at the lab — through its HTTP API only, so the lab may run on another machine —
// until every watched scenario has a final verdict (clients/watch-state.ts says when that is) or the timeout passes.
// On a terminal it keeps one progress line up to date; otherwise it prints plain lines only when something changes.
// It names the messages that are probably waiting in the user's MTA's queue, with the command that flushes it, and
// ends with the lab's report of the run (the table of `danelab report`).
import { fetchManifest, fetchReportText, LabAccessError, readManifest } from "./lab-api.js";
import { checkRunId, listOption, RunInputError, readSent, selectScenarios } from "./runs.js";
import {
  countsText,
  DEFAULT_SETTLE_MS,
  flushHint,
  progressBar,
  queueLine,
  WATCH_EXIT,
  type WatchGrade,
  type WatchSnapshot,
  WatchTracker,
  watchExitCode,
} from "./watch-state.js";

export interface WatchOptions {
  run?: string;
  /** Seconds to wait for every verdict to be final (default 600). */
  timeout?: string | number;
  /** Seconds a verdict without a delivery must hold still to count as final (default 10). */
  settle?: string | number;
  only?: string | string[];
  group?: string | string[];
  labUrl?: string;
  stateDir?: string;
  /** exim | postfix: which flush command to name (default: the one `send --mta` recorded, else both). */
  mta?: string;
  /** The final report's format: table (default), json, markdown, junit. */
  format?: string;
  /** Poll interval in ms (default 1000). */
  intervalMs?: number;
  /** Progress output (default stderr) and whether it is a terminal (default: stderr's isTTY). */
  progress?: { write(text: string): unknown; isTTY?: boolean; columns?: number };
  /** The final report (default stdout). */
  out?: (text: string) => void;
  /** Stops the watch early (Ctrl-C): the report so far is printed, exit 130. */
  signal?: AbortSignal;
}

const REPORT_FORMATS = ["table", "json", "markdown", "junit"];
/** Consecutive failed polls before watch gives up on the lab (a restart of `danelab up` takes about a second). */
const MAX_POLL_FAILURES = 5;

const seconds = (v: string | number | undefined, name: string, fallback: number): number => {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new RunInputError(`--${name} "${v}" is not a number of seconds (0 or more).`);
  return n;
};

/**
 * The whole `danelab watch`; returns the exit code: 0 every watched scenario final and none failed, 1 a scenario
 * failed, 2 could not watch (bad input, lab not reachable), 3 timed out with scenarios not final, 130 interrupted.
 */
export async function watchCommand(o: WatchOptions): Promise<number> {
  const progress = o.progress ?? process.stderr;
  const out = o.out ?? ((text: string) => process.stdout.write(text));
  try {
    return await watch(o, progress, out);
  } catch (err) {
    if (err instanceof RunInputError || err instanceof LabAccessError) {
      if (progress.isTTY) progress.write("\r\x1b[2K");
      progress.write(`danelab watch: ${err.message}\n`);
      return WATCH_EXIT.error;
    }
    throw err;
  }
}

async function watch(
  o: WatchOptions,
  progress: NonNullable<WatchOptions["progress"]>,
  out: (text: string) => void,
): Promise<number> {
  const runId = checkRunId(o.run);
  const timeoutMs = seconds(o.timeout, "timeout", 600) * 1000;
  const settleMs = seconds(o.settle, "settle", DEFAULT_SETTLE_MS / 1000) * 1000;
  const format = o.format ?? "table";
  if (!REPORT_FORMATS.includes(format)) {
    throw new RunInputError(`--format "${format}": choose one of ${REPORT_FORMATS.join(", ")}.`);
  }
  if (o.mta !== undefined && o.mta !== "exim" && o.mta !== "postfix") {
    throw new RunInputError(`--mta "${o.mta}": choose exim or postfix (it picks the queue-flush command named).`);
  }
  const stateDir = o.stateDir ?? ".lab";
  const sent = readSent(stateDir, runId);
  const labUrl = (o.labUrl ?? labUrlOf(stateDir, sent?.labUrl ?? null)).replace(/\/+$/, "");
  if (!/^https?:\/\/[^/]+/.test(labUrl)) {
    throw new RunInputError(`--lab-url "${labUrl}" is not an http:// URL, e.g. --lab-url http://127.0.0.1:8025.`);
  }
  const manifest = await fetchManifest(labUrl);
  const mta = o.mta ?? sent?.mta ?? null;
  const tty = progress.isTTY === true;
  const say = (line: string) => progress.write(`${tty ? "\r\x1b[2K" : ""}${line}\n`);

  // The watched set: --only/--group when given, else what `send` recorded, else the lab's whole catalogue.
  let ids: string[];
  let from: string;
  const only = listOption(o.only);
  const group = listOption(o.group);
  if (only || group) {
    ids = selectScenarios(manifest, { only, group }).map((s) => s.id);
    from = "--only/--group";
  } else if (sent) {
    const known = new Set(manifest.scenarios.map((s) => s.id));
    const refused = sent.scenarios.filter((s) => !s.accepted).map((s) => s.id);
    const gone = sent.scenarios.filter((s) => s.accepted && !known.has(s.id)).map((s) => s.id);
    ids = sent.scenarios.filter((s) => s.accepted && known.has(s.id)).map((s) => s.id);
    from = `what \`danelab send\` recorded in ${stateDir}/runs/${runId}/sent.json`;
    if (refused.length) say(`watch: not watching ${refused.join(", ")}: your MTA did not accept those messages.`);
    if (gone.length) say(`watch: not watching ${gone.join(", ")}: the lab at ${labUrl} no longer serves them.`);
    if (ids.length === 0) {
      throw new RunInputError(
        `Nothing to watch for run ${runId}: your MTA accepted none of the messages \`danelab send\` recorded. Send ` +
          "again once the MTA takes them, or name scenarios with --only/--group.",
      );
    }
  } else {
    ids = manifest.scenarios.map((s) => s.id);
    from = "the lab's whole catalogue (no sent.json for this run here; --only/--group narrow it)";
  }
  const wholeLab = ids.length === manifest.scenarios.length;
  say(
    `watch: run ${runId}, ${ids.length} scenario(s) from ${from}; lab ${labUrl}; until every verdict is final or ` +
      `${timeoutMs / 1000} s pass`,
  );

  const tracker = new WatchTracker(settleMs);
  const started = Date.now();
  const interval = o.intervalMs ?? 1000;
  let snapshot: WatchSnapshot | null = null;
  let lastCounts = "";
  let lastQueue = "";
  let failures = 0;
  let interrupted = false;
  for (;;) {
    let grades: WatchGrade[] | null = null;
    try {
      grades = await fetchGrades(labUrl, runId, ids);
      failures = 0;
    } catch (err) {
      if (!(err instanceof LabAccessError) || ++failures >= MAX_POLL_FAILURES) throw err;
      say(`watch: the lab did not answer (${failures}/${MAX_POLL_FAILURES}); trying again`);
    }
    const now = Date.now();
    if (grades) {
      snapshot = tracker.update(grades, now);
      for (const c of snapshot.changes) {
        if (c.from === null && c.grade.verdict === "not-tested") continue;
        say(`watch: ${c.grade.scenario}: ${c.grade.verdict} — ${c.grade.reason}`);
      }
      const queueKey = snapshot.queued.map((s) => `${s.grade.scenario}@${s.grade.evidence?.lastEvent?.seq}`).join();
      if (queueKey !== lastQueue && snapshot.queued.length > 0) say(`watch: ${queueLine(snapshot.queued, mta)}`);
      lastQueue = queueKey;
      const counts = countsText(snapshot.counts);
      // One terminal line, never wrapped, or the next \r would redraw only its last part.
      if (tty)
        progress.write(
          `\r\x1b[2K${progressBar(snapshot.counts, now - started).slice(0, (progress.columns ?? 80) - 1)}`,
        );
      else if (counts !== lastCounts) say(`watch: ${counts}`);
      lastCounts = counts;
      if (snapshot.done) break;
    }
    if (now - started >= timeoutMs) break;
    if (o.signal?.aborted) {
      interrupted = true;
      break;
    }
    await sleep(Math.min(interval, Math.max(0, timeoutMs - (now - started))), o.signal);
    if (o.signal?.aborted) {
      interrupted = true;
      break;
    }
  }
  if (tty) progress.write("\r\x1b[2K");

  out(await fetchReportText(labUrl, runId, format, wholeLab ? undefined : ids));
  const s = snapshot!;
  const open = s.states.filter((st) => st.standing !== "final");
  if (interrupted) {
    say(`watch: interrupted; ${countsText(s.counts)}.`);
    return WATCH_EXIT.interrupted;
  }
  if (open.length > 0) {
    const waiting = s.queued.length ? ` ${capitalize(queueLine(s.queued, mta))}` : "";
    say(
      `watch: timed out after ${Math.round((Date.now() - started) / 1000)} s with ${open.length} scenario(s) not ` +
        `final: ${open.map((st) => `${st.grade.scenario} (${st.grade.verdict})`).join(", ")}.${waiting} Then run ` +
        `\`danelab watch --run ${runId}\` again, or give a longer --timeout.` +
        (s.queued.length ? "" : ` If your MTA still holds messages, ${flushHint(mta)} sends them now.`),
    );
  } else {
    say(`watch: every verdict is final: ${countsText(s.counts)}.`);
  }
  return watchExitCode(s);
}

const capitalize = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);

/** The lab's API: the manifest here says where it runs now (a restart may move it); else where send found it. */
function labUrlOf(stateDir: string, recorded: string | null): string {
  let manifest: ReturnType<typeof readManifest>;
  try {
    manifest = readManifest(`${stateDir}/manifest.json`);
  } catch (err) {
    if (recorded) return recorded;
    throw new LabAccessError(
      `${(err as Error).message} (watch needs the lab's HTTP API: give --lab-url http://HOST:PORT when the lab runs ` +
        "elsewhere.)",
    );
  }
  if (!manifest.http) {
    if (recorded) return recorded;
    throw new LabAccessError(
      "This lab runs without its HTTP API (--no-http), and watch reads the grades from it. Restart the lab with the " +
        "API on (the default), or give --lab-url.",
    );
  }
  return manifest.http.url;
}

async function fetchGrades(labUrl: string, runId: string, ids: readonly string[]): Promise<WatchGrade[]> {
  const body = JSON.parse(await fetchReportText(labUrl, runId, "json")) as { grades?: WatchGrade[] };
  const byId = new Map((body.grades ?? []).map((g) => [g.scenario, g]));
  return ids.map(
    (id) =>
      byId.get(id) ?? {
        scenario: id,
        expect: "?",
        verdict: "not-tested",
        reason: "the lab no longer reports this scenario",
      },
  );
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}
