// GET /api/events/stream: the event log live, as server-sent events (WHATWG HTML §9.2). Each event is one
// `id: <seq>` / `data: <json>` block; a client that reconnects sends Last-Event-ID and gets what it missed first, so
// nothing is lost or repeated. The number of open streams is capped (503 + Retry-After above it), a stream whose client
// falls far behind is dropped (it reconnects and resumes), and a comment line every 15 s keeps proxies from closing an
// idle stream.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { EventLog, LabEvent } from "../events.js";
import { eventFilter, HttpError, intParam, onlyParams } from "./request.js";

/** A stream client this far behind is dropped; it reconnects and resumes with Last-Event-ID. */
const MAX_SSE_BUFFER = 8 * 1024 * 1024;

export interface EventStreamOptions {
  events: Pick<EventLog, "since" | "subscribe" | "lastSeq">;
  /** Keep-alive comment interval. */
  heartbeatMs: number;
  /** Streams open at once; one more gets 503. */
  maxStreams: number;
}

export class EventStreams {
  private readonly streams = new Set<ServerResponse>();

  constructor(private readonly options: EventStreamOptions) {}

  /** Server-sent events: backlog after `since`/Last-Event-ID, then every new event, one `id:`/`data:` block each. */
  open(req: IncomingMessage, res: ServerResponse, url: URL): void {
    const { events, heartbeatMs, maxStreams } = this.options;
    const streams = this.streams;
    onlyParams(url, ["since", "scenario", "kind"]);
    const header = req.headers["last-event-id"];
    let last: number;
    if (typeof header === "string" && header.trim() !== "") {
      if (!/^\d+$/.test(header.trim()))
        throw new HttpError(400, `Last-Event-ID must be an event seq number, not "${header}"`);
      last = Number(header.trim());
    } else {
      // Without since, only new events: a UI loads the backlog from GET /api/events first.
      last = intParam(url, "since", 0) ?? events.lastSeq;
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
    for (const e of events.since(last, filter.log)) push(e);
    const unsubscribe = events.subscribe(push);
    const heartbeat = setInterval(() => res.write(": keep-alive\n\n"), heartbeatMs);
    heartbeat.unref();
    const done = () => {
      unsubscribe();
      clearInterval(heartbeat);
      streams.delete(res);
    };
    res.on("close", done);
  }

  /** Ends every open stream (the lab is stopping). */
  endAll(): void {
    for (const res of this.streams) res.end();
  }
}

/** An event without a file path (message events carry where the store put the file). */
export function publicEvent(e: LabEvent): LabEvent {
  if (!("path" in e)) return e;
  const { path: _path, ...rest } = e;
  return rest as LabEvent;
}
