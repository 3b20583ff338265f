// Reading a request and writing an answer for the lab's HTTP API (api.ts): query parameters and JSON bodies checked
// strictly — an unknown parameter, a malformed id or a body that is not the expected JSON is a 400 naming what to send
// instead — and JSON or text answers that are never cached. A problem becomes an HttpError, which api.ts turns into
// `{ "error": "…" }` with its status.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { EventFilter } from "../events.js";

/** A request the client got wrong: becomes `{ error }` with this status. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export const RUN_ID = /^[A-Za-z0-9._-]{1,128}$/;
export const SCENARIO_ID = /^[A-Za-z0-9._-]{1,200}$/;
export const MESSAGE_ID = /^[A-Za-z0-9._-]{1,255}$/;
const MAX_BODY = 4096;

export function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  send(res, status, "application/json; charset=utf-8", `${JSON.stringify(body)}\n`, headers);
}

export function send(
  res: ServerResponse,
  status: number,
  type: string,
  body: string,
  headers: Record<string, string> = {},
) {
  const buf = Buffer.from(body);
  res.writeHead(status, {
    "content-type": type,
    "content-length": buf.length,
    "cache-control": "no-store",
    ...headers,
  });
  res.end(buf);
}

export function allow(method: string, allowed: string[]): void {
  if (!allowed.includes(method)) {
    throw new HttpError(405, `${method} is not allowed here; use ${allowed.join(" or ")}`, {
      allow: allowed.includes("GET") ? [...allowed, "HEAD"].join(", ") : allowed.join(", "),
    });
  }
}

export function decodeSegment(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new HttpError(400, `"${s}" is not a valid URL path segment (bad %-encoding)`);
  }
}

/** Unknown query parameters are refused, so a typo (`?runs=1`) is an error rather than a silently ignored filter. */
export function onlyParams(url: URL, known: string[]): void {
  for (const key of url.searchParams.keys()) {
    if (!known.includes(key)) {
      throw new HttpError(
        400,
        `unknown query parameter "${key}"` +
          (known.length ? `; this endpoint takes ${known.join(", ")}` : "; this endpoint takes none"),
      );
    }
  }
}

export function intParam(url: URL, name: string, min: number): number | undefined {
  const v = url.searchParams.get(name);
  if (v === null || v === "") return undefined;
  if (!/^\d{1,15}$/.test(v) || Number(v) < min) {
    throw new HttpError(
      400,
      `${name} must be a whole number ≥ ${min}${name === "since" ? " (an event seq)" : ""}, not "${v}"`,
    );
  }
  return Number(v);
}

export function textParam(url: URL, name: string, pattern: RegExp, what: string): string | undefined {
  const v = url.searchParams.get(name);
  if (v === null || v === "") return undefined;
  if (!pattern.test(v)) throw new HttpError(400, `${name}="${v}" is not valid: expected ${what}`);
  return v;
}

/** `scenario=a,b`: only those scenarios' grades (what `danelab watch` sent); an id the lab does not have is a 400. */
export function onlyScenarios<T extends { scenario: string }>(grades: T[], url: URL): T[] {
  const v = url.searchParams.get("scenario");
  if (v === null || v === "") return grades;
  const ids = v.split(",").map((id) => id.trim());
  const bad = ids.find((id) => !SCENARIO_ID.test(id));
  if (bad !== undefined)
    throw new HttpError(400, `scenario="${v}" is not valid: expected scenario ids such as ta-baseline,seed-mx06`);
  const known = new Set(grades.map((g) => g.scenario));
  const unknown = ids.filter((id) => !known.has(id));
  if (unknown.length > 0) {
    throw new HttpError(400, `this lab has no scenario ${unknown.join(", ")} (GET /api/scenarios lists them)`);
  }
  return grades.filter((g) => ids.includes(g.scenario));
}

export function eventFilter(url: URL): { log: EventFilter; kinds: Set<string> | undefined } {
  const scenario = textParam(url, "scenario", SCENARIO_ID, "a scenario id such as ta-baseline");
  const kind = url.searchParams.get("kind");
  let kinds: Set<string> | undefined;
  if (kind !== null && kind !== "") {
    const list = kind.split(",").map((k) => k.trim());
    if (list.some((k) => !/^[a-z][a-z0-9-]{0,40}$/.test(k))) {
      throw new HttpError(400, `kind="${kind}" is not valid: expected event kinds such as tls or tls-error,message`);
    }
    kinds = new Set(list);
  }
  return { log: scenario !== undefined ? { scenario } : {}, kinds };
}

export async function readJsonBody(req: IncomingMessage): Promise<object> {
  const type = (req.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase();
  if (type !== "application/json") {
    throw new HttpError(
      415,
      'send the body as JSON with "Content-Type: application/json", e.g. {"address": "127.0.0.9"}',
    );
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY)
      throw new HttpError(413, `the body is larger than ${MAX_BODY} bytes; send {"address": "…"} only`);
    chunks.push(chunk);
  }
  let body: unknown;
  try {
    body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch {
    throw new HttpError(400, 'the body is not valid JSON; send {"address": "127.0.0.9"}');
  }
  if (!body || typeof body !== "object" || Array.isArray(body)) {
    throw new HttpError(400, 'the body must be a JSON object such as {"address": "127.0.0.9"}');
  }
  return body;
}
