// The sts fault id-changes inside a running lab, checked from outside: dig asked twice for `_mta-sts.<domain>` TXT gets
// two different ids (RFC 8461 §3.1), each with its own RRSIG; delv, anchored only at the lab's trust anchor, fully
// validates both; the policy server serves the same policy whatever the id, and logs every fetch; the DNS event log
// marks the rotating answers.
// Loopback addresses of this file: DNS (and the policy server, its default) 127.0.95.1, SMTP from 127.0.95.10.
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ScenarioPlan } from "../lab/catalogue/compile.js";
import type { Lab } from "../lab/index.js";
import { startLab } from "../lab/index.js";
import { announcedIds, POLICY_PATH, policyText, stsRecordText } from "../lab/sts/policy.js";
import { PUBLIC_ROOT_FILE } from "../lab/sts/sites.js";
import { bindTrustAnchors } from "../zones/index.js";

const run = promisify(execFile);
const DNS = "127.0.95.1";
const ID = "sts-id-changes";

let lab: Lab;
let stateDir: string;
let sp: ScenarioPlan;

beforeAll(async () => {
  stateDir = mkdtempSync(join(tmpdir(), "danelab-stsid-"));
  lab = await startLab({
    stateDir,
    only: [ID],
    dnsAddress: DNS,
    dnsPort: 53,
    smtpFirstAddress: "127.0.95.10",
    smtpPort: 25,
    httpPort: null,
  });
  sp = lab.plan.scenarios.find((s) => s.scenario.id === ID)!;
}, 180_000);

afterAll(async () => {
  await lab?.stop();
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
});

const name = () => `_mta-sts.${sp.domain}`;
const expectedTexts = () => announcedIds(sp.sts!).map((id) => `"${stsRecordText(id)}"`);

describe("the _mta-sts TXT record under the id-changes fault", () => {
  it("gives successive queries different ids, each signed (authoritative mode) and validated (resolver mode)", async () => {
    expect(expectedTexts()).toHaveLength(2);
    // Authoritative mode, as a validating resolver asks: one TXT and its RRSIG per answer, the two answers differ.
    const auth = async () => {
      const { stdout } = await run("dig", [`@${DNS}`, "+dnssec", "+norec", "+time=3", "+tries=1", name(), "TXT"]);
      expect(stdout).toMatch(/RRSIG\s+TXT 13 /);
      const txt = [...stdout.matchAll(/\sTXT\s+("v=STSv1;[^"]*")/g)].map((m) => m[1]);
      expect(txt).toHaveLength(1);
      return txt[0];
    };
    const first = await auth();
    const second = await auth();
    expect(first).not.toBe(second);
    expect([first, second].sort()).toEqual(expectedTexts().sort());

    // Resolver mode: AD on both (the lab validated each RRset it hands out).
    const rec = async () => {
      const { stdout } = await run("dig", [`@${DNS}`, "+dnssec", "+time=3", "+tries=1", name(), "TXT"]);
      expect(stdout).toMatch(/;; flags: [a-z ]*\bad\b/);
      return /\sTXT\s+("v=STSv1;[^"]*")/.exec(stdout)?.[1];
    };
    const a = await rec();
    const b = await rec();
    expect([a, b].sort()).toEqual(expectedTexts().sort());

    // delv validates each answer itself, from the lab's trust anchor alone.
    const anchors = join(stateDir, "anchors.conf");
    writeFileSync(anchors, bindTrustAnchors(lab.manifest.dns.trustAnchors, "static-ds"));
    const delv = async () => {
      const { stdout, stderr } = await run("delv", [`@${DNS}`, "-a", anchors, "+root=.", name(), "TXT"]);
      const out = stdout + stderr;
      expect(out).toContain("; fully validated");
      return /\sTXT\s+("v=STSv1;[^"]*")/.exec(out)?.[1];
    };
    const d1 = await delv();
    const d2 = await delv();
    expect(d1).not.toBe(d2);
    expect([d1, d2].sort()).toEqual(expectedTexts().sort());

    // The DNS event log (which folds a client's repeats within a minute) marks these answers with the fault.
    const logged = lab.events.all({ kind: "dns-query" }).filter((e) => e.name === name() && e.type === "TXT");
    expect(logged.length).toBeGreaterThanOrEqual(1);
    expect(logged.every((e) => e.fault === "rotate")).toBe(true);
  }, 60_000);
});

describe("the policy behind the changing id", () => {
  it("is the same valid policy on every fetch, and each fetch is logged", async () => {
    const host = sp.sts!.host;
    const root = join(stateDir, PUBLIC_ROOT_FILE);
    const fetch = () =>
      run("curl", ["-sS", "--cacert", root, "--resolve", `${host}:443:${DNS}`, `https://${host}${POLICY_PATH}`]);
    expect((await fetch()).stdout).toBe(policyText(sp.sts!));
    expect((await fetch()).stdout).toBe(policyText(sp.sts!));
    const fetches = lab.events.all({ kind: "sts-fetch" }).filter((e) => e.scenario === ID);
    expect(fetches).toHaveLength(2);
    for (const f of fetches) expect(f).toMatchObject({ status: 200, fault: "id-changes", path: POLICY_PATH });
    expect(String(fetches[0]!.served)).toContain("id-changes");
  }, 30_000);
});
