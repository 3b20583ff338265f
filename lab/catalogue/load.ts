// Reads scenario files (YAML, one scenario each) and validates them against schema.ts.
//
// A broken file is reported as `file:line: what is wrong and what is allowed`, every problem of every file at once, so
// a user adding a scenario fixes them in one go. Selection (--only, --group) happens here too.
import { readdirSync, readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { isMap, isNode, LineCounter, parseDocument, visit } from "yaml";
import type { z } from "zod";
import { type ScenarioFile, scenarioSchema } from "./schema.js";
import { builtinScenarioDir, CatalogueError, type LoadOptions, select } from "./select.js";

export { builtinScenarioDir, CatalogueError, type LoadOptions, select };

export interface LoadedScenario extends ScenarioFile {
  /** The file it came from, for messages. */
  file: string;
}

export function loadCatalogue(options: LoadOptions = {}): LoadedScenario[] {
  const dirs = [...(options.dirs ?? [builtinScenarioDir()]), ...(options.extraDirs ?? [])];
  const problems: string[] = [];
  const scenarios: LoadedScenario[] = [];
  const seen = new Map<string, string>();
  for (const dir of dirs) {
    let entries: string[];
    try {
      entries = readdirSync(dir)
        .filter((f) => /\.ya?ml$/.test(f))
        .sort();
    } catch (err) {
      problems.push(`${dir}: cannot read this scenario directory (${(err as NodeJS.ErrnoException).code ?? err}).`);
      continue;
    }
    for (const f of entries) {
      const file = join(dir, f);
      const result = parseScenarioFile(file, readFileSync(file, "utf8"));
      if ("problems" in result) {
        problems.push(...result.problems);
        continue;
      }
      const s = result.scenario;
      const previous = seen.get(s.id);
      if (previous) {
        problems.push(`${file}:1: scenario id "${s.id}" is already used by ${previous}; ids must be unique.`);
        continue;
      }
      seen.set(s.id, file);
      scenarios.push(s);
    }
  }
  if (problems.length) throw new CatalogueError(problems);
  return select(scenarios, options);
}

/** Parses and validates one file; problems carry `file:line:`. */
export function parseScenarioFile(file: string, text: string): { scenario: LoadedScenario } | { problems: string[] } {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const lineOf = (offset: number | undefined) => (offset === undefined ? 1 : lineCounter.linePos(offset).line);
  if (doc.errors.length) {
    return { problems: doc.errors.map((e) => `${file}:${lineOf(e.pos[0])}: YAML syntax: ${e.message.split("\n")[0]}`) };
  }
  if (!isMap(doc.contents)) {
    return {
      problems: [`${file}:1: a scenario file holds one YAML mapping (id:, title:, group:, expect:, teach:, ...).`],
    };
  }
  // Aliases are expanded here: an "alias bomb" (anchors of anchors, a billion strings from a few lines) or an alias
  // to an anchor defined later is refused with the line of the first alias (`maxAliasCount`: yaml's own limit).
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    let firstAlias: number | undefined;
    visit(doc, {
      Alias(_key, node) {
        firstAlias ??= node.range?.[0];
      },
    });
    const message = (err as Error).message;
    const why = /Excessive alias count/.test(message)
      ? "YAML aliases expand to too much data (more than 100 alias uses: an alias bomb?); write the values out " +
        "instead of nesting anchors."
      : `YAML: ${message.split("\n")[0]}.`;
    return { problems: [`${file}:${lineOf(firstAlias)}: ${why}`] };
  }
  const parsed = scenarioSchema.safeParse(data);
  if (!parsed.success) {
    return {
      problems: parsed.error.issues.map((issue) => {
        // An unknown key is reported at its own line, not at its parent mapping's.
        const path = [
          ...(issue.path as (string | number)[]),
          ...(issue.code === "unrecognized_keys" ? issue.keys.slice(0, 1) : []),
        ];
        const line = lineForPath(doc, path, lineOf);
        return `${file}:${line}: ${describeIssue(issue)}`;
      }),
    };
  }
  const expectedId = basename(file).replace(/\.ya?ml$/, "");
  if (parsed.data.id !== expectedId) {
    const line = lineForPath(doc, ["id"], lineOf);
    return { problems: [`${file}:${line}: id "${parsed.data.id}" must equal the file name ("${expectedId}").`] };
  }
  return { scenario: { ...parsed.data, file } };
}

/** The line of the deepest YAML node that exists along a schema path. */
function lineForPath(
  doc: ReturnType<typeof parseDocument>,
  path: (string | number)[],
  lineOf: (offset: number | undefined) => number,
): number {
  for (let n = path.length; n >= 0; n--) {
    const node = n === 0 ? doc.contents : doc.getIn(path.slice(0, n), true);
    if (isNode(node) && node.range) return lineOf(node.range[0]);
  }
  return 1;
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const where = issue.path.length ? `${issue.path.join(".")}: ` : "";
  switch (issue.code) {
    case "unrecognized_keys":
      return `${where}unknown field(s) ${issue.keys.map((k) => `"${k}"`).join(", ")}; see docs/scenarios.md for the allowed fields.`;
    case "invalid_value":
      return `${where}must be one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}.`;
    case "invalid_type":
      return `${where}${issue.message.replace(/^Invalid input: /, "")}.`;
    default:
      return `${where}${issue.message}.`;
  }
}
