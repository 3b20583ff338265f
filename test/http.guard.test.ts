// The HTTP API against browser attacks, with real requests over loopback (127.0.86.1-3): a Host that does not name the
// lab (DNS rebinding) gets 403 on every endpoint, reads included; a POST from another site's page (Origin) is refused
// and changes nothing; curl-like requests with the right Host work; every answer has `nosniff`; HEAD on the event
// stream ends; the 33rd live stream gets 503.
import { request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EventLog } from "../lab/events.js";
import { ENDPOINTS, type HttpApi, startHttpApi } from "../lab/http/api.js";
import type { Manifest } from "../lab/manifest.js";
import { GreylistAllowList } from "../lab/smtp/greylist.js";

const manifest = { version: 1, scenarios: [], stateDir: "/secret/state/dir" } as unknown as Manifest;

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One request with exactly these headers (fetch() would not let a test choose Host). */
function send(
  api: HttpApi,
  path: string,
  opts: { method?: string; headers?: Record<string, string>; body?: string; keepOpenMs?: number } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: api.address, port: api.port, path, method: opts.method ?? "GET", headers: opts.headers ?? {} },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (d: string) => {
          body += d;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        if (opts.keepOpenMs !== undefined) {
          setTimeout(() => {
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
            req.destroy(); // a stream: read what came, then hang up
          }, opts.keepOpenMs);
        }
      },
    );
    req.on("error", reject);
    req.setTimeout(5000, () => req.destroy(new Error(`${path}: no answer within 5 s`)));
    req.end(opts.body);
  });
}

let events: EventLog;
let allowList: GreylistAllowList;
let api: HttpApi;
const resets: (string | undefined)[] = [];

beforeAll(async () => {
  events = new EventLog();
  events.append({ kind: "dns-query", scenario: null, name: "secret.lab.example" });
  events.append({ kind: "message", scenario: "x", id: "m1", path: "/secret/state/dir/mail/x/new/m1" });
  allowList = new GreylistAllowList();
  api = await startHttpApi({
    address: "127.0.86.1",
    port: 0,
    manifest: () => manifest,
    events,
    store: { list: () => [], read: () => undefined },
    allowList,
    resetGreylist: (client) => resets.push(client),
    grade: () => [],
    allowedHosts: ["danelab.internal"],
    maxStreams: 2,
  });
});

afterAll(async () => {
  await api?.close();
  await events?.close();
});

describe("DNS rebinding: Host must name the lab", () => {
  it("refuses a foreign Host with 403 on every endpoint, reads included", async () => {
    const paths = ["/", "/index.html", ...ENDPOINTS.map((e) => e.path.split("?")[0]!.replace("<id>", "x"))];
    for (const path of paths) {
      for (const host of ["attacker.example:" + api.port, "evil.example", `127.0.86.1.evil.example:${api.port}`]) {
        const res = await send(api, path, { headers: { host } });
        expect(res.status, `${host} ${path}`).toBe(403);
        expect(res.headers["x-content-type-options"]).toBe("nosniff");
        const error = (JSON.parse(res.body) as { error: string }).error;
        expect(error).toContain(`Host "${host}" does not name this lab's API (127.0.86.1:${api.port})`);
        expect(error).toContain("--http-allow-host");
        expect(res.body).not.toContain("secret.lab.example");
      }
    }
  });

  it("refuses the right name on another port, and a request without Host", async () => {
    expect((await send(api, "/api/health", { headers: { host: "127.0.86.1:1" } })).status).toBe(403);
    expect((await send(api, "/api/health", { headers: { host: "127.0.86.1" } })).status).toBe(403); // port 80 implied
    expect((await send(api, "/api/health", { headers: { host: "127.0.86.2:" + api.port } })).status).toBe(403);
  });

  it("serves the bound address, localhost and names the user allowed", async () => {
    for (const host of [
      `127.0.86.1:${api.port}`,
      `localhost:${api.port}`,
      `LocalHost.:${api.port}`,
      `danelab.internal:${api.port}`,
    ]) {
      const res = await send(api, "/api/events", { headers: { host } });
      expect(res.status, host).toBe(200);
      expect(res.headers["x-content-type-options"]).toBe("nosniff");
      expect(res.body).toContain("secret.lab.example");
    }
  });
});

describe("cross-site writes: Origin must be the lab", () => {
  const host = () => `127.0.86.1:${api.port}`;
  const post = (path: string, origin?: string) =>
    send(api, path, {
      method: "POST",
      headers: {
        host: host(),
        "content-type": "application/json",
        ...(origin !== undefined ? { origin } : {}),
      },
      body: JSON.stringify({ address: "127.0.86.9" }),
    });

  it("refuses POST /api/greylist/reset and /allow from another site's page, changing nothing", async () => {
    for (const origin of [
      "http://attacker.example",
      `http://attacker.example:${api.port}`,
      "null",
      `https://127.0.86.1:${api.port}`,
    ]) {
      for (const path of ["/api/greylist/reset", "/api/greylist/allow"]) {
        const res = await post(path, origin);
        expect(res.status, `${origin} ${path}`).toBe(403);
        expect((JSON.parse(res.body) as { error: string }).error).toContain(
          `a request from the web page at ${origin} may not change this lab`,
        );
      }
    }
    expect(resets).toEqual([]);
    expect(allowList.list()).toEqual([]);
  });

  it("carries out a POST without Origin (curl) or from the lab's own page", async () => {
    expect((await post("/api/greylist/reset")).status).toBe(200);
    expect((await post("/api/greylist/reset", `http://${host()}`)).status).toBe(200);
    expect((await post("/api/greylist/allow", `http://localhost:${api.port}`)).status).toBe(200);
    expect(resets).toEqual(["127.0.86.9", "127.0.86.9"]);
    expect(allowList.list()).toEqual(["127.0.86.9"]);
  });
});

describe("no file system paths", () => {
  it("serves the manifest and the events without the state directory's path", async () => {
    const host = `127.0.86.1:${api.port}`;
    for (const path of ["/api/manifest", "/api/events"]) {
      const res = await send(api, path, { headers: { host } });
      expect(res.status).toBe(200);
      expect(res.body).not.toContain("/secret/state/dir");
    }
    const stream = await send(api, "/api/events/stream?since=0", { headers: { host }, keepOpenMs: 300 });
    expect(stream.body).toContain('"id":"m1"');
    expect(stream.body).not.toContain("/secret/state/dir");
  });
});

describe("the live event stream", () => {
  it("answers HEAD with the stream's headers and ends", async () => {
    const t0 = performance.now();
    const res = await send(api, "/api/events/stream", { method: "HEAD", headers: { host: `127.0.86.1:${api.port}` } });
    expect(res.status).toBe(200);
    expect(res.headers["content-type"]).toMatch(/^text\/event-stream/);
    expect(performance.now() - t0).toBeLessThan(1000);
  });

  it("serves maxStreams streams at once and answers 503 to one more, then serves it once one closes", async () => {
    const host = `127.0.86.1:${api.port}`;
    const open = async () => {
      const controller = new AbortController();
      const res = await fetch(`${api.url}/api/events/stream`, { signal: controller.signal, headers: { host } });
      return { res, close: () => controller.abort() };
    };
    const a = await open();
    const b = await open();
    expect([a.res.status, b.res.status]).toEqual([200, 200]);
    const refused = await send(api, "/api/events/stream", { headers: { host } });
    expect(refused.status).toBe(503);
    expect(refused.headers["retry-after"]).toBe("5");
    expect(refused.body).toContain("2 live event streams are open, the most this lab serves at once");
    a.close();
    await new Promise((r) => setTimeout(r, 200));
    const c = await send(api, "/api/events/stream", { headers: { host }, keepOpenMs: 200 });
    expect(c.status).toBe(200);
    b.close();
  });
});
