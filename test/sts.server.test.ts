// The MTA-STS policy server (lab/sts/) inside a running lab, checked from outside with curl, openssl and dig: every
// policy is fetched as an MTA-STS sender would (name resolved through the lab's DNS, certificate checked against the
// lab's public root only), each fault behaves as its scenario says, fetches land on the event log, PKIX-valid MX
// certificates verify under the public root and DANE-hierarchy ones do not, and hostile HTTPS input (garbage,
// slowloris, huge headers) leaves the server serving. A taken port gives the one-paragraph error.
// Loopback addresses of this file: DNS (and the policy server, its default) 127.0.93.1, a second policy server
// 127.0.93.3, SMTP from 127.0.93.10.
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { connect as netConnect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect as tlsConnect } from "node:tls";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Lab } from "../lab/index.js";
import { startLab } from "../lab/index.js";
import { announcedIds, POLICY_PATH, policyText, stsRecordText } from "../lab/sts/policy.js";
import { type StsServer, startStsServer } from "../lab/sts/server.js";
import { PUBLIC_ROOT_FILE, stsSites } from "../lab/sts/sites.js";

const run = promisify(execFile);
const DNS = "127.0.93.1";
const SECOND = "127.0.93.3";

let lab: Lab;
let stateDir: string;
let publicRoot: string;

beforeAll(async () => {
  stateDir = mkdtempSync(join(tmpdir(), "danelab-sts-"));
  lab = await startLab({
    stateDir,
    groups: ["mta-sts"],
    dnsAddress: DNS,
    dnsPort: 53,
    smtpFirstAddress: "127.0.93.10",
    smtpPort: 25,
    httpPort: null,
  });
  publicRoot = join(stateDir, PUBLIC_ROOT_FILE);
}, 180_000);

afterAll(async () => {
  await lab?.stop();
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
});

const plans = () => lab.plan.scenarios.filter((sp) => sp.sts !== null);
const plan = (id: string) => {
  const sp = lab.plan.scenarios.find((s) => s.scenario.id === id);
  if (!sp?.sts) throw new Error(`scenario ${id} has no sts plan`);
  return sp;
};

async function dig(...args: string[]): Promise<string> {
  const { stdout } = await run("dig", [`@${DNS}`, "+short", "+time=3", "+tries=1", ...args]);
  return stdout.trim();
}

/** curl as a sender fetches: the address from the lab's DNS, only the public root trusted, redirects not followed. */
async function curl(host: string, ...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const address = await dig(host, "A");
  try {
    const { stdout, stderr } = await run(
      "curl",
      ["-sS", "--cacert", publicRoot, "--resolve", `${host}:443:${address}`, ...args, `https://${host}${POLICY_PATH}`],
      { timeout: 20_000 },
    );
    return { code: 0, out: stdout, err: stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, out: e.stdout ?? "", err: e.stderr ?? "" };
  }
}

async function openssl(args: string[]): Promise<string> {
  try {
    // stdin closed at once: s_client then says QUIT/closes after the handshake instead of waiting for input.
    const pending = run("openssl", ["s_client", ...args], { timeout: 20_000 });
    pending.child.stdin?.end();
    const { stdout, stderr } = await pending;
    return stdout + stderr;
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    return `${e.stdout ?? ""}${e.stderr ?? ""}`;
  }
}

/** openssl's view of a policy host's certificate, checked against the public root and the mta-sts name. */
const policyHostTls = (host: string) =>
  openssl(["-connect", `${DNS}:443`, "-servername", host, "-CAfile", publicRoot, "-verify_hostname", host]);

describe("DNS of the mta-sts scenarios", () => {
  it("publishes _mta-sts, _smtp._tls and the policy host's address, in unsigned and signed zones", async () => {
    for (const sp of plans()) {
      // Under the id-changes fault the record takes turns between two ids (test/sts.id-changes.test.ts).
      const announced = announcedIds(sp.sts!).map((id) => `"${stsRecordText(id)}"`);
      expect(announced).toContain(await dig(`_mta-sts.${sp.domain}`, "TXT"));
      expect(await dig(`_smtp._tls.${sp.domain}`, "TXT")).toBe(`"v=TLSRPTv1; rua=mailto:tlsrpt@${sp.domain}"`);
      expect(await dig(sp.sts!.host, "A")).toBe(DNS);
    }
    // Signed zone: the records carry RRSIGs and validate (AD) from the lab's trust anchor.
    const signed = plan("sts-dane-fail-sts-pass");
    const { stdout } = await run("dig", [`@${DNS}`, "+dnssec", "+norec", `_mta-sts.${signed.domain}`, "TXT"]);
    expect(stdout).toMatch(/RRSIG\s+TXT/);
    const unsigned = plan("sts-enforce-pkix");
    const plain = await run("dig", [`@${DNS}`, "+dnssec", "+norec", `_mta-sts.${unsigned.domain}`, "TXT"]);
    expect(plain.stdout).not.toMatch(/RRSIG\s+TXT/);
  });
});

describe("policy fetches over HTTPS", () => {
  it("serves each scenario's policy as text/plain under the public root, and logs the fetch", async () => {
    const ok = plans().filter((sp) => sp.sts!.fault === null);
    expect(ok.length).toBeGreaterThanOrEqual(5);
    for (const sp of ok) {
      const r = await curl(sp.sts!.host, "-D", "-");
      expect(r.code, `${sp.scenario.id}: ${r.err}`).toBe(0);
      expect(r.out).toMatch(/^HTTP\/1\.1 200 OK/);
      expect(r.out).toMatch(/content-type: text\/plain/i);
      expect(r.out.endsWith(policyText(sp.sts!))).toBe(true);
      expect(r.out).toContain(`mode: ${sp.sts!.mode}`);
    }
    const fetches = lab.events.all({ kind: "sts-fetch" });
    for (const sp of ok) {
      const e = fetches.find((f) => f.scenario === sp.scenario.id);
      expect(e, sp.scenario.id).toMatchObject({
        status: 200,
        client: "127.0.0.1",
        host: sp.sts!.host,
        path: POLICY_PATH,
      });
    }
  });

  it("breaks each fetch the way its fault says", async () => {
    const host = (id: string) => plan(id).sts!.host;
    const notFound = await curl(host("sts-fetch-not-found"), "-o", "/dev/null", "-w", "%{http_code}");
    expect(notFound.out).toBe("404");

    const html = await curl(host("sts-fetch-content-type"), "-o", "/dev/null", "-w", "%{http_code} %{content_type}");
    expect(html.out).toBe("200 text/html");

    const redirect = await curl(host("sts-fetch-redirect"), "-o", "/dev/null", "-w", "%{http_code} %{redirect_url}");
    expect(redirect.out).toBe(`301 https://${host("sts-fetch-redirect")}/.well-known/mta-sts-moved.txt`);

    // Certificate faults: curl refuses (exit 60), and openssl says why.
    const untrusted = await curl(host("sts-fetch-untrusted"));
    expect(untrusted.code).toBe(60);
    expect(untrusted.err).toMatch(/unable to get local issuer certificate/);
    const untrustedTls = await policyHostTls(host("sts-fetch-untrusted"));
    expect(untrustedTls).toMatch(/Verify return code: 20 \(unable to get local issuer certificate\)/);
    // The issuer is the lab's DANE CA, not the public one.
    expect(untrustedTls).toMatch(/i:.*CN ?= ?danelab R3/);

    const wrongName = await curl(host("sts-fetch-wrong-name"));
    expect(wrongName.code).toBe(60);
    expect(wrongName.err).toMatch(/no alternative certificate subject name matches/);
    const wrongNameTls = await policyHostTls(host("sts-fetch-wrong-name"));
    expect(wrongNameTls).toMatch(/Verify return code: 62 \(hostname mismatch\)/);

    const started = Date.now();
    const timeout = await curl(host("sts-fetch-timeout"), "-m", "3");
    expect(timeout.code).toBe(28);
    expect(Date.now() - started).toBeGreaterThanOrEqual(2_900);

    const events = lab.events.all({ kind: "sts-fetch" });
    expect(events.find((e) => e.scenario === "sts-fetch-redirect")).toMatchObject({ status: 301 });
    expect(events.find((e) => e.scenario === "sts-fetch-timeout")).toMatchObject({ status: 0 });
    // curl's alert for the untrusted certificate reaches the log as the sender's refusal.
    expect(lab.events.all({ kind: "sts-tls-error" }).find((e) => e.scenario === "sts-fetch-untrusted")).toMatchObject({
      reason: "alert unknown ca",
    });
  }, 60_000);
});

describe("the grader's MTA-STS evidence", () => {
  it("shows the policy fetches, the deciding rule, and a TLS-RPT report that arrived by mail at the rua address", async () => {
    const sp = plan("sts-testing-untrusted-mx");
    await curl(sp.sts!.host);
    const mx = sp.hosts[0]!;
    // A TLS-RPT report (RFC 8460 §3) as a reporting sender would mail it; swaks stands in for that sender.
    await run("swaks", [
      ...["--to", sp.sts!.tlsrpt!, "--from", "reports@sender.example", "--server", `${mx.address}:25`],
      ...["-tls", "--timeout", "10", "--header", "Subject: Report Domain: x Submitter: y Report-ID: <1>"],
    ]);
    const grade = lab.report().find((g) => g.scenario === sp.scenario.id) as ReturnType<Lab["report"]>[number] & {
      sts?: { fetches: number; tlsRptReports: number; mode: string };
    };
    expect(grade.sts).toMatchObject({ mode: "testing", tlsRptReports: 1 });
    expect(grade.sts!.fetches).toBeGreaterThanOrEqual(1);
    expect(grade.reason).toMatch(/MTA-STS testing: policy fetched \d+×/);
    expect(grade.reason).toContain(`TLS-RPT reports received at ${sp.sts!.tlsrpt}: 1`);
    expect(grade.reason).toContain("RFC 8461 §5, testing");
    const dane = lab.report().find((g) => g.scenario === "sts-dane-fail-sts-pass")!;
    expect(dane.reason).toContain("RFC 8461 §2");
  }, 60_000);
});

describe("MX certificates under the public root", () => {
  const verify = async (id: string) => {
    const sp = plan(id);
    const mx = sp.hosts[0]!;
    return openssl([
      "-starttls",
      "smtp",
      "-connect",
      `${mx.address}:25`,
      "-servername",
      mx.name,
      "-verify_hostname",
      mx.name,
      "-CAfile",
      publicRoot,
    ]);
  };
  it("verify (PKIX) where the scenario says, and fail where the leaf comes from the DANE hierarchy", async () => {
    expect(await verify("sts-enforce-pkix")).toMatch(/Verify return code: 0 \(ok\)/);
    expect(await verify("sts-dane-fail-sts-pass")).toMatch(/Verify return code: 0 \(ok\)/);
    expect(await verify("sts-enforce-untrusted-mx")).toMatch(/Verify return code: 20 /);
    expect(await verify("sts-dane-pass-pkix-fail")).toMatch(/Verify return code: 20 /);
  }, 60_000);
});

describe("hostile HTTPS input", () => {
  let server: StsServer;
  beforeAll(async () => {
    server = await startStsServer({
      address: SECOND,
      port: 443,
      sites: stsSites(lab.plan, lab.pki),
      deadlineMs: 1_000,
    });
  });
  afterAll(async () => server?.close());

  const fetchPolicy = async () => {
    const host = plan("sts-enforce-pkix").sts!.host;
    const { stdout } = await run("curl", [
      "-sS",
      "--cacert",
      publicRoot,
      "--resolve",
      `${host}:443:${SECOND}`,
      `https://${host}${POLICY_PATH}`,
    ]);
    return stdout;
  };

  /** Opens a connection, runs `talk`, and resolves with how long the server took to close it. */
  const closedAfter = (open: () => import("node:net").Socket, talk: (s: import("node:net").Socket) => void) =>
    new Promise<number>((resolve) => {
      const t0 = Date.now();
      const s = open();
      s.on("error", () => {});
      s.on("close", () => resolve(Date.now() - t0));
      talk(s);
    });

  it("drops garbage, cuts off slowloris, refuses huge headers, and keeps serving", async () => {
    // Garbage instead of a ClientHello.
    const garbage = await closedAfter(
      () => netConnect(443, SECOND),
      (s) => s.write(Buffer.alloc(4096, 0x41)),
    );
    expect(garbage).toBeLessThan(2_000);
    // A TLS connection that never finishes its request line: closed after the 1 s deadline, not held.
    const host = plan("sts-enforce-pkix").sts!.host;
    const slow = await closedAfter(
      () => tlsConnect({ host: SECOND, port: 443, servername: host, rejectUnauthorized: false }),
      (s) => {
        s.write("GET /.well-known/mta-sts.txt HTTP/1.1\r\nHost: ");
        const drip = setInterval(() => s.writable && s.write("a"), 200);
        s.on("close", () => clearInterval(drip));
      },
    );
    expect(slow).toBeGreaterThanOrEqual(900);
    expect(slow).toBeLessThan(5_000);
    // 64 KiB of headers: 431, then closed.
    const huge = await new Promise<string>((resolve) => {
      const s = tlsConnect({ host: SECOND, port: 443, servername: host, rejectUnauthorized: false });
      let got = "";
      s.on("data", (d) => {
        got += d.toString();
      });
      s.on("error", () => resolve(got));
      s.on("close", () => resolve(got));
      s.on("secureConnect", () =>
        s.write(`GET ${POLICY_PATH} HTTP/1.1\r\nHost: ${host}\r\nX-Big: ${"b".repeat(65_536)}\r\n\r\n`),
      );
    });
    expect(huge).toMatch(/^HTTP\/1\.1 431/);
    // Many at once: the server still answers a well-behaved sender.
    const crowd = Array.from({ length: 50 }, () => netConnect(443, SECOND).on("error", () => {}));
    expect(await fetchPolicy()).toBe(policyText(plan("sts-enforce-pkix").sts!));
    for (const c of crowd) c.destroy();
  }, 30_000);

  it("says in one paragraph what to do when the port is taken", async () => {
    const err = await startStsServer({ address: SECOND, port: 443, sites: [] }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).name).toBe("ListenError");
    expect((err as Error).message).toMatch(
      /MTA-STS policy server cannot listen on 127\.0\.93\.3:443 \(TCP\): .*in use/,
    );
    expect((err as Error).message).toContain("--sts-address");
    expect((err as Error).message).not.toContain("\n");
  });
});
