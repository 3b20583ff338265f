// The HTTP API against real requests (fetch over loopback 127.0.15.x): JSON endpoints, the live event stream (an
// event pushed while a client listens arrives within 1 s; Last-Event-ID resumes), the allow-list POST and its
// validation, the report formats, 404/400/405/415 answers, static files, and the port-in-use message.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EventLog } from "../lab/events.js";
import { gradeRun } from "../lab/grade/index.js";
import { type HttpApi, startHttpApi } from "../lab/http/api.js";
import type { Manifest } from "../lab/manifest.js";
import { GreylistAllowList } from "../lab/smtp/greylist.js";
import { MailStore } from "../lab/smtp/store.js";

const ADDRESS = "127.0.15.1";

const manifest = {
  version: 1,
  suffix: "lab.example.",
  generated: new Date().toISOString(),
  dns: { address: "127.0.53.1", port: 53, resolver: null, trustAnchors: { ds: [], dnskey: [] } },
  http: null,
  smtp: { port: 25 },
  stateDir: "/tmp/x",
  scenarios: [
    {
      id: "ta-baseline",
      title: "DANE-TA baseline",
      group: "names",
      expect: "deliver",
      domain: "ta-baseline.lab.example.",
      recipient: "probe@ta-baseline.lab.example",
      mx: [{ host: "mx.ta-baseline.lab.example.", preference: 10, addresses: ["127.0.25.1"], port: 25 }],
      tlsa: [],
      teach: "",
      rfc: [],
    },
    {
      id: "no-starttls",
      title: "no STARTTLS",
      group: "smtp",
      expect: "no-delivery",
      domain: "no-starttls.lab.example.",
      recipient: "probe@no-starttls.lab.example",
      mx: [{ host: "mx.no-starttls.lab.example.", preference: 10, addresses: ["127.0.25.2"], port: 25 }],
      tlsa: [],
      teach: "",
      rfc: [],
    },
  ],
} as unknown as Manifest;

const base = { listener: "mx.ta-baseline.lab.example 127.0.25.1:25", client: "127.0.0.1" };

let dir: string;
let events: EventLog;
let store: MailStore;
let allowList: GreylistAllowList;
let api: HttpApi;
let messageId: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "danelab-http-"));
  events = new EventLog();
  store = new MailStore({ dir: join(dir, "mail") });
  allowList = new GreylistAllowList();
  // One delivery over TLS for run 1, one cleartext session at the no-STARTTLS host that quits.
  const s1 = { ...base, session: "c1", scenario: "ta-baseline" };
  events.append({ ...s1, kind: "connect" });
  events.append({ ...s1, kind: "greeting", code: 220, greylisted: false });
  events.append({ ...s1, kind: "ehlo", name: "client.example", starttlsOffered: true });
  events.append({
    ...s1,
    kind: "tls",
    version: "TLSv1.3",
    cipher: "TLS_AES_256_GCM_SHA384",
    sni: "mx.ta-baseline.lab.example",
    clientCertificate: null,
  });
  events.append({ ...s1, kind: "rcpt", recipient: "run-1@ta-baseline.lab.example", code: 250, run: "1" });
  const stored = await store.deliver(
    "ta-baseline",
    {
      heloName: "client.example",
      clientAddress: "127.0.0.1",
      byHost: "mx.ta-baseline.lab.example",
      protocol: "ESMTPS",
      tls: { version: "TLSv1.3", cipher: "TLS_AES_256_GCM_SHA384", sni: "mx.ta-baseline.lab.example" },
      sender: "a@client.example",
      recipients: ["run-1@ta-baseline.lab.example"],
    },
    "Subject: hello\r\n\r\nbody\r\n",
  );
  messageId = stored.id;
  events.append({
    ...s1,
    kind: "message",
    id: stored.id,
    size: stored.size,
    tls: true,
    recipients: ["run-1@ta-baseline.lab.example"],
    run: "1",
    path: stored.path,
  });
  events.append({ ...s1, kind: "close", reason: "quit" });
  const s2 = { ...base, listener: "mx.no-starttls.lab.example 127.0.25.2:25", session: "c2", scenario: "no-starttls" };
  events.append({ ...s2, kind: "connect" });
  events.append({ ...s2, kind: "ehlo", name: "client.example", starttlsOffered: false });
  events.append({ ...s2, kind: "close", reason: "quit" });

  api = await startHttpApi({
    address: ADDRESS,
    port: 0,
    manifest: () => manifest,
    events,
    store,
    allowList,
    grade: (run) => gradeRun(events.all(), manifest.scenarios, run ? { run } : {}),
    heartbeatMs: 200,
  });
});

afterAll(async () => {
  await api?.close();
  await events?.close();
  rmSync(dir, { recursive: true, force: true });
});

// biome-ignore lint/suspicious/noExplicitAny: the helpers below read arbitrary JSON answers
type Json = any;
const errorOf = async (res: Response): Promise<string> => ((await res.json()) as { error: string }).error;

const get = (path: string, init?: RequestInit) => fetch(`${api.url}${path}`, init);
async function getJson(path: string, status = 200): Promise<Json> {
  const res = await get(path);
  expect(res.status, `${path}: ${await res.clone().text()}`).toBe(status);
  expect(res.headers.get("content-type")).toMatch(/^application\/json/);
  return res.json();
}

describe("JSON endpoints", () => {
  it("binds where told and reports health", async () => {
    expect(api.url).toMatch(/^http:\/\/127\.0\.15\.1:\d+$/);
    const h = await getJson("/api/health");
    expect(h).toMatchObject({ ok: true, version: "0.1.0", scenarios: 2, lastSeq: events.lastSeq });
    expect(typeof h.uptime).toBe("number");
  });

  it("lists scenarios and serves one, 404 for an unknown id", async () => {
    expect((await getJson("/api/scenarios")).map((s: { id: string }) => s.id)).toEqual(["ta-baseline", "no-starttls"]);
    expect((await getJson("/api/scenarios/no-starttls")).expect).toBe("no-delivery");
    const e = await getJson("/api/scenarios/nope", 404);
    expect(e.error).toContain('no scenario "nope"');
    expect((await getJson("/api/manifest")).suffix).toBe("lab.example.");
  });

  it("returns events after a seq, filtered by scenario and kind", async () => {
    const all = await getJson("/api/events");
    expect(all).toHaveLength(events.lastSeq);
    const after = await getJson("/api/events?since=3");
    expect(after[0].seq).toBe(4);
    const tls = await getJson("/api/events?scenario=ta-baseline&kind=tls,message");
    expect(tls.map((e: { kind: string }) => e.kind)).toEqual(["tls", "message"]);
    expect(await getJson("/api/events?scenario=no-starttls&kind=close")).toHaveLength(1);
    expect(await getJson("/api/events?since=0&limit=2")).toHaveLength(2);
  });

  it("answers 400 with a message for a bad query", async () => {
    expect((await getJson("/api/events?since=abc", 400)).error).toContain("since must be a whole number");
    expect((await getJson("/api/events?since=-1", 400)).error).toContain("since");
    expect((await getJson("/api/events?sinse=1", 400)).error).toContain('unknown query parameter "sinse"');
    expect((await getJson("/api/events?kind=TLS!", 400)).error).toContain("kind=");
    expect((await getJson("/api/report?format=pdf", 400)).error).toContain(
      "choose one of table, json, junit, markdown",
    );
    expect((await getJson("/api/report?run=a%20b", 400)).error).toContain("run=");
  });

  it("answers 404 JSON for an unknown path and 405 for a wrong method", async () => {
    expect((await getJson("/api/nothing", 404)).error).toContain("no endpoint /api/nothing");
    expect((await getJson("/favicon.ico", 404)).error).toContain("no endpoint");
    const res = await get("/api/health", { method: "DELETE" });
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toBe("GET, HEAD");
  });
});

describe("messages", () => {
  it("lists received messages without server paths and serves the raw file", async () => {
    const list = await getJson("/api/messages?scenario=ta-baseline");
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({
      id: messageId,
      scenario: "ta-baseline",
      run: "1",
      raw: `/api/messages/${messageId}/raw`,
    });
    expect(list[0].path).toBeUndefined();
    expect(await getJson("/api/messages?run=2")).toHaveLength(0);
    const raw = await get(`/api/messages/${messageId}/raw`);
    expect(raw.status).toBe(200);
    const text = await raw.text();
    expect(text).toContain("Delivered-To: run-1@ta-baseline.lab.example");
    expect(text).toContain("with ESMTPS");
    expect(text).toContain("Subject: hello");
    expect((await getJson("/api/messages/1234.nope/raw", 404)).error).toContain("no message");
    expect((await getJson("/api/messages/..%2Fetc/raw", 400)).error).toContain("not a message id");
  });
});

describe("report", () => {
  it("grades per run as JSON by default", async () => {
    const r = await getJson("/api/report?run=1");
    expect(r.run).toBe("1");
    const verdicts = Object.fromEntries(
      r.grades.map((g: { scenario: string; verdict: string }) => [g.scenario, g.verdict]),
    );
    // the no-starttls session has no recipient: attributed to run 1 by client address and time
    expect(verdicts).toEqual({ "ta-baseline": "pass", "no-starttls": "pass" });
    expect((await getJson("/api/report?run=2")).summary["not-tested"]).toBe(1);
  });

  it("serves table, markdown and junit as text", async () => {
    const table = await get("/api/report?format=table");
    expect(table.headers.get("content-type")).toMatch(/^text\/plain/);
    expect(await table.text()).toMatch(/ta-baseline\s+deliver\s+pass\s+delivered over TLS/);
    const junit = await get("/api/report?format=junit&run=1");
    expect(junit.headers.get("content-type")).toMatch(/^application\/xml/);
    expect(await junit.text()).toContain('<testcase classname="danelab.names" name="ta-baseline">');
    expect(await (await get("/api/report?format=markdown")).text()).toContain("| `no-starttls` | no-delivery | pass |");
  });
});

describe("greylist allow-list", () => {
  const post = (body: string, type = "application/json") =>
    get("/api/greylist/allow", { method: "POST", headers: { "content-type": type }, body });

  it("adds a valid address", async () => {
    const res = await post(JSON.stringify({ address: "127.0.0.9" }));
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ ok: true, address: "127.0.0.9", addresses: ["127.0.0.9"] });
    expect(allowList.has("127.0.0.9")).toBe(true);
    expect(await getJson("/api/greylist")).toEqual({ addresses: ["127.0.0.9"] });
    expect((await post(JSON.stringify({ address: "::1" }))).status).toBe(200);
  });

  it("refuses what is not an IP address, with a message saying what to send", async () => {
    for (const address of ["127.0.0.300", "mx.lab.example", "127.0.0.0/8", "127.0.0.1:25", 42, ""]) {
      const res = await post(JSON.stringify({ address }));
      expect(res.status, String(address)).toBe(400);
      expect(await errorOf(res)).toContain(
        'is not an IP address. Send the address your MTA connects from, e.g. {"address": "127.0.0.9"}',
      );
    }
    expect((await post(JSON.stringify({}))).status).toBe(400);
    const bad = await post("{not json");
    expect(bad.status).toBe(400);
    expect(await errorOf(bad)).toContain("not valid JSON");
    expect((await post("[1]")).status).toBe(400);
    const form = await post("address=127.0.0.9", "application/x-www-form-urlencoded");
    expect(form.status).toBe(415);
    expect((await post(JSON.stringify({ address: "127.0.0.1", pad: "x".repeat(5000) }))).status).toBe(413);
    expect((await get("/api/greylist/allow")).status).toBe(405);
    expect(allowList.list()).toEqual(["127.0.0.9", "::1"]);
  });
});

/** Reads server-sent events from a fetch response until `until` says stop (or the timeout aborts). */
async function readSse(
  res: Response,
  until: (events: { id: number; data: Json }[]) => boolean,
): Promise<{ id: number; data: Json }[]> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  const got: { id: number; data: Json }[] = [];
  while (!until(got)) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let cut = buffer.indexOf("\n\n");
    while (cut >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      const id = /^id: (\d+)$/m.exec(block)?.[1];
      const data = /^data: (.*)$/m.exec(block)?.[1];
      if (id && data) got.push({ id: Number(id), data: JSON.parse(data) });
      cut = buffer.indexOf("\n\n");
    }
  }
  await reader.cancel();
  return got;
}

describe("event stream", () => {
  it("pushes a new event to a listening client within 1 s", async () => {
    const ctrl = new AbortController();
    const timer = setTimeout(() => ctrl.abort(), 5000);
    const res = await get("/api/events/stream", { signal: ctrl.signal });
    expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const t0 = performance.now();
    setTimeout(() => {
      events.append({ ...base, session: "c3", scenario: "ta-baseline", kind: "connect" });
    }, 20);
    const got = await readSse(res, (g) => g.length >= 1);
    const ms = performance.now() - t0;
    clearTimeout(timer);
    expect(got[0]!.data).toMatchObject({ kind: "connect", session: "c3" });
    expect(got[0]!.id).toBe(events.lastSeq);
    expect(ms).toBeLessThan(1000);
    console.log(`SSE: event appended 20 ms after connect arrived after ${ms.toFixed(1)} ms`);
  });

  it("resumes from Last-Event-ID and applies the filters", async () => {
    const ctrl = new AbortController();
    const timer = setTimeout(() => ctrl.abort(), 5000);
    const res = await get("/api/events/stream?scenario=ta-baseline&kind=tls,message", {
      signal: ctrl.signal,
      headers: { "last-event-id": "1" },
    });
    const got = await readSse(res, (g) => g.length >= 2);
    clearTimeout(timer);
    expect(got.map((e) => e.data.kind)).toEqual(["tls", "message"]);
    expect(got[0]!.id).toBeGreaterThan(1);
  });

  it("refuses a Last-Event-ID that is not a seq", async () => {
    const res = await get("/api/events/stream", { headers: { "last-event-id": "yesterday" } });
    expect(res.status).toBe(400);
  });
});

describe("pages and listening", () => {
  it("serves an HTML page listing the endpoints at /", async () => {
    const res = await get("/");
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
    const text = await res.text();
    expect(text).toContain('<a href="/api/health">/api/health</a>');
    expect(text).toContain("ta-baseline");
  });

  it("serves a web UI directory when given one, never outside it", async () => {
    const ui = join(dir, "ui");
    mkdirSync(join(ui, "assets"), { recursive: true });
    writeFileSync(join(ui, "index.html"), "<h1>ui</h1>");
    writeFileSync(join(ui, "assets", "app.js"), "console.log(1)");
    writeFileSync(join(dir, "secret.txt"), "secret");
    const other = await startHttpApi({
      address: "127.0.15.2",
      port: 0,
      manifest: () => manifest,
      events,
      store,
      allowList,
      grade: () => [],
      staticDir: ui,
    });
    try {
      expect(await (await fetch(`${other.url}/`)).text()).toBe("<h1>ui</h1>");
      const js = await fetch(`${other.url}/assets/app.js`);
      expect(js.headers.get("content-type")).toMatch(/^text\/javascript/);
      expect((await fetch(`${other.url}/%2e%2e/secret.txt`)).status).toBe(404);
      expect((await fetch(`${other.url}/assets/..%2f..%2fsecret.txt`)).status).toBe(404);
      expect((await fetch(`${other.url}/api/health`)).status).toBe(200);
    } finally {
      await other.close();
    }
  });

  it("explains a port in use in one paragraph naming --http-port", async () => {
    const err = await startHttpApi({
      address: ADDRESS,
      port: api.port,
      manifest: () => manifest,
      events,
      store,
      allowList,
      grade: () => [],
    }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).name).toBe("ListenError");
    expect((err as Error).message).toContain(
      `cannot listen on ${ADDRESS}:${api.port}: that address and port are already in use`,
    );
    expect((err as Error).message).toContain("--http-port");
    expect((err as Error).message).not.toContain("\n");
  });

  it("closes promptly with a stream client attached", async () => {
    const other = await startHttpApi({
      address: "127.0.15.3",
      port: 0,
      manifest: () => manifest,
      events,
      store,
      allowList,
      grade: () => [],
    });
    const res = await fetch(`${other.url}/api/events/stream`);
    expect(res.status).toBe(200);
    const t0 = performance.now();
    await other.close();
    expect(performance.now() - t0).toBeLessThan(1000);
  });
});
