// The lab's MTA-STS policy server: one HTTPS listener (default <dns-address>:443) that serves every scenario's
// `/.well-known/mta-sts.txt` (RFC 8461 §3.3), choosing the certificate by SNI, and breaks the fetch in the way the
// scenario's `sts.fault` names. Every fetch — and every handshake a sender aborts, e.g. because it does not trust the
// certificate — is an `sts-fetch` / `sts-tls-error` event on the lab's log, so the grader and the board can say who
// fetched which policy when.
//
// Hostile input: handshakes, headers and whole requests have deadlines (slowloris), header size is capped (huge
// headers get 431), the number of open connections is capped, and anything that is not a GET/HEAD of a known path
// gets a short error. The listener keeps serving other senders through all of it (test/sts.server.test.ts).
import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer, type Server } from "node:https";
import type { Socket } from "node:net";
import { createSecureContext, type SecureContext, type TLSSocket } from "node:tls";
import type { StsFault } from "../catalogue/schema.js";
import { type ListenerDescription, listenError } from "../listen-error.js";
import { MOVED_PATH, POLICY_PATH } from "./policy.js";

/** One policy host: mta-sts.<domain> of a scenario. */
export interface StsSite {
  scenario: string;
  /** mta-sts.<domain>, without trailing dot. */
  host: string;
  /** The `_mta-sts` id published for this policy (for the event log; RFC 8461 §3.1). */
  id: string;
  mode: string;
  policy: string;
  fault: StsFault | null;
  credentials: { key: string; cert: string };
}

/** What the server writes to the lab's event log (lab/events.ts `append`). */
export interface StsEventSink {
  append(event: { kind: string; scenario: string | null; [field: string]: unknown }): unknown;
}

export interface StsServerOptions {
  address: string;
  /** RFC 8461 §3.3 fetches from port 443; 0 picks a free port (tests). */
  port: number;
  sites: StsSite[];
  events?: StsEventSink;
  /** How long the `timeout` fault holds a request before closing it. Default 120 s. */
  holdMs?: number;
  /** TLS handshake, request headers and whole request must each finish within this. Default 10 s. */
  deadlineMs?: number;
  /** Open connections at once; more are closed at once. Default 256. */
  maxConnections?: number;
}

export interface StsServer {
  address: string;
  port: number;
  close(): Promise<void>;
}

export async function startStsServer(options: StsServerOptions): Promise<StsServer> {
  const deadline = options.deadlineMs ?? 10_000;
  const holdMs = options.holdMs ?? 120_000;
  const byHost = new Map<string, { site: StsSite; context: SecureContext }>();
  for (const site of options.sites) {
    byHost.set(site.host.toLowerCase(), { site, context: createSecureContext(site.credentials) });
  }
  const record = (event: { kind: string; scenario: string | null; [field: string]: unknown }) => {
    try {
      options.events?.append(event);
    } catch {
      // the log's own trouble (disk full) is reported by the log; serving goes on
    }
  };

  const server: Server = createServer(
    {
      // RFC 8461 §3.3: senders send SNI for mta-sts.<domain>; without it (or for an unknown name) there is no
      // certificate to offer and the handshake fails.
      SNICallback: (name, cb) => {
        const entry = byHost.get(name.toLowerCase());
        if (entry) cb(null, entry.context);
        else cb(new Error(`no policy host ${name}`));
      },
      handshakeTimeout: deadline,
      minVersion: "TLSv1.2",
      maxHeaderSize: 8192,
      requestTimeout: deadline,
      headersTimeout: deadline,
      keepAliveTimeout: 2_000,
    },
    (req, res) => handle(req, res),
  );
  server.maxConnections = options.maxConnections ?? 256;
  // Slowloris: a connection gets `deadline` from its handshake to a complete request head, whatever it trickles
  // (Node's own headersTimeout is checked only every 30 s and did not cut a 200 ms drip). Every answer closes the
  // connection, so one request per connection is all a sender needs.
  const firstRequest = new WeakMap<Socket, NodeJS.Timeout>();
  server.on("secureConnection", (socket: TLSSocket) => {
    const timer = setTimeout(() => socket.destroy(), deadline);
    firstRequest.set(socket, timer);
    socket.once("close", () => clearTimeout(timer));
  });
  server.maxRequestsPerSocket = 10;
  // Idle sockets (slowloris between requests) are closed after the deadline.
  server.timeout = deadline;
  server.on("tlsClientError", (err: NodeJS.ErrnoException, socket: TLSSocket) => {
    const sni = (socket as TLSSocket & { servername?: string | false }).servername;
    const entry = typeof sni === "string" ? byHost.get(sni.toLowerCase()) : undefined;
    if (!entry) return; // garbage and scans: nothing to teach, nothing to log
    record({
      kind: "sts-tls-error",
      scenario: entry.site.scenario,
      client: socket.remoteAddress ?? "",
      host: entry.site.host,
      fault: entry.site.fault,
      // e.g. "tlsv1 alert unknown ca": the sender refused the policy host's certificate (RFC 8461 §3.3)
      reason: tlsReason(err),
    });
  });
  server.on("clientError", (err: NodeJS.ErrnoException, socket: Socket) => {
    // Oversized headers (431), slow requests (408), malformed ones (400): answer briefly if the socket still can.
    const status =
      err.code === "HPE_HEADER_OVERFLOW"
        ? "431 Request Header Fields Too Large"
        : err.code === "ERR_HTTP_REQUEST_TIMEOUT"
          ? "408 Request Timeout"
          : "400 Bad Request";
    if (socket.writable) socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    else socket.destroy();
  });

  function handle(req: IncomingMessage, res: ServerResponse): void {
    clearTimeout(firstRequest.get(req.socket));
    const tls = req.socket as TLSSocket & { servername?: string | false };
    const sni = typeof tls.servername === "string" ? tls.servername.toLowerCase() : "";
    const entry = byHost.get(sni);
    if (!entry) {
      reply(res, { status: 421, type: "text/plain", body: "no policy host for this name\n" });
      return;
    }
    const { site } = entry;
    const answer = answerFor(site, req.method ?? "", (req.url ?? "").split("?")[0] ?? "", holdMs);
    record({
      kind: "sts-fetch",
      scenario: site.scenario,
      client: req.socket.remoteAddress ?? "",
      host: site.host,
      method: (req.method ?? "").slice(0, 20),
      path: (req.url ?? "").slice(0, 200),
      userAgent: String(req.headers["user-agent"] ?? "").slice(0, 200),
      fault: site.fault,
      id: site.id,
      mode: site.mode,
      status: answer?.status ?? 0,
      served: answer?.served ?? `no answer (fault timeout; closed after ${Math.round(holdMs / 1000)} s)`,
    });
    if (answer) {
      reply(res, answer, req.method === "HEAD");
      return;
    }
    // The timeout fault: hold the request without a byte of answer, then close.
    req.socket.setTimeout(0);
    const timer = setTimeout(() => req.socket.destroy(), holdMs);
    req.socket.once("close", () => clearTimeout(timer));
  }

  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) =>
      reject(listenError(err, STS_SERVER, { address: options.address, port: options.port, transport: "tcp" }));
    server.once("error", onError);
    server.listen(options.port, options.address, () => {
      server.off("error", onError);
      resolve();
    });
  });
  // A socket error after start (reset by peer) must not take the lab down.
  server.on("error", () => {});
  const bound = server.address();
  const port = typeof bound === "object" && bound ? bound.port : options.port;
  return {
    address: options.address,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

interface Answer {
  status: number;
  type: string;
  body: string;
  headers?: Record<string, string>;
  /** What the event log says was served. */
  served?: string;
}

/** What the policy host answers a request: the policy, or the scenario's fault; null = never answer (timeout). */
function answerFor(site: StsSite, method: string, path: string, holdMs: number): Answer | null {
  const policy = (served: string, type = "text/plain"): Answer => ({ status: 200, type, body: site.policy, served });
  if (method !== "GET" && method !== "HEAD")
    return { status: 405, type: "text/plain", body: "GET only\n", headers: { Allow: "GET, HEAD" }, served: "405" };
  // A sender that followed the redirect, which RFC 8461 §3.3 forbids, gets the policy so that its mistake shows.
  if (path === MOVED_PATH && site.fault === "redirect")
    return policy("policy, after a redirect the sender should not have followed (RFC 8461 §3.3)");
  // RFC 8461 §3.3: the policy lives at exactly /.well-known/mta-sts.txt.
  if (path !== POLICY_PATH) return { status: 404, type: "text/plain", body: "not found\n", served: "404" };
  switch (site.fault) {
    case "not-found":
      return { status: 404, type: "text/plain", body: "not found\n", served: "404 (fault not-found)" };
    case "content-type":
      return policy("policy as text/html (fault content-type; RFC 8461 §3.2 wants text/plain)", "text/html");
    case "redirect":
      return {
        status: 301,
        type: "text/plain",
        body: "moved\n",
        headers: { Location: `https://${site.host}${MOVED_PATH}` },
        served: "301 redirect (fault redirect; RFC 8461 §3.3: MUST NOT be followed)",
      };
    case "timeout":
      return holdMs > 0 ? null : policy("policy");
    case "id-changes":
      return policy("policy (fault id-changes: the same policy whichever id the _mta-sts TXT record announced)");
    default:
      return policy(site.fault ? `policy (fault ${site.fault})` : "policy");
  }
}

function reply(res: ServerResponse, answer: Answer, headOnly = false): void {
  res.writeHead(answer.status, {
    ...answer.headers,
    "Content-Type": answer.type,
    "Content-Length": Buffer.byteLength(answer.body),
    "Cache-Control": "no-store",
    Connection: "close",
  });
  res.end(headOnly ? undefined : answer.body);
}

/** The TLS alert or error a sender's aborted handshake left, in OpenSSL's words ("tlsv1 alert unknown ca"). */
function tlsReason(err: NodeJS.ErrnoException): string {
  const m = /alert [a-z ]+/.exec(err.message);
  return m ? m[0] : (err.code ?? err.message).slice(0, 200);
}

/** What a listen error says about the policy server (lab/listen-error.ts). */
const STS_SERVER: ListenerDescription = {
  what: "The lab's MTA-STS policy server",
  namesTransport: true,
  likelyHolders: "a web server, or another lab on the same address",
  inUseFix:
    "Stop it, or give the policy server another address with --sts-address (any 127.x.y.z; the mta-sts.<domain> " +
    "records follow it).",
  addressOption: "--sts-address",
  lowPort: "grant",
  portOption: "--sts-port",
  defaultPort: 443,
  lowPortNote:
    "Senders fetch policies from port 443 only (RFC 8461 §3.3), so --sts-port elsewhere is for curl and tests, not MTAs.",
  otherFix: "Check --sts-address and --sts-port.",
};
