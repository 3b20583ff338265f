// End to end through real parts: real SMTP listeners (lab/smtp/listener.ts) on 127.0.15.x, real clients (swaks,
// openssl s_client) behaving well and badly, the real event log, the grader, and the HTTP API's report. Each scenario
// gets the client behaviour whose verdict a mail admin must be able to trust:
//   ta-baseline            deliver              swaks --tls delivers                        → pass
//   ta-wrong-name          no-delivery          swaks --tls (verifies nothing) delivers     → fail, trap named
//   ee-mismatch            no-delivery          openssl rejects the certificate (alert)     → pass, alert named
//   no-starttls            no-delivery          swaks --tls quits: STARTTLS not offered      → pass
//   all-unusable           tls-required         swaks without TLS delivers in cleartext      → fail
//   greylist-then-starttls deliver-after-retry  421 first, swaks retries and delivers       → pass after 1 refusal
// and the live event stream delivers a real connection's first event within 1 s.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EventLog } from "../lab/events.js";
import { type GradableScenario, gradeRun } from "../lab/grade/index.js";
import { type HttpApi, startHttpApi } from "../lab/http/api.js";
import type { Manifest } from "../lab/manifest.js";
import { GreylistAllowList } from "../lab/smtp/greylist.js";
import { type SmtpListener, type StarttlsMode, startSmtpListener } from "../lab/smtp/listener.js";
import { MailStore } from "../lab/smtp/store.js";
import { run } from "./run.js";

const SUFFIX = "lab.example";
const RUN = "e2e";

interface Spec {
  id: string;
  expect: string;
  title: string;
  address: string;
  starttls: StarttlsMode;
  greylist?: { connections: number };
}
const SPECS: Spec[] = [
  { id: "ta-baseline", expect: "deliver", title: "DANE-TA baseline", address: "127.0.15.11", starttls: "offered" },
  {
    id: "ta-wrong-name",
    expect: "no-delivery",
    title: "no acceptable name anywhere in the certificate",
    address: "127.0.15.12",
    starttls: "offered",
  },
  {
    id: "ee-mismatch",
    expect: "no-delivery",
    title: "3 1 1 with a wrong digest",
    address: "127.0.15.13",
    starttls: "offered",
  },
  {
    id: "no-starttls",
    expect: "no-delivery",
    title: "EHLO never offers STARTTLS",
    address: "127.0.15.14",
    starttls: "absent",
  },
  {
    id: "all-unusable",
    expect: "tls-required",
    title: "only unusable TLSA records",
    address: "127.0.15.15",
    starttls: "offered",
  },
  {
    id: "greylist-then-starttls",
    expect: "deliver-after-retry",
    title: "first connection greylisted",
    address: "127.0.15.16",
    starttls: "offered",
    greylist: { connections: 1 },
  },
];

let dir: string;
let events: EventLog;
let api: HttpApi;
const listeners = new Map<string, SmtpListener>();
const scenarios: GradableScenario[] = SPECS.map((s) => ({
  id: s.id,
  expect: s.expect,
  title: s.title,
  group: "e2e",
  domain: `${s.id}.${SUFFIX}.`,
}));

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "danelab-e2e-"));
  // A self-signed EC certificate for every MX host, and an unrelated one the strict client trusts instead.
  const openssl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
  const names = SPECS.map((s) => `DNS:mx.${s.id}.${SUFFIX}`).join(",");
  for (const [name, san] of [
    ["leaf", names],
    ["other", "DNS:other.invalid"],
  ] as const) {
    openssl(
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
      "-nodes",
      "-days",
      "2",
      "-subj",
      `/CN=${name}`,
      "-addext",
      `subjectAltName=${san}`,
      "-keyout",
      `${name}.key`,
      "-out",
      `${name}.pem`,
    );
  }
  const credentials = [
    { key: readFileSync(join(dir, "leaf.key"), "utf8"), cert: readFileSync(join(dir, "leaf.pem"), "utf8") },
  ];

  events = new EventLog({ path: join(dir, "events.jsonl") });
  const store = new MailStore({ dir: join(dir, "mail") });
  const allowList = new GreylistAllowList();
  for (const s of SPECS) {
    const listener = await startSmtpListener({
      scenario: s.id,
      host: `mx.${s.id}.${SUFFIX}`,
      address: s.address,
      port: 0,
      credentials,
      starttls: s.starttls,
      ...(s.greylist ? { greylist: s.greylist } : {}),
      acceptDomains: [SUFFIX],
      allowList,
      store,
      events,
    });
    listeners.set(s.id, listener);
  }
  const manifest = { version: 1, suffix: `${SUFFIX}.`, scenarios } as unknown as Manifest;
  api = await startHttpApi({
    address: "127.0.15.20",
    port: 0,
    manifest: () => manifest,
    events,
    store,
    allowList,
    grade: (run) => gradeRun(events.all(), scenarios, run ? { run, now: new Date() } : { now: new Date() }),
  });
});

afterAll(async () => {
  await api?.close();
  for (const l of listeners.values()) await l.close();
  await events?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function swaks(id: string, ...extra: string[]) {
  const l = listeners.get(id)!;
  return run("swaks", [
    "--server",
    l.address,
    "--port",
    String(l.port),
    "--helo",
    "client.example",
    "--from",
    "probe@client.example",
    "--to",
    `run-${RUN}@${id}.${SUFFIX}`,
    "--timeout",
    "10",
    ...extra,
  ]);
}

async function waitForClose(id: string, count: number): Promise<void> {
  const deadline = Date.now() + 5000;
  while (events.all({ scenario: id, kind: "close" }).length < count) {
    if (Date.now() > deadline) throw new Error(`${id}: fewer than ${count} closed sessions after 5 s`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("real clients graded through the HTTP API", () => {
  it("drives every client behaviour", async () => {
    expect((await swaks("ta-baseline", "--tls")).code).toBe(0);
    expect((await swaks("ta-wrong-name", "--tls")).code).toBe(0);
    const strict = await run("openssl", [
      "s_client",
      "-connect",
      `${listeners.get("ee-mismatch")!.address}:${listeners.get("ee-mismatch")!.port}`,
      "-starttls",
      "smtp",
      "-servername",
      `mx.ee-mismatch.${SUFFIX}`,
      "-CAfile",
      join(dir, "other.pem"),
      "-verify_return_error",
      "-brief",
    ]);
    expect(strict.code).not.toBe(0);
    const noTls = await swaks("no-starttls", "--tls");
    expect(noTls.code).not.toBe(0);
    expect(noTls.stdout + noTls.stderr).toMatch(/STARTTLS/);
    expect((await swaks("all-unusable")).code).toBe(0);
    const first = await swaks("greylist-then-starttls", "--tls");
    expect(first.stdout).toContain("421");
    expect((await swaks("greylist-then-starttls", "--tls")).code).toBe(0);
    for (const s of SPECS) await waitForClose(s.id, s.greylist ? 2 : 1);
  });

  it("grades them as an RFC 7672 reviewer would, for the run", async () => {
    const res = await fetch(`${api.url}/api/report?run=${RUN}`);
    expect(res.status).toBe(200);
    const report = (await res.json()) as { grades: { scenario: string; verdict: string; reason: string }[] };
    const by = Object.fromEntries(report.grades.map((g) => [g.scenario, g]));
    expect(by["ta-baseline"]).toMatchObject({ verdict: "pass", reason: expect.stringContaining("delivered over TLS") });
    expect(by["ta-wrong-name"]).toMatchObject({
      verdict: "fail",
      reason: expect.stringContaining("must not accept this server — no acceptable name anywhere in the certificate"),
    });
    expect(by["ee-mismatch"]).toMatchObject({
      verdict: "pass",
      reason: expect.stringMatching(/never delivered; last: TLS handshake failed: (unknown_ca|bad_certificate)/),
    });
    expect(by["no-starttls"]).toMatchObject({
      verdict: "pass",
      reason: expect.stringContaining("no STARTTLS offered"),
    });
    expect(by["all-unusable"]).toMatchObject({
      verdict: "fail",
      reason: expect.stringMatching(/^delivered in cleartext/),
    });
    expect(by["greylist-then-starttls"]).toMatchObject({
      verdict: "pass",
      reason: expect.stringContaining("after the server refused 1 attempt"),
    });
    const table = await (await fetch(`${api.url}/api/report?run=${RUN}&format=table`)).text();
    console.log(table);
    // Another run saw nothing.
    const other = (await (await fetch(`${api.url}/api/report?run=other`)).json()) as {
      summary: Record<string, number>;
    };
    expect(other.summary["pass"]).toBe(0);
    expect(other.summary["fail"]).toBe(0);
  });

  it("streams a real connection's events live, within 1 s", async () => {
    const ctrl = new AbortController();
    const timer = setTimeout(() => ctrl.abort(), 10_000);
    const res = await fetch(`${api.url}/api/events/stream?scenario=ta-baseline&kind=connect`, { signal: ctrl.signal });
    const reader = res.body!.getReader();
    const l = listeners.get("ta-baseline")!;
    const t0 = performance.now();
    const socket = connect({ host: l.address, port: l.port }); // a real TCP connection to the SMTP listener
    let text = "";
    while (!/\n\n/.test(text.replace(/^retry: \d+\n\n/, ""))) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    const ms = performance.now() - t0;
    clearTimeout(timer);
    await reader.cancel();
    socket.destroy();
    expect(text).toMatch(/"kind":"connect"/);
    expect(ms).toBeLessThan(1000);
    console.log(`SSE: a real SMTP connection's event reached the stream client ${ms.toFixed(1)} ms after connect()`);
  });

  it("keeps events.jsonl gradeable after the fact (what `danelab report` reads)", () => {
    const lines = readFileSync(join(dir, "events.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    const grades = gradeRun(lines, scenarios, { run: RUN });
    expect(grades.map((g) => g.verdict)).toEqual(["pass", "fail", "pass", "pass", "fail", "pass"]);
    writeFileSync(join(dir, "report.json"), JSON.stringify(grades));
  });
});
