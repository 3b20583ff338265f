// The lab's HTTP API (default http://127.0.0.1:8025, Mailpit's port): what clients/, users' scripts, CI and the web UI
// read from a running lab — the manifest and scenarios, the event log (polling with `since`, or live as server-sent
// events with Last-Event-ID resume), the received mail, the grader's report in every format, and the greylisting
// allow-list. JSON in and out; plain node:http, no framework. This file runs the server; routes.ts answers each
// endpoint (all listed in ENDPOINTS there), event-stream.ts the live stream, request.ts checks queries and bodies.
//
// Errors are JSON `{ "error": "<what is wrong and what to send instead>" }`: 404 for an unknown path, 405 for a wrong
// method, 400 for a bad query or body. The API has no authentication, so it listens on loopback and lab/http/guard.ts
// refuses (403) requests whose Host does not name it (DNS rebinding) and writes whose Origin is another site. The two
// writes (POST /api/greylist/allow and POST /api/greylist/reset) also require `Content-Type: application/json`, which a
// cross-origin page can only send after a CORS preflight this server never approves. Every answer carries
// `X-Content-Type-Options: nosniff`, so a stored message served as text/plain is never run as a script.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import type { EventLog } from "../events.js";
import type { ScenarioGrade } from "../grade/index.js";
import { type ListenerDescription, listenError } from "../listen-error.js";
import type { Manifest } from "../manifest.js";
import type { MailStore } from "../smtp/store.js";
import { EventStreams } from "./event-stream.js";
import { type HostGuard, hostGuard } from "./guard.js";
import { HttpError, json } from "./request.js";
import { route } from "./routes.js";
import { packageVersion } from "./static.js";

export { ENDPOINTS } from "./routes.js";

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

export async function startHttpApi(options: HttpApiOptions): Promise<HttpApi> {
  const sockets = new Set<Socket>();
  const streams = new EventStreams({
    events: options.events,
    heartbeatMs: options.heartbeatMs ?? 15_000,
    maxStreams: options.maxStreams ?? 32,
  });
  const ctx = { ...options, version: packageVersion(), started: Date.now(), streams };
  let guard: HostGuard | undefined; // set once bound: the Host check needs the port actually chosen

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    res.setHeader("x-content-type-options", "nosniff");
    const hostProblem = guard!.hostProblem(req.headers.host);
    if (hostProblem) throw new HttpError(403, hostProblem);
    if (req.method !== "GET" && req.method !== "HEAD") {
      const originProblem = guard!.originProblem(req.headers.origin);
      if (originProblem) throw new HttpError(403, originProblem);
    }
    return route(req, res, ctx);
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
    const onError = (err: NodeJS.ErrnoException) =>
      reject(listenError(err, HTTP_API, { address: options.address, port: options.port, transport: "tcp" }));
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
        streams.endAll();
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      }),
  };
}

/** What a listen error says about the HTTP API (lab/listen-error.ts). */
const HTTP_API: ListenerDescription = {
  what: "The lab's HTTP API",
  likelyHolders: "another danelab, or Mailpit, which uses the same port",
  inUseFix:
    "Stop the other program, or give the API another port with --http-port PORT (or another 127.x.y.z address with " +
    "--http-address), or start without it with --no-http.",
  addressOption: "--http-address",
  defaultAddress: "127.0.0.1",
  lowPort: "avoid",
  portOption: "--http-port",
  defaultPort: 8025,
  otherFix: "Check --http-address and --http-port, or start without the API with --no-http.",
};
