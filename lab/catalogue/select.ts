// The light half of the catalogue loader: where the built-in catalogue lives, the error type, and --only/--group
// selection. Kept apart from load.ts (YAML + schema validation) so a warm start that finds its validated catalogue
// in the state directory (cache.ts) never loads the parser and the schema library.
import { statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { LoadedScenario } from "./load.js";

/** The catalogue shipped with danelab (lab/scenarios/*.yaml, next to the compiled or source tree). */
export function builtinScenarioDir(): string {
  const here = fileURLToPath(new URL(".", import.meta.url));
  // Source tree: lab/catalogue → lab/scenarios. Compiled tree: dist/lab/catalogue → lab/scenarios of the package.
  for (const candidate of [join(here, "../scenarios"), join(here, "../../../lab/scenarios")]) {
    try {
      if (statSync(candidate).isDirectory()) return candidate;
    } catch {}
  }
  throw new Error(`danelab cannot find its scenario catalogue (looked next to ${here}); is the package complete?`);
}

/** Every problem found in the scenario files, one `file:line: message` per line. */
export class CatalogueError extends Error {
  constructor(readonly problems: string[]) {
    super(
      `The scenario catalogue has ${problems.length} problem${problems.length === 1 ? "" : "s"}:\n` +
        problems.map((p) => `  ${p}`).join("\n") +
        "\nFix the file(s) named above (the format is described in docs/scenarios.md), or leave them out with --only/--group.",
    );
    this.name = "CatalogueError";
  }
}

export interface LoadOptions {
  /** Directories of scenario files; the built-in catalogue unless replaced. */
  dirs?: string[];
  /** Extra directories added to the built-in catalogue (--scenarios DIR). */
  extraDirs?: string[];
  only?: string[];
  groups?: string[];
}

export function select(scenarios: LoadedScenario[], options: LoadOptions): LoadedScenario[] {
  let chosen = scenarios;
  if (options.only?.length) {
    const ids = new Set(scenarios.map((s) => s.id));
    const unknown = options.only.filter((id) => !ids.has(id));
    if (unknown.length)
      throw new CatalogueError([
        `--only names scenario(s) not in the catalogue: ${unknown.join(", ")}. Known ids: ${[...ids].join(", ")}.`,
      ]);
    chosen = chosen.filter((s) => options.only!.includes(s.id));
  }
  if (options.groups?.length) {
    const groups = new Set(scenarios.map((s) => s.group));
    const unknown = options.groups.filter((g) => !groups.has(g));
    if (unknown.length)
      throw new CatalogueError([
        `--group names unknown group(s): ${unknown.join(", ")}. Groups: ${[...groups].join(", ")}.`,
      ]);
    chosen = chosen.filter((s) => options.groups!.includes(s.group));
  }
  return chosen;
}
