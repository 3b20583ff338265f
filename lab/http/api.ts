// The lab's HTTP API (default http://127.0.0.1:8025, Mailpit's port): what clients/, users' scripts, CI and the web UI
// read from a running lab — the manifest and scenarios, the event log (polling with `since`, or live as server-sent
// events with Last-Event-ID resume), the received mail, the grader's report in every format, and the greylisting
// allow-list. JSON in and out; plain node:http, no framework. Every endpoint is listed in ENDPOINTS below (and on the
// HTML page served at `/` when no web UI directory is given).
//
// Errors are JSON `{ "error": "<what is wrong and what to send instead>" }`: 404 for an unknown path, 405 for a wrong
// method, 400 for a bad query or body. The API has no authentication, so it listens on loopback and lab/http/guard.ts
// refuses (403) requests whose Host does not name it (DNS rebinding) and writes whose Origin is another site. The
// writes (POST /api/greylist/…) also require `Content-Type: application/json`, which a cross-origin page can only
// send after a CORS preflight this server never approves. Every answer carries `X-Content-Type-Options: nosniff`, so
// a stored message served as text/plain is never run as a script.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { isIP } from "node:net";
import { ListenError } from "../dns/errors.js";
import type { EventFilter, EventLog, LabEvent } from "../events.js";
import type { ScenarioGrade } from "../grade/index.js";
import type { Manifest } from "../manifest.js";
import { formatReport, isReportFormat, REPORT_FORMATS } from "../report.js";
import type { MailStore, StoredMessage } from "../smtp/store.js";
import { type HostGuard, hostGuard } from "./guard.js";
import { indexPage, packageVersion, serveStatic } from "./static.js";

export interface HttpApiOptions {
  address: string;
  /** 0 picks a free port (tests); the chosen one is in the returned `url`. */
  port: number;
  /** The current manifest (a function: the lab fills in the HTTP URL after binding). */
  manifest: () => Manifest;
  events: Pick<EventLog, "since" | "subscribe" | "lastSeq">;
  store: Pick<MailStore, "list" | "read">;
  allowList: { add(address: string): void; has(address: string): boolean; list(): string[] };
  /** Re-arms greylisting for one client address or all (POST /api/greylist/reset); absent = the endpoint answers 404. */
  resetGreylist?: (client?: string) => void;
  /** The grader for one run (`run-<id>` recipients) or all traffic. */
  grade: (run?: string) => ScenarioGrade[];
  /**
   * More about one scenario for GET /api/scenarios/<id> (the web UI's scenario page): DNS records with their DNSSEC
   * status, presented chains with TLSA matches, inspect commands — lab/ui-data.ts `scenarioDetail`. Its fields are
   * added to the manifest entry.
   */
  scenarioDetail?: (id: string) => object | undefined;
  /** The `danelab check` matrices in the state directory (lab/check-results.ts `checkResults`), for GET /api/checks. */
  checks?: { list(): object[]; get(id: string): object | undefined };
  /** Serve these files at `/` (the web UI) instead of the built-in endpoint list. */
  staticDir?: string | undefined;
  /** SSE keep-alive comment interval; default 15 s. */
  heartbeatMs?: number;
  /**
   * Host names besides the bound address and `localhost` that requests may name in `Host` (a reverse proxy's name, an
   * /etc/hosts alias). Everything else is refused as a possible DNS rebinding (lab/http/guard.ts).
   */
  allowedHosts?: readonly string[];
  /** Live event streams open at once; one more gets 503 (default 32: a classroom of web UIs). */
  maxStreams?: number;
  /** TCP connections open at once; more are closed by the kernel-side accept (default 256). */
  maxConnections?: number;
}

export interface HttpApi {
  url: string;
  address: string;
  port: number;
  close(): Promise<void>;
}

/** Every endpoint, for the index page and for 404 messages. */
export const ENDPOINTS: readonly { method: string; path: string; what: string }[] = [
  { method: "GET", path: "/api/health", what: "liveness: ok, version, uptime, number of scenarios, newest event seq" },
  { method: "GET", path: "/api/manifest", what: "the manifest (same as <state>/manifest.json)" },
  { method: "GET", path: "/api/scenarios", what: "the scenarios of this lab (id, expect, MX hosts, TLSA records…)" },
  {
    method: "GET",
    path: "/api/scenarios/<id>",
    what: "one scenario, with its DNS records and DNSSEC status, presented chains, TLSA matches and inspect commands",
  },
  { method: "GET", path: "/api/events?since=&scenario=&kind=&limit=", what: "events with seq > since (array)" },
  {
    method: "GET",
    path: "/api/events/stream?since=&scenario=&kind=",
    what: "live events as server-sent events (id = seq; resumes from Last-Event-ID)",
  },
  { method: "GET", path: "/api/messages?scenario=&run=", what: "received messages (metadata)" },
  { method: "GET", path: "/api/messages/<id>", what: "one message's metadata" },
  { method: "GET", path: "/api/messages/<id>/raw", what: "one message as stored (trace fields + content)" },
  {
    method: "GET",
    path: "/api/report?run=&format=&scenario=",
    what: `verdict per scenario (scenario=a,b: only those); format ${REPORT_FORMATS.join(" | ")} (json default)`,
  },
  { method: "GET", path: "/api/checks", what: "the scenario × client matrices of `danelab check` runs, newest first" },
  { method: "GET", path: "/api/checks/<id>", what: "one matrix (as its matrix.json)" },
  { method: "GET", path: "/api/greylist", what: "client addresses that skip greylisting" },
  { method: "POST", path: "/api/greylist/allow", what: 'add one: body {"address": "127.0.0.9"}' },
  {
    method: "POST",
    path: "/api/greylist/reset",
    what: 'greylist a client again as on its first visit: body {"address": "127.0.0.9"}, or {} for every client',
  },
];

/** A request the client got wrong: becomes `{ error }` with this status. */
class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

const RUN_ID = /^[A-Za-z0-9._-]{1,128}$/;
const SCENARIO_ID = /^[A-Za-z0-9._-]{1,200}$/;
const MESSAGE_ID = /^[A-Za-z0-9._-]{1,255}$/;
const MAX_BODY = 4096;
/** A stream client this far behind is dropped; it reconnects and resumes with Last-Event-ID. */
const MAX_SSE_BUFFER = 8 * 1024 * 1024;

export async function startHttpApi(options: HttpApiOptions): Promise<HttpApi> {
  const started = Date.now();
  const version = packageVersion();
  const streams = new Set<ServerResponse>();
  const sockets = new Set<Socket>();
  const heartbeatMs = options.heartbeatMs ?? 15_000;
  const maxStreams = options.maxStreams ?? 32;
  let guard: HostGuard | undefined; // set once bound: the Host check needs the port actually chosen

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    res.setHeader("x-content-type-options", "nosniff");
    const hostProblem = guard!.hostProblem(req.headers.host);
    if (hostProblem) throw new HttpError(403, hostProblem);
    if (req.method !== "GET" && req.method !== "HEAD") {
      const originProblem = guard!.originProblem(req.headers.origin);
      if (originProblem) throw new HttpError(403, originProblem);
    }
    const url = new URL(req.url ?? "/", "http://lab.invalid");
    const path = url.pathname;
    const method = req.method === "HEAD" ? "GET" : (req.method ?? "GET");

    if (!path.startsWith("/api/") && path !== "/api") {
      allow(method, ["GET"]);
      if (options.staticDir) {
        if (await serveStatic(options.staticDir, path, req, res)) return;
        throw new HttpError(404, `no file ${path} in the web UI directory`);
      }
      if (path === "/" || path === "/index.html") {
        send(res, 200, "text/html; charset=utf-8", indexPage(ENDPOINTS, options.manifest(), version));
        return;
      }
      throw notFound(path);
    }

    const parts = path.split("/").slice(2).map(decodeSegment); // "/api/a/b" → ["a", "b"]
    const [first, second, third] = parts;
    if (parts.length > 3 || parts.some((p) => p === "")) throw notFound(path);

    switch (first) {
      case "health": {
        allow(method, ["GET"]);
        onlyParams(url, []);
        json(res, 200, {
          ok: true,
          version,
          uptime: Math.round((Date.now() - started) / 1000),
          scenarios: options.manifest().scenarios.length,
          lastSeq: options.events.lastSeq,
        });
        return;
      }
      case "manifest": {
        allow(method, ["GET"]);
        onlyParams(url, []);
        if (second !== undefined) throw notFound(path);
        json(res, 200, publicManifest(options.manifest()));
        return;
      }
      case "scenarios": {
        allow(method, ["GET"]);
        onlyParams(url, []);
        const scenarios = options.manifest().scenarios;
        if (second === undefined) return json(res, 200, scenarios);
        if (third !== undefined) throw notFound(path);
        const scenario = scenarios.find((s) => s.id === second);
        if (!scenario) throw new HttpError(404, `no scenario "${second}" in this lab (GET /api/scenarios lists them)`);
        return json(res, 200, { ...scenario, ...(options.scenarioDetail?.(scenario.id) ?? {}) });
      }
      case "events": {
        allow(method, ["GET"]);
        if (second === "stream" && third === undefined) return stream(req, res, url);
        if (second !== undefined) throw notFound(path);
        onlyParams(url, ["since", "scenario", "kind", "limit"]);
        const since = intParam(url, "since", 0) ?? 0;
        const limit = intParam(url, "limit", 1);
        const filter = eventFilter(url);
        let events = options.events.since(since, filter.log);
        if (filter.kinds) events = events.filter((e) => filter.kinds!.has(e.kind));
        if (limit !== undefined) events = events.slice(0, limit);
        return json(res, 200, events.map(publicEvent));
      }
      case "messages": {
        allow(method, ["GET"]);
        if (second === undefined) {
          onlyParams(url, ["scenario", "run"]);
          const scenario = textParam(url, "scenario", SCENARIO_ID, "a scenario id such as ta-baseline");
          const run = textParam(url, "run", RUN_ID, "a run id (letters, digits, '.', '_', '-')");
          let list = options.store.list(scenario !== undefined ? { scenario } : {});
          if (run !== undefined) list = list.filter((m) => m.run === run);
          return json(res, 200, list.map(publicMessage));
        }
        onlyParams(url, []);
        if (!MESSAGE_ID.test(second))
          throw new HttpError(400, `"${second}" is not a message id (GET /api/messages lists them)`);
        const message = options.store.list().find((m) => m.id === second);
        if (!message)
          throw new HttpError(404, `no message "${second}" in the mail store (GET /api/messages lists them)`);
        if (third === undefined) return json(res, 200, publicMessage(message));
        if (third !== "raw") throw notFound(path);
        const raw = options.store.read(message.scenario, message.id);
        if (!raw) throw new HttpError(404, `message "${second}" is listed but its file is gone from the mail store`);
        res.writeHead(200, { "content-type": "text/plain; charset=utf-8", "content-length": raw.length });
        res.end(raw);
        return;
      }
      case "report": {
        allow(method, ["GET"]);
        if (second !== undefined) throw notFound(path);
        onlyParams(url, ["run", "format", "scenario"]);
        const run = textParam(
          url,
          "run",
          RUN_ID,
          "the <id> of your run-<id>@… recipients (letters, digits, '.', '_', '-')",
        );
        const format = url.searchParams.get("format") ?? "json";
        if (!isReportFormat(format)) {
          throw new HttpError(400, `unknown report format "${format}": choose one of ${REPORT_FORMATS.join(", ")}`);
        }
        const grades = onlyScenarios(options.grade(run), url);
        const text = formatReport(grades, format, { run });
        const type = {
          json: "application/json; charset=utf-8",
          table: "text/plain; charset=utf-8",
          markdown: "text/markdown; charset=utf-8",
          junit: "application/xml; charset=utf-8",
        }[format];
        return send(res, 200, type, `${text}\n`);
      }
      case "checks": {
        allow(method, ["GET"]);
        onlyParams(url, []);
        if (third !== undefined) throw notFound(path);
        if (second === undefined) return json(res, 200, options.checks?.list() ?? []);
        const matrix = options.checks?.get(second);
        if (!matrix) throw new HttpError(404, `no check result "${second}" in this lab (GET /api/checks lists them)`);
        return json(res, 200, matrix);
      }
      case "greylist": {
        if (second === undefined) {
          allow(method, ["GET"]);
          onlyParams(url, []);
          return json(res, 200, { addresses: options.allowList.list() });
        }
        const reset = second === "reset" ? options.resetGreylist : undefined;
        if ((second !== "allow" && !reset) || third !== undefined) throw notFound(path);
        allow(method, ["POST"]);
        onlyParams(url, []);
        const body = await readJsonBody(req);
        const address = (body as { address?: unknown }).address;
        if (reset && address === undefined) {
          reset();
          return json(res, 200, { ok: true, address: null });
        }
        if (typeof address !== "string" || isIP(address.trim().replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, "")) === 0) {
          throw new HttpError(
            400,
            `${JSON.stringify(address ?? null)} is not an IP address. Send the address your MTA connects from, ` +
              'e.g. {"address": "127.0.0.9"} (IPv4 or IPv6, no port, no CIDR range)' +
              (reset ? ", or {} to re-arm greylisting for every client." : "."),
          );
        }
        if (reset) {
          reset(address.trim());
          return json(res, 200, { ok: true, address: address.trim() });
        }
        options.allowList.add(address.trim());
        return json(res, 200, { ok: true, address: address.trim(), addresses: options.allowList.list() });
      }
      default:
        throw notFound(path);
    }
  };

  /** Server-sent events: backlog after `since`/Last-Event-ID, then every new event, one `id:`/`data:` block each. */
  const stream = (req: IncomingMessage, res: ServerResponse, url: URL): void => {
    onlyParams(url, ["since", "scenario", "kind"]);
    const header = req.headers["last-event-id"];
    let last: number;
    if (typeof header === "string" && header.trim() !== "") {
      if (!/^\d+$/.test(header.trim()))
        throw new HttpError(400, `Last-Event-ID must be an event seq number, not "${header}"`);
      last = Number(header.trim());
    } else {
      // Without since, only new events: a UI loads the backlog from GET /api/events first.
      last = intParam(url, "since", 0) ?? options.events.lastSeq;
    }
    const filter = eventFilter(url);
    const matches = (e: LabEvent) =>
      (filter.log.scenario === undefined || e.scenario === filter.log.scenario) &&
      (filter.kinds === undefined || filter.kinds.has(e.kind));
    const headers = {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache, no-transform",
      "x-accel-buffering": "no",
    };
    // HEAD: the headers a GET would get, and the end (a HEAD response has no body, so it must not stay open).
    if (req.method === "HEAD") {
      res.writeHead(200, headers);
      res.end();
      return;
    }
    if (streams.size >= maxStreams) {
      throw new HttpError(
        503,
        `${streams.size} live event streams are open, the most this lab serves at once; close a web UI tab or ` +
          "poll GET /api/events?since=<seq> instead, and retry in a few seconds",
        { "retry-after": "5" },
      );
    }

    res.writeHead(200, { ...headers, connection: "keep-alive" });
    res.write("retry: 2000\n\n");
    streams.add(res);
    const push = (e: LabEvent) => {
      if (e.seq <= last || !matches(e)) return;
      last = e.seq;
      res.write(`id: ${e.seq}\ndata: ${JSON.stringify(publicEvent(e))}\n\n`);
      if (res.writableLength > MAX_SSE_BUFFER) res.destroy();
    };
    // since() and subscribe() run in the same tick: no event can slip between the backlog and the live feed.
    for (const e of options.events.since(last, filter.log)) push(e);
    const unsubscribe = options.events.subscribe(push);
    const heartbeat = setInterval(() => res.write(": keep-alive\n\n"), heartbeatMs);
    heartbeat.unref();
    const done = () => {
      unsubscribe();
      clearInterval(heartbeat);
      streams.delete(res);
    };
    res.on("close", done);
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (err instanceof HttpError) {
        json(res, err.status, { error: err.message }, err.headers);
      } else {
        json(res, 500, { error: `internal error in the lab's HTTP API: ${(err as Error)?.message ?? err}` });
      }
    });
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  server.on("clientError", (_err, socket) => {
    if (socket.writable) socket.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n");
  });
  server.maxConnections = options.maxConnections ?? 256;

  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => reject(httpListenError(err, options.address, options.port));
    server.once("error", onError);
    server.listen(options.port, options.address, () => {
      server.off("error", onError);
      resolve();
    });
  });
  const bound = server.address();
  const port = typeof bound === "object" && bound ? bound.port : options.port;
  const host = options.address.includes(":") ? `[${options.address}]` : options.address;
  guard = hostGuard(options.address, port, options.allowedHosts);

  return {
    url: `http://${host}:${port}`,
    address: options.address,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of streams) res.end();
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      }),
  };
}

/** The HTTP API could not bind: one paragraph with the cause and the fix, like the DNS and SMTP listeners. */
export function httpListenError(err: NodeJS.ErrnoException, address: string, port: number): ListenError {
  const code = err.code ?? "UNKNOWN";
  const where = `${address}:${port}`;
  let message: string;
  switch (code) {
    case "EADDRINUSE":
      message =
        `The lab's HTTP API cannot listen on ${where}: that address and port are already in use — most likely another ` +
        `danelab, or Mailpit, which uses the same port (\`ss -ltnp 'sport = :${port}'\` shows which program). Stop ` +
        "the other program, or give the API another port with --http-port PORT (or another 127.x.y.z address with " +
        "--http-address), or start without it with --no-http.";
      break;
    case "EACCES":
    case "EPERM":
      message =
        `The lab's HTTP API is not allowed to listen on ${where}` +
        (port < 1024 ? ": ports below 1024 need root or CAP_NET_BIND_SERVICE. " : ` (${err.message}). `) +
        "Choose a port of 1024 or above with --http-port (the default is 8025).";
      break;
    case "EADDRNOTAVAIL":
      message =
        `The lab's HTTP API cannot listen on ${where}: ${address} is not an address of this machine. Use a ` +
        "127.x.y.z address with --http-address (the default is 127.0.0.1).";
      break;
    default:
      message =
        `The lab's HTTP API cannot listen on ${where}: ${err.message} (${code}). Check --http-address and ` +
        "--http-port, or start without the API with --no-http.";
  }
  return new ListenError(message, { code, address, port, transport: "tcp" });
}

// ---------------------------------------------------------------------------------------------------------------

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  send(res, status, "application/json; charset=utf-8", `${JSON.stringify(body)}\n`, headers);
}

function send(res: ServerResponse, status: number, type: string, body: string, headers: Record<string, string> = {}) {
  const buf = Buffer.from(body);
  res.writeHead(status, {
    "content-type": type,
    "content-length": buf.length,
    "cache-control": "no-store",
    ...headers,
  });
  res.end(buf);
}

function notFound(path: string): HttpError {
  return new HttpError(
    404,
    `no endpoint ${path}. The API has: ${ENDPOINTS.map((e) => `${e.method} ${e.path.split("?")[0]}`).join(", ")}`,
  );
}

function allow(method: string, allowed: string[]): void {
  if (!allowed.includes(method)) {
    throw new HttpError(405, `${method} is not allowed here; use ${allowed.join(" or ")}`, {
      allow: allowed.includes("GET") ? [...allowed, "HEAD"].join(", ") : allowed.join(", "),
    });
  }
}

function decodeSegment(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new HttpError(400, `"${s}" is not a valid URL path segment (bad %-encoding)`);
  }
}

/** Unknown query parameters are refused, so a typo (`?runs=1`) is an error rather than a silently ignored filter. */
function onlyParams(url: URL, known: string[]): void {
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

function intParam(url: URL, name: string, min: number): number | undefined {
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

function textParam(url: URL, name: string, pattern: RegExp, what: string): string | undefined {
  const v = url.searchParams.get(name);
  if (v === null || v === "") return undefined;
  if (!pattern.test(v)) throw new HttpError(400, `${name}="${v}" is not valid: expected ${what}`);
  return v;
}

/** `scenario=a,b`: only those scenarios' grades (what `danelab watch` sent); an id the lab does not have is a 400. */
function onlyScenarios<T extends { scenario: string }>(grades: T[], url: URL): T[] {
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

function eventFilter(url: URL): { log: EventFilter; kinds: Set<string> | undefined } {
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

async function readJsonBody(req: IncomingMessage): Promise<object> {
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

/** The manifest without the state directory's absolute path (the API tells no file system layout). */
function publicManifest(m: Manifest): Omit<Manifest, "stateDir"> {
  const { stateDir: _stateDir, ...rest } = m;
  return rest;
}

/** An event without a file path (message events carry where the store put the file). */
function publicEvent(e: LabEvent): LabEvent {
  if (!("path" in e)) return e;
  const { path: _path, ...rest } = e;
  return rest as LabEvent;
}

/** Message metadata without the server's file path. */
function publicMessage(m: StoredMessage): Omit<StoredMessage, "path"> & { raw: string } {
  const { path: _path, ...rest } = m;
  return { ...rest, raw: `/api/messages/${encodeURIComponent(m.id)}/raw` };
}
