// The validated catalogue, remembered in the state directory: a warm start whose scenario files have not changed
// (same names, same bytes) reads one JSON file instead of parsing fifty YAML files and loading the schema library —
// about a quarter of a second of a start that should take under one. Any change re-validates everything.
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { LoadedScenario } from "./load.js";
import { builtinScenarioDir, type LoadOptions, select } from "./select.js";

const CACHE_VERSION = 1;

/** Every scenario file of the catalogue directories (all of them: selection happens after). */
export async function loadCatalogueCached(cacheFile: string, options: LoadOptions): Promise<LoadedScenario[]> {
  const dirs = [...(options.dirs ?? [builtinScenarioDir()]), ...(options.extraDirs ?? [])];
  const hash = createHash("sha256");
  hash.update(`v${CACHE_VERSION}\n`);
  // The schema's defaults shape the cached result: a new danelab version re-validates.
  for (const module of ["schema", "load"]) {
    for (const ext of [".js", ".ts"]) {
      try {
        hash.update(readFileSync(new URL(`./${module}${ext}`, import.meta.url))); // compiled, or run from source
        break;
      } catch {}
    }
  }
  try {
    for (const dir of dirs) {
      for (const f of readdirSync(dir)
        .filter((n) => /\.ya?ml$/.test(n))
        .sort()) {
        hash.update(`${join(dir, f)}\n`);
        hash.update(readFileSync(join(dir, f)));
      }
    }
  } catch {
    // An unreadable directory or file: let the full loader report it properly.
    const { loadCatalogue } = await import("./load.js");
    return loadCatalogue(options);
  }
  const fingerprint = hash.digest("hex");
  try {
    const cached = JSON.parse(readFileSync(cacheFile, "utf8")) as { fingerprint: string; scenarios: LoadedScenario[] };
    if (cached.fingerprint === fingerprint) return select(cached.scenarios, options);
  } catch {}
  const { loadCatalogue } = await import("./load.js");
  const all = loadCatalogue({ ...options, only: [], groups: [] });
  const tmp = `${cacheFile}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify({ fingerprint, scenarios: all }), { mode: 0o600 });
  renameSync(tmp, cacheFile);
  return select(all, options);
}
