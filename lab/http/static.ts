// What the HTTP API serves outside /api/: the files of a web UI directory (when the lab is given one), or else a small
// HTML page that lists the endpoints and the scenarios, so a browser pointed at http://127.0.0.1:8025 shows where to
// go. Also finds danelab's own version for /api/health.
import { readFileSync } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { dirname, extname, join, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { withoutTrailingDot } from "../../zones/names.js";
import type { Manifest } from "../manifest.js";

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".txt": "text/plain; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".woff2": "font/woff2",
};

/**
 * Serves `urlPath` from `dir` (`/` → index.html). Returns false when there is no such file. Paths that would leave
 * `dir` (`..`, encoded or not) are treated as missing.
 */
export async function serveStatic(
  dir: string,
  urlPath: string,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<boolean> {
  const root = resolve(dir);
  let rel: string;
  try {
    rel = decodeURIComponent(urlPath);
  } catch {
    return false;
  }
  if (rel.includes("\0")) return false;
  let file = resolve(root, `.${rel.startsWith("/") ? rel : `/${rel}`}`);
  if (file !== root && !file.startsWith(root + sep)) return false;
  try {
    if ((await stat(file)).isDirectory()) file = join(file, "index.html");
    const body = await readFile(file);
    res.writeHead(200, {
      "content-type": TYPES[extname(file).toLowerCase()] ?? "application/octet-stream",
      "content-length": body.length,
      "x-content-type-options": "nosniff",
    });
    res.end(req.method === "HEAD" ? undefined : body);
    return true;
  } catch {
    return false;
  }
}

/** The page at `/` when no web UI is installed: the endpoints (GET ones as links) and the scenarios. */
export function indexPage(
  endpoints: readonly { method: string; path: string; what: string }[],
  manifest: Manifest,
  version: string,
): string {
  const rows = endpoints
    .map((e) => {
      const bare = e.path.split("?")[0]!;
      const link =
        e.method === "GET" && !bare.includes("<") ? `<a href="${html(bare)}">${html(e.path)}</a>` : html(e.path);
      return `<tr><td>${e.method}</td><td><code>${link}</code></td><td>${html(e.what)}</td></tr>`;
    })
    .join("\n");
  const scenarios = manifest.scenarios
    .map(
      (s) =>
        `<tr><td><a href="/api/scenarios/${encodeURIComponent(s.id)}"><code>${html(s.id)}</code></a></td>` +
        `<td>${html(s.expect)}</td><td>${html(s.title)}</td></tr>`,
    )
    .join("\n");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>danelab</title>
<style>body{font-family:system-ui,sans-serif;margin:2em;max-width:70em}td{padding:.15em .8em;vertical-align:top}
code{font-size:.95em}</style></head>
<body>
<h1>danelab ${html(version)}</h1>
<p>A lab of DANE-protected mail servers. Send mail to <code>run-&lt;id&gt;@&lt;scenario&gt;.${html(withoutTrailingDot(manifest.suffix))}</code>,
then read the verdicts at <a href="/api/report?format=table">/api/report?format=table</a> (add <code>&amp;run=&lt;id&gt;</code>).</p>
<h2>API</h2>
<table>
${rows}
</table>
<h2>Scenarios (${manifest.scenarios.length})</h2>
<table>
${scenarios}
</table>
</body></html>
`;
}

function html(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

let cachedVersion: string | undefined;

/** danelab's version from its package.json, found by walking up from this module (works from lab/ and dist/lab/). */
export function packageVersion(): string {
  if (cachedVersion !== undefined) return cachedVersion;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { name?: string; version?: string };
      if (pkg.name === "danelab" && pkg.version) {
        cachedVersion = pkg.version;
        return cachedVersion;
      }
    } catch {
      // not here: one level up
    }
    dir = dirname(dir);
  }
  cachedVersion = "unknown";
  return cachedVersion;
}
