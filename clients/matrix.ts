// The client matrix: scenario × client, each cell holding the lab's server-side grade (what arrived, over what; from
// GET /api/report?run=) and the MTA's own outcome (from its log). The two halves answer different questions — "did
// this MTA do what RFC 7672 requires?" and "what did it say about it?" — and a mail admin needs both: the grade to
// know whether to worry, the log line to search for. Pure: data in, text out (table, JSON, JUnit XML, Markdown).
import { type ClientOutcome, describeOutcome } from "./outcome.js";

/** The lab's verdict for one scenario of one run (lab/grade/index.ts ScenarioGrade, as served by the HTTP API). */
export interface LabGrade {
  scenario: string;
  verdict: string; // pass | fail | pending | not-tested | observed
  reason: string;
}

export interface MatrixColumn {
  /** "exim-try", "exim-strict/unbound" — the column header. */
  id: string;
  client: string; // exim-try | exim-strict | postfix
  mode: string; // resolver | unbound
  runId: string;
  sourceAddress?: string;
  timings?: { startMs: number; firstAttemptMs: number; totalMs: number; rounds: number };
  /** Set when the column could not run at all (image missing, container failed). */
  error?: string;
  /** A user's configuration (`check --exim-config/--postfix-config`): what the lab changed in its copy. */
  changes?: string[];
}

export interface MatrixCell {
  grade?: LabGrade;
  outcome?: ClientOutcome;
}

export interface MatrixRow {
  scenario: string;
  title: string;
  group: string;
  expect: string;
  /** "Known" behaviour from the catalogue, when the manifest carries it. */
  known?: string;
  cells: Record<string, MatrixCell>;
}

export interface Matrix {
  version: 1;
  generated: string;
  lab: { suffix: string; url: string | null };
  columns: MatrixColumn[];
  rows: MatrixRow[];
}

export type MatrixFormat = "table" | "json" | "junit" | "markdown";
export const MATRIX_FORMATS: readonly MatrixFormat[] = ["table", "json", "junit", "markdown"];

/** Counts of lab verdicts per column. */
export function summarize(matrix: Matrix): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  for (const col of matrix.columns) {
    const counts: Record<string, number> = {};
    for (const row of matrix.rows) {
      const v = row.cells[col.id]?.grade?.verdict ?? "no grade";
      counts[v] = (counts[v] ?? 0) + 1;
    }
    out[col.id] = counts;
  }
  return out;
}

/** Non-zero when the lab graded any cell `fail` or a column could not run — what `danelab check` exits with. */
export function matrixExitCode(matrix: Matrix): number {
  if (matrix.columns.some((c) => c.error)) return 2;
  return matrix.rows.some((r) => Object.values(r.cells).some((c) => c.grade?.verdict === "fail")) ? 1 : 0;
}

function cellText(cell: MatrixCell | undefined): string {
  if (!cell) return "-";
  const grade = cell.grade ? cell.grade.verdict.toUpperCase() : "no grade";
  return `${grade}: ${describeOutcome(cell.outcome)}`;
}

/**
 * Every departure from `expect` (a cell the lab graded `fail`) and every failed delivery, each with the lab's reason
 * and the MTA's own words: its error text, or — when it delivered where it should not have — its delivery log line.
 */
export function findings(matrix: Matrix): string[] {
  const notes: string[] = [];
  for (const r of matrix.rows) {
    for (const c of matrix.columns) {
      const cell = r.cells[c.id];
      if (!cell) continue;
      const failed = cell.grade?.verdict === "fail";
      const err = cell.outcome?.status !== "delivered" ? cell.outcome?.error : undefined;
      if (!failed && !err) continue;
      const parts = [`${r.scenario} × ${c.id}:`];
      if (cell.grade?.reason) parts.push(`lab: ${cell.grade.reason}`);
      const own = err ?? cell.outcome?.lines.at(-1);
      if (own) parts.push(`MTA: ${own.trim()}`);
      notes.push(parts.join(" "));
    }
  }
  return notes;
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + " ".repeat(n - s.length);
}

/** Fixed-width text for a terminal: one line per scenario, then the MTAs' error lines for the cells that need them. */
export function formatTable(matrix: Matrix): string {
  const headers = ["scenario", "expect", ...matrix.columns.map((c) => c.id)];
  const rows = matrix.rows.map((r) => [r.scenario, r.expect, ...matrix.columns.map((c) => cellText(r.cells[c.id]))]);
  const widths = headers.map((h, i) => Math.min(60, Math.max(h.length, ...rows.map((r) => r[i]!.length))));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => pad(c, widths[i]!))
      .join("  ")
      .trimEnd();
  const out = [line(headers), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)];

  const notes = findings(matrix);
  for (const c of matrix.columns) if (c.error) notes.push(`${c.id}: did not run: ${c.error}`);
  const summary = Object.entries(summarize(matrix))
    .map(
      ([col, counts]) =>
        `${col}: ${Object.entries(counts)
          .map(([v, n]) => `${n} ${v}`)
          .join(", ")}`,
    )
    .join("; ");
  return [
    ...out,
    "",
    ...(notes.length ? ["Details:", ...notes.map((n) => `  ${n}`), ""] : []),
    `Summary: ${summary}`,
    "",
  ].join("\n");
}

export function formatJson(matrix: Matrix): string {
  return `${JSON.stringify(matrix, null, 2)}\n`;
}

function mdEscape(s: string): string {
  return s.replace(/\|/g, "\\|").replace(/\n/g, " ");
}

export function formatMarkdown(matrix: Matrix): string {
  const head = `| scenario | expect | ${matrix.columns.map((c) => mdEscape(c.id)).join(" | ")} |`;
  const sep = `|---|---|${matrix.columns.map(() => "---").join("|")}|`;
  const rows = matrix.rows.map((r) => {
    const cells = matrix.columns.map((c) => {
      const cell = r.cells[c.id];
      const err =
        cell?.outcome?.error && cell.outcome.status !== "delivered" ? `<br>\`${mdEscape(cell.outcome.error)}\`` : "";
      return `${mdEscape(cellText(cell))}${err}`;
    });
    return `| \`${r.scenario}\` | ${r.expect} | ${cells.join(" | ")} |`;
  });
  const runs = matrix.columns.flatMap((c) => [
    `- **${c.id}**: run \`${c.runId}\`${c.sourceAddress ? ` from ${c.sourceAddress}` : ""}${c.error ? ` — did not run: ${c.error}` : ""}`,
    ...(c.changes ?? []).map((ch) => `  - changed in the lab's copy: ${mdEscape(ch)}`),
  ]);
  const found = findings(matrix).map((f) => `- ${mdEscape(f)}`);
  return [
    `# danelab client matrix (${matrix.generated})`,
    "",
    ...runs,
    "",
    head,
    sep,
    ...rows,
    "",
    ...(found.length ? ["## Findings", "", ...found, ""] : []),
  ].join("\n");
}

function xmlEscape(s: string): string {
  return s
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .split("")
    .filter((ch) => ch >= " " || ch === "\t" || ch === "\n" || ch === "\r") // XML 1.0 forbids other C0 controls
    .join("");
}

/** JUnit XML: one testsuite per column, one testcase per scenario; lab `fail` = failure, not-tested/pending = skipped. */
export function formatJunit(matrix: Matrix): string {
  const suites = matrix.columns.map((c) => {
    let failures = 0;
    let skipped = 0;
    const cases = matrix.rows.map((r) => {
      const cell = r.cells[c.id];
      const verdict = cell?.grade?.verdict;
      const detail = [
        cell?.grade ? `lab: ${cell.grade.verdict}: ${cell.grade.reason}` : "lab: no grade",
        `MTA: ${describeOutcome(cell?.outcome)}${cell?.outcome?.error ? `: ${cell.outcome.error}` : ""}`,
      ].join("\n");
      let body = `<system-out>${xmlEscape(detail)}</system-out>`;
      if (c.error) {
        failures++;
        body = `<error message="${xmlEscape(c.error)}"/>`;
      } else if (verdict === "fail") {
        failures++;
        body = `<failure message="${xmlEscape(cell?.grade?.reason ?? "")}">${xmlEscape(detail)}</failure>`;
      } else if (verdict !== "pass" && verdict !== "observed") {
        skipped++;
        body = `<skipped message="${xmlEscape(verdict ?? "no grade")}"/><system-out>${xmlEscape(detail)}</system-out>`;
      }
      return `    <testcase classname="danelab.${xmlEscape(c.id)}" name="${xmlEscape(r.scenario)} (expect ${xmlEscape(r.expect)})">${body}</testcase>`;
    });
    return [
      `  <testsuite name="${xmlEscape(c.id)}" tests="${matrix.rows.length}" failures="${failures}" skipped="${skipped}">`,
      ...cases,
      "  </testsuite>",
    ].join("\n");
  });
  return ['<?xml version="1.0" encoding="UTF-8"?>', "<testsuites>", ...suites, "</testsuites>", ""].join("\n");
}

export function formatMatrix(matrix: Matrix, format: MatrixFormat): string {
  switch (format) {
    case "json":
      return formatJson(matrix);
    case "junit":
      return formatJunit(matrix);
    case "markdown":
      return formatMarkdown(matrix);
    default:
      return formatTable(matrix);
  }
}
