// What each endpoint of the lab's HTTP API answers (api.ts runs the server and checks Host/Origin first): the routing
// of a path to its handler, and the handlers. Every endpoint is listed in ENDPOINTS (and on the HTML page served at
// `/` when no web UI directory is given); an unknown path gets 404 with that list, a wrong method 405. Answers carry no
// path of this machine: the manifest without its state directory, events and messages without their file.
import type { IncomingMessage, ServerResponse } from "node:http";
import { isIP } from "node:net";
import type { EventLog } from "../events.js";
import type { ScenarioGrade } from "../grade/index.js";
import type { Manifest } from "../manifest.js";
import { formatReport, isReportFormat, REPORT_FORMATS } from "../report.js";
import type { MailStore, StoredMessage } from "../smtp/store.js";
import { type EventStreams, publicEvent } from "./event-stream.js";
import {
  allow,
  decodeSegment,
  eventFilter,
  HttpError,
  intParam,
  json,
  MESSAGE_ID,
  onlyParams,
  onlyScenarios,
  RUN_ID,
  readJsonBody,
  SCENARIO_ID,
  send,
  textParam,
} from "./request.js";
import { indexPage, serveStatic } from "./static.js";

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

/** What the handlers read and change (api.ts's options, plus the server's own state). */
export interface RouteContext {
  manifest: () => Manifest;
  events: Pick<EventLog, "since" | "lastSeq">;
  store: Pick<MailStore, "list" | "read">;
  allowList: { add(address: string): void; list(): string[] };
  resetGreylist?: ((client?: string) => void) | undefined;
  grade: (run?: string) => ScenarioGrade[];
  scenarioDetail?: ((id: string) => object | undefined) | undefined;
  checks?: { list(): object[]; get(id: string): object | undefined } | undefined;
  staticDir?: string | undefined;
  /** The package version and start time, for /api/health. */
  version: string;
  started: number;
  streams: EventStreams;
}

/** Answers one request that passed the Host/Origin guard; throws HttpError for what the client got wrong. */
export async function route(req: IncomingMessage, res: ServerResponse, ctx: RouteContext): Promise<void> {
  const url = new URL(req.url ?? "/", "http://lab.invalid");
  const path = url.pathname;
  const method = req.method === "HEAD" ? "GET" : (req.method ?? "GET");

  if (!path.startsWith("/api/") && path !== "/api") {
    allow(method, ["GET"]);
    if (ctx.staticDir) {
      if (await serveStatic(ctx.staticDir, path, req, res)) return;
      throw new HttpError(404, `no file ${path} in the web UI directory`);
    }
    if (path === "/" || path === "/index.html") {
      send(res, 200, "text/html; charset=utf-8", indexPage(ENDPOINTS, ctx.manifest(), ctx.version));
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
        version: ctx.version,
        uptime: Math.round((Date.now() - ctx.started) / 1000),
        scenarios: ctx.manifest().scenarios.length,
        lastSeq: ctx.events.lastSeq,
      });
      return;
    }
    case "manifest": {
      allow(method, ["GET"]);
      onlyParams(url, []);
      if (second !== undefined) throw notFound(path);
      json(res, 200, publicManifest(ctx.manifest()));
      return;
    }
    case "scenarios": {
      allow(method, ["GET"]);
      onlyParams(url, []);
      const scenarios = ctx.manifest().scenarios;
      if (second === undefined) return json(res, 200, scenarios);
      if (third !== undefined) throw notFound(path);
      const scenario = scenarios.find((s) => s.id === second);
      if (!scenario) throw new HttpError(404, `no scenario "${second}" in this lab (GET /api/scenarios lists them)`);
      return json(res, 200, { ...scenario, ...(ctx.scenarioDetail?.(scenario.id) ?? {}) });
    }
    case "events": {
      allow(method, ["GET"]);
      if (second === "stream" && third === undefined) return ctx.streams.open(req, res, url);
      if (second !== undefined) throw notFound(path);
      onlyParams(url, ["since", "scenario", "kind", "limit"]);
      const since = intParam(url, "since", 0) ?? 0;
      const limit = intParam(url, "limit", 1);
      const filter = eventFilter(url);
      let events = ctx.events.since(since, filter.log);
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
        let list = ctx.store.list(scenario !== undefined ? { scenario } : {});
        if (run !== undefined) list = list.filter((m) => m.run === run);
        return json(res, 200, list.map(publicMessage));
      }
      onlyParams(url, []);
      if (!MESSAGE_ID.test(second))
        throw new HttpError(400, `"${second}" is not a message id (GET /api/messages lists them)`);
      const message = ctx.store.list().find((m) => m.id === second);
      if (!message) throw new HttpError(404, `no message "${second}" in the mail store (GET /api/messages lists them)`);
      if (third === undefined) return json(res, 200, publicMessage(message));
      if (third !== "raw") throw notFound(path);
      const raw = ctx.store.read(message.scenario, message.id);
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
      const grades = onlyScenarios(ctx.grade(run), url);
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
      if (second === undefined) return json(res, 200, ctx.checks?.list() ?? []);
      const matrix = ctx.checks?.get(second);
      if (!matrix) throw new HttpError(404, `no check result "${second}" in this lab (GET /api/checks lists them)`);
      return json(res, 200, matrix);
    }
    case "greylist": {
      if (second === undefined) {
        allow(method, ["GET"]);
        onlyParams(url, []);
        return json(res, 200, { addresses: ctx.allowList.list() });
      }
      const reset = second === "reset" ? ctx.resetGreylist : undefined;
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
      ctx.allowList.add(address.trim());
      return json(res, 200, { ok: true, address: address.trim(), addresses: ctx.allowList.list() });
    }
    default:
      throw notFound(path);
  }
}

function notFound(path: string): HttpError {
  return new HttpError(
    404,
    `no endpoint ${path}. The API has: ${ENDPOINTS.map((e) => `${e.method} ${e.path.split("?")[0]}`).join(", ")}`,
  );
}

/** The manifest without the state directory's absolute path (the API tells no file system layout). */
function publicManifest(m: Manifest): Omit<Manifest, "stateDir"> {
  const { stateDir: _stateDir, ...rest } = m;
  return rest;
}

/** Message metadata without the server's file path. */
function publicMessage(m: StoredMessage): Omit<StoredMessage, "path"> & { raw: string } {
  const { path: _path, ...rest } = m;
  return { ...rest, raw: `/api/messages/${encodeURIComponent(m.id)}/raw` };
}
