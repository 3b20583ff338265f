// Where the built web UI lives, for the HTTP API's static files.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The built web UI (`npm run build` → dist/ui), found from this module whether it runs from the sources (lab/) or
 * the build (dist/lab/); undefined when it has not been built, and the API then serves its endpoint list at `/`.
 */
export function findUiDir(): string | undefined {
  const here = fileURLToPath(new URL(".", import.meta.url));
  for (const dir of [join(here, "..", "ui"), join(here, "..", "dist", "ui")]) {
    if (existsSync(join(dir, "index.html"))) return dir;
  }
  return undefined;
}
