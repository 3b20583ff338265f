// The whole lab, started the way `npm run lab` starts it (the full catalogue), checked from outside with real tools:
// dig sees AD on a TLSA record, swaks delivers over TLS, unbound validates the lab's tree by itself, and the grader
// both passes a correct delivery and fails a client that ignores DANE.
// Loopback addresses of this file: DNS 127.0.13.1, unbound 127.0.13.2, HTTP 127.0.13.3, SMTP from 127.0.40.1.
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Lab } from "../lab/index.js";
import { startLab } from "../lab/index.js";
import { withoutTrailingDot } from "../zones/names.js";
import { SmtpTestClient } from "./smtp.fixtures.js";

const run = promisify(execFile);
const DNS = "127.0.13.1";
const UNBOUND = "127.0.13.2";

let lab: Lab;
let stateDir: string;

beforeAll(async () => {
  stateDir = mkdtempSync(join(tmpdir(), "danelab-up-"));
  lab = await startLab({
    stateDir,
    dnsAddress: DNS,
    dnsPort: 53,
    smtpFirstAddress: "127.0.40.1",
    smtpPort: 25,
    httpAddress: "127.0.13.3",
    httpPort: 0,
    resolver: "unbound",
    resolverAddress: UNBOUND,
  });
}, 180_000);

afterAll(async () => {
  await lab?.stop();
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
});

const scenario = (id: string) => {
  const s = lab.manifest.scenarios.find((x) => x.id === id);
  if (!s) throw new Error(`scenario ${id} missing from the manifest`);
  return s;
};

async function dig(server: string, ...args: string[]) {
  const { stdout } = await run("dig", [`@${server}`, "+dnssec", "+time=3", "+tries=1", ...args]);
  return stdout;
}

async function swaks(args: string[]): Promise<{ ok: boolean; out: string }> {
  try {
    const { stdout, stderr } = await run("swaks", ["--timeout", "10", ...args], { timeout: 30_000 });
    return { ok: true, out: stdout + stderr };
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    return { ok: false, out: `${e.stdout ?? ""}${e.stderr ?? ""}` };
  }
}

describe("danelab up", () => {
  it("writes a manifest with every catalogue scenario, keys 0600 under a 0700 state directory", () => {
    const onDisk = JSON.parse(readFileSync(lab.manifestPath, "utf8"));
    expect(onDisk.version).toBe(1);
    expect(onDisk.suffix).toBe("lab.example.");
    expect(onDisk.dns).toMatchObject({ address: DNS, port: 53, resolver: { kind: "unbound", address: UNBOUND } });
    expect(onDisk.dns.trustAnchors.ds[0]).toMatch(/^\. \d+ IN DS \d+ 13 2 [0-9a-f]{64}$/i);
    expect(onDisk.scenarios.length).toBeGreaterThanOrEqual(45);
    const ids = onDisk.scenarios.map((s: { id: string }) => s.id);
    expect(new Set(ids).size).toBe(ids.length);
    const base = scenario("ta-baseline");
    expect(base.recipient).toBe("probe@ta-baseline.lab.example");
    expect(base.mx[0]).toMatchObject({ host: "mx.ta-baseline.lab.example.", preference: 10, port: 25 });
    expect(base.tlsa[0]).toMatch(/^_25\._tcp\.mx\.ta-baseline\.lab\.example\. 300 IN TLSA 2 1 1 [0-9a-f]{64}$/);
    expect(statSync(stateDir).mode & 0o777).toBe(0o700);
    const key = lab.pki.get(lab.pki.names().find((n) => n.endsWith("/leaf"))!).keyPath;
    expect(statSync(key).mode & 0o777).toBe(0o600);
  });

  it("answers a scenario's TLSA with AD in resolver mode, exactly as the manifest says", async () => {
    const out = await dig(DNS, "TLSA", "_25._tcp.mx.ta-baseline.lab.example.");
    expect(out).toMatch(/status: NOERROR/);
    expect(out).toMatch(/flags: qr[^;]* ad/);
    const hex = scenario("ta-baseline").tlsa[0]!.split(" ").at(-1)!;
    expect(out.replace(/\s+/g, "").toLowerCase()).toContain(hex);
  });

  it("validates through a real unbound: AD for secure data, SERVFAIL for a bogus TLSA, no AD for an insecure zone", async () => {
    const secure = await dig(UNBOUND, "TLSA", "_25._tcp.mx.ta-baseline.lab.example.");
    expect(secure).toMatch(/status: NOERROR/);
    expect(secure).toMatch(/flags: qr[^;]* ad/);
    const bogus = await dig(UNBOUND, "TLSA", "_25._tcp.mx.tlsa-bogus.lab.example.");
    expect(bogus).toMatch(/status: SERVFAIL/);
    const insecure = await dig(UNBOUND, "MX", "tlsa-insecure.lab.example.");
    expect(insecure).toMatch(/status: NOERROR/);
    expect(insecure).not.toMatch(/flags: qr[^;]* ad/);
  });

  it("delivers a swaks message over TLS to ta-baseline and grades the run as a pass", async () => {
    const s = scenario("ta-baseline");
    const mx = s.mx[0]!;
    const r = await swaks([
      "--server",
      mx.addresses[0]!,
      "--tls",
      "--tls-sni",
      withoutTrailingDot(mx.host),
      "--to",
      "run-swaks1@ta-baseline.lab.example",
      "--from",
      "tester@client.example",
    ]);
    expect(r.ok, r.out).toBe(true);
    expect(r.out).toMatch(/<~\s+250/);
    const grade = lab.report("swaks1").find((g) => g.scenario === "ta-baseline");
    expect(grade?.verdict).toBe("pass");
  });
});

describe("the grader can fail a client", () => {
  it("fails a DANE-ignoring client on every no-delivery scenario it delivered to, and passes it on deliver ones", async () => {
    // The careless client: TLS when offered, no certificate check at all, cleartext when TLS does not work out,
    // a few immediate retries for greylisting. It never looks at TLSA records or DNSSEC.
    const runId = "careless";
    const delivered = new Map<string, "tls" | "cleartext" | "no">();
    await Promise.all(
      lab.manifest.scenarios.map(async (s) => {
        const mx = s.mx[0]!;
        const base = ["--server", mx.addresses[0]!, "--to", `run-${runId}@${withoutTrailingDot(s.domain)}`];
        for (let attempt = 0; attempt < 4; attempt++) {
          const tls = await swaks([...base, "--tls-optional-strict", "--tls-sni", withoutTrailingDot(mx.host)]);
          if (tls.ok) {
            delivered.set(s.id, /TLS started/.test(tls.out) ? "tls" : "cleartext");
            return;
          }
          const plain = await swaks(base);
          if (plain.ok) {
            delivered.set(s.id, "cleartext");
            return;
          }
        }
        delivered.set(s.id, "no");
      }),
    );
    const grades = lab.report(runId);
    for (const s of lab.manifest.scenarios) {
      const g = grades.find((x) => x.scenario === s.id)!;
      const how = delivered.get(s.id);
      if (s.expect === "no-delivery" && how !== "no") {
        expect(g.verdict, `${s.id}: ${g.reason}`).toBe("fail");
        if (how === "cleartext") expect(g.reason).toMatch(/cleartext/i);
      }
      if (s.expect === "deliver" && how === "tls") {
        expect(g.verdict, `${s.id}: ${g.reason}`).toBe("pass");
      }
    }
    // The careless client really did reach the traps: cleartext where STARTTLS is absent, TLS to a mismatched TLSA.
    expect(delivered.get("no-starttls")).toBe("cleartext");
    expect(delivered.get("ee-mismatch")).toBe("tls");
    expect(grades.find((g) => g.scenario === "no-starttls")?.reason).toMatch(/cleartext/i);
  }, 300_000);
});

describe("greylisting re-armed over the HTTP API", () => {
  it("POST /api/greylist/reset makes a client's next connections greylisted again, like its first visit", async () => {
    const mx = scenario("greylist-then-starttls").mx[0]!;
    const client = "127.0.13.77";
    const greeting = async () => {
      const c = await SmtpTestClient.connect(mx.addresses[0]!, mx.port, client);
      const r = await c.reply();
      c.socket.destroy();
      return r.code;
    };
    const reset = (body: object) =>
      fetch(`${lab.manifest.http!.url}/api/greylist/reset`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    expect([await greeting(), await greeting(), await greeting()]).toEqual([421, 421, 220]);
    const one = await reset({ address: client });
    expect(one.status).toBe(200);
    expect(await one.json()).toEqual({ ok: true, address: client });
    expect([await greeting(), await greeting(), await greeting()]).toEqual([421, 421, 220]);
    expect((await reset({})).status).toBe(200);
    expect(await greeting()).toBe(421);
    const bad = await reset({ address: "mx.example" });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toMatch(
      /not an IP address.*or \{\} to re-arm greylisting for every client/,
    );
  });
});
