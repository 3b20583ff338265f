// The scenario × client matrices `danelab check` (clients/check.ts) leaves in the lab's state directory, read back
// for the HTTP API (GET /api/checks, GET /api/checks/<id>). Files only: what they mean is the UI's business.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { CheckSummary } from "./ui/api-types.js";

const CHECK_ID = /^[A-Za-z0-9._-]{1,100}$/;

/**
 * The scenario × client matrices `danelab check` left in the lab's state directory, newest first — for
 * GET /api/checks and GET /api/checks/<id>. Read on each call (a check may finish while the lab runs); unreadable
 * or half-written files are skipped.
 */
export function checkResults(stateDir: string): { list(): CheckSummary[]; get(id: string): object | undefined } {
  const dir = join(stateDir, "checks");
  const read = (id: string): { generated?: string; columns?: { id: string }[]; rows?: unknown[] } | undefined => {
    if (!CHECK_ID.test(id)) return undefined;
    try {
      return JSON.parse(readFileSync(join(dir, id, "matrix.json"), "utf8"));
    } catch {
      return undefined;
    }
  };
  return {
    list() {
      let ids: string[];
      try {
        ids = readdirSync(dir, { withFileTypes: true })
          .filter((d) => d.isDirectory())
          .map((d) => d.name);
      } catch {
        return [];
      }
      return ids
        .flatMap((id) => {
          const m = read(id);
          if (!m || !Array.isArray(m.rows)) return [];
          return [
            { id, generated: m.generated ?? "", columns: (m.columns ?? []).map((c) => c.id), scenarios: m.rows.length },
          ];
        })
        .sort((a, b) => (a.generated < b.generated ? 1 : a.generated > b.generated ? -1 : 0));
    },
    get: read,
  };
}
