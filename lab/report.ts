// Report formats for the grader's verdicts (lab/grade/): an aligned `table` for a terminal, `json` for scripts and
// the HTTP API, `junit` XML for CI systems (one testcase per scenario), and `markdown` for issues and wikis. Pure: a
// list of grades in, a string out. `exitCodeFor` gives `danelab report` its exit status: non-zero only when a graded
// scenario failed (pending, not-tested and observed do not fail a run).
import type { ScenarioGrade, Verdict } from "./grade/index.js";

export const REPORT_FORMATS = ["table", "json", "junit", "markdown"] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

export interface ReportOptions {
  /** The run the grades are for (`run-<id>` recipients), shown in headings. */
  run?: string | undefined;
  /** Timestamp for the JUnit/JSON output; default now. */
  generated?: Date;
}

export type ReportSummary = Record<Verdict, number> & { total: number };

export function summarize(grades: readonly ScenarioGrade[]): ReportSummary {
  const s: ReportSummary = { total: grades.length, pass: 0, fail: 0, pending: 0, "not-tested": 0, observed: 0 };
  for (const g of grades) s[g.verdict] += 1;
  return s;
}

/** 1 when any graded scenario failed, else 0. */
export function exitCodeFor(grades: readonly ScenarioGrade[]): number {
  return grades.some((g) => g.verdict === "fail") ? 1 : 0;
}

export function isReportFormat(f: string): f is ReportFormat {
  return (REPORT_FORMATS as readonly string[]).includes(f);
}

export function formatReport(grades: readonly ScenarioGrade[], format: ReportFormat, opts: ReportOptions = {}): string {
  switch (format) {
    case "table":
      return formatTable(grades, opts);
    case "json":
      return formatJson(grades, opts);
    case "junit":
      return formatJunit(grades, opts);
    case "markdown":
      return formatMarkdown(grades, opts);
    default:
      throw new Error(`unknown report format "${format as string}" (choose one of ${REPORT_FORMATS.join(", ")})`);
  }
}

/** "33 scenarios: 20 pass, 3 fail, 5 pending, 4 not tested, 1 observed" (zero counts left out). */
export function summaryLine(grades: readonly ScenarioGrade[]): string {
  const s = summarize(grades);
  const parts = (["pass", "fail", "pending", "not-tested", "observed"] as const)
    .filter((v) => s[v] > 0)
    .map((v) => `${s[v]} ${v === "not-tested" ? "not tested" : v}`);
  return `${s.total} ${s.total === 1 ? "scenario" : "scenarios"}${parts.length ? `: ${parts.join(", ")}` : ""}`;
}

/** Aligned columns, the reason last (it is long; a terminal wraps it). */
export function formatTable(grades: readonly ScenarioGrade[], opts: ReportOptions = {}): string {
  const rows = grades.map((g) => [g.scenario, g.expect, g.verdict, oneLine(g.reason)]);
  const header = ["SCENARIO", "EXPECT", "VERDICT", "REASON"];
  const widths = [0, 1, 2].map((i) => Math.max(header[i]!.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) =>
    r
      .map((cell, i) => (i < 3 ? cell.padEnd(widths[i]!) : cell))
      .join("  ")
      .trimEnd();
  const title = opts.run !== undefined ? `danelab report, run ${opts.run}` : "danelab report, all runs";
  return [title, "", line(header), ...rows.map(line), "", summaryLine(grades)].join("\n");
}

export function formatJson(grades: readonly ScenarioGrade[], opts: ReportOptions = {}): string {
  return JSON.stringify(
    {
      run: opts.run ?? null,
      generated: (opts.generated ?? new Date()).toISOString(),
      summary: summarize(grades),
      grades,
    },
    null,
    2,
  );
}

/**
 * JUnit XML as Jenkins, GitLab and GitHub test reporters read it: one <testsuite>, one <testcase> per scenario
 * (classname = danelab.<group>, name = scenario id); fail → <failure>, pending / not-tested / observed → <skipped>
 * with the reason, pass → the reason in <system-out>.
 */
export function formatJunit(grades: readonly ScenarioGrade[], opts: ReportOptions = {}): string {
  const s = summarize(grades);
  const skipped = s.pending + s["not-tested"] + s.observed;
  const suite = opts.run !== undefined ? `danelab run ${opts.run}` : "danelab";
  const out = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="${xml(suite)}" tests="${s.total}" failures="${s.fail}" errors="0" skipped="${skipped}">`,
    `  <testsuite name="${xml(suite)}" tests="${s.total}" failures="${s.fail}" errors="0" skipped="${skipped}" ` +
      `timestamp="${(opts.generated ?? new Date()).toISOString().replace(/\.\d+Z$/, "")}">`,
  ];
  for (const g of grades) {
    const classname = `danelab.${(g.group ?? g.expect).replace(/[^A-Za-z0-9_-]+/g, "-")}`;
    const open = `    <testcase classname="${xml(classname)}" name="${xml(g.scenario)}"`;
    const detail =
      `expect: ${g.expect}\nverdict: ${g.verdict}\nreason: ${g.reason}\n` +
      `evidence: ${JSON.stringify(g.evidence)}${g.title ? `\ntitle: ${g.title}` : ""}`;
    if (g.verdict === "fail") {
      out.push(
        `${open}>`,
        `      <failure message="${xml(g.reason)}" type="${xml(g.expect)}">${xml(detail)}</failure>`,
        "    </testcase>",
      );
    } else if (g.verdict === "pass") {
      out.push(`${open}>`, `      <system-out>${xml(detail)}</system-out>`, "    </testcase>");
    } else {
      out.push(`${open}>`, `      <skipped message="${xml(`${g.verdict}: ${g.reason}`)}"/>`, "    </testcase>");
    }
  }
  out.push("  </testsuite>", "</testsuites>");
  return out.join("\n");
}

export function formatMarkdown(grades: readonly ScenarioGrade[], opts: ReportOptions = {}): string {
  const title = opts.run !== undefined ? `## danelab report, run ${md(opts.run)}` : "## danelab report";
  const rows = grades.map(
    (g) =>
      `| \`${g.scenario}\` | ${g.expect} | ${g.verdict === "fail" ? "**fail**" : g.verdict} | ${md(oneLine(g.reason))} |`,
  );
  return [
    title,
    "",
    summaryLine(grades),
    "",
    "| Scenario | Expect | Verdict | Reason |",
    "|---|---|---|---|",
    ...rows,
  ].join("\n");
}

function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, " ");
}

/** XML 1.0 text/attribute escaping; characters XML 1.0 cannot carry at all are dropped. */
function xml(s: string): string {
  return s
    .replace(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, "")
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&apos;");
}

/** Escapes what would break a Markdown table cell or start markup. */
function md(s: string): string {
  return s
    .replace(/\\/g, "\\\\")
    .replace(/\|/g, "\\|")
    .replace(/([*_`<>[\]])/g, "\\$1");
}
