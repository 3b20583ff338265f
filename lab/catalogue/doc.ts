// The catalogue as a document (docs/catalogue.md): one row per built-in scenario with its verdict, the RFC section
// that decides the verdict (the first `rfc` entry of the file) and what real MTAs were seen to do. Pure: scenarios in,
// Markdown out. `npm run docs` writes the file; lab/catalogue/catalogue.test.ts fails when the file and the
// catalogue disagree, so the document always states what the YAML files say.
import type { LoadedScenario } from "./load.js";

/** The groups in the order the document shows them, each with a one-line heading. */
export const GROUP_TITLES: Record<string, string> = {
  seed: "The seed (Debian bug #1075900)",
  "dane-ta-names": "DANE-TA name checks",
  "tlsa-and-chains": "TLSA records and chains",
  "dnssec-status": "DNSSEC status",
  "smtp-and-tls": "SMTP and TLS behaviour",
  "mta-sts": "MTA-STS beside DANE",
};

export interface CatalogueRow {
  id: string;
  group: string;
  expect: string;
  decidedBy: string;
  title: string;
  known: boolean;
}

export function catalogueRows(scenarios: readonly LoadedScenario[]): CatalogueRow[] {
  return scenarios.map((s) => ({
    id: s.id,
    group: s.group,
    expect: s.expect,
    decidedBy: s.rfc[0] ?? "",
    title: s.title,
    known: Boolean(s.known?.trim()),
  }));
}

const cell = (text: string) => text.replaceAll("|", "\\|").replaceAll("\n", " ");

/** The table part of docs/catalogue.md, between the markers the file carries. */
export function catalogueTables(scenarios: readonly LoadedScenario[]): string {
  const rows = catalogueRows(scenarios);
  const groups = [...new Set([...Object.keys(GROUP_TITLES), ...rows.map((r) => r.group)])];
  const out: string[] = [];
  for (const g of groups) {
    const inGroup = rows.filter((r) => r.group === g);
    if (inGroup.length === 0) continue;
    out.push(`### ${GROUP_TITLES[g] ?? g}`, "");
    out.push("| scenario | set-up | expect | decided by | seen |", "| --- | --- | --- | --- | --- |");
    for (const r of inGroup)
      out.push(
        `| \`${r.id}\` | ${cell(r.title)} | \`${r.expect}\` | ${r.decidedBy} | ${r.known ? "yes" : "not yet"} |`,
      );
    out.push("");
  }
  return out.join("\n");
}

/** Rows read back from the document: id, expect and deciding section of every table row. */
export function rowsInDocument(markdown: string): { id: string; expect: string; decidedBy: string }[] {
  const out: { id: string; expect: string; decidedBy: string }[] = [];
  for (const line of markdown.split("\n")) {
    const cells = line.split(/(?<!\\)\|/).map((c) => c.trim());
    const id = /^`([a-z0-9-]+)`$/.exec(cells[1] ?? "")?.[1];
    const expect = /^`([a-z-]+)`$/.exec(cells[3] ?? "")?.[1];
    if (id && expect) out.push({ id, expect, decidedBy: cells[4] ?? "" });
  }
  return out;
}

export const TABLES_BEGIN = "<!-- catalogue tables: written by `npm run docs` from lab/scenarios/*.yaml -->";
export const TABLES_END = "<!-- end of catalogue tables -->";

/** The document with its tables replaced by the catalogue's current ones. */
export function withTables(markdown: string, scenarios: readonly LoadedScenario[]): string {
  const begin = markdown.indexOf(TABLES_BEGIN);
  const end = markdown.indexOf(TABLES_END);
  if (begin < 0 || end < begin) throw new Error(`docs/catalogue.md lacks the markers ${TABLES_BEGIN} … ${TABLES_END}`);
  return `${markdown.slice(0, begin + TABLES_BEGIN.length)}\n\n${catalogueTables(scenarios)}\n${markdown.slice(end)}`;
}
