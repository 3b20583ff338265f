// Postfix + Debian's postfix-mta-sts-resolver (the postfix-sts image) against the lab's mta-sts group: what the usual
// MTA-STS set-up for Postfix really does, graded by the lab from the server side and read from Postfix's own log.
// The finding (RFC 8461 §2; Snawoot/postfix-mta-sts-resolver#67): where DANE fails and the MTA-STS policy passes, the
// resolver's "secure" answer replaces Postfix's DANE check and the message is delivered. Under the id-changes fault a
// second message, sent once the resolver's 60 s cache grace has passed (so this file takes over a minute), shows that
// a changed `_mta-sts` id makes it fetch the policy again (RFC 8461 §3.1).
// Needs root (ports 25/53/443), Docker and the image (`sudo bash scripts/images/build.sh postfix-sts`).
// Loopback addresses of this file: DNS and policy server 127.0.94.1, SMTP from 127.0.94.10, Postfix 127.0.94.201.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deliverAll, type MtaDriver } from "../clients/driver.js";
import type { ClientOutcome } from "../clients/outcome.js";
import { POSTFIX_STS_IMAGE, postfixStsDriver } from "../clients/postfix-sts.js";
import type { ScenarioGrade } from "../lab/grade/index.js";
import type { Lab } from "../lab/index.js";
import { startLab } from "../lab/index.js";
import { withoutTrailingDot } from "../zones/names.js";

const DNS = "127.0.94.1";
const ready = process.getuid?.() === 0 && spawnSync("docker", ["image", "inspect", POSTFIX_STS_IMAGE]).status === 0;

describe.runIf(!ready && process.env["DANELAB_REQUIRE_CLIENTS"] === "1")("postfix-sts prerequisites", () => {
  it("has root, Docker and the postfix-sts image", () => {
    expect.fail(`needs root, a running Docker engine and ${POSTFIX_STS_IMAGE}: sudo bash scripts/setup-host.sh`);
  });
});

describe.skipIf(!ready)("Postfix + postfix-mta-sts-resolver against the mta-sts group", () => {
  let lab: Lab;
  let stateDir: string;
  let driver: MtaDriver;
  const runId = "sts1";
  const outcomes = new Map<string, ClientOutcome>();
  let grades: ScenarioGrade[] = [];
  const outcome = (id: string) => outcomes.get(id);
  const grade = (id: string) => grades.find((g) => g.scenario === id);

  beforeAll(async () => {
    stateDir = mkdtempSync(join(tmpdir(), "danelab-sts-client-"));
    lab = await startLab({
      stateDir,
      groups: ["mta-sts"],
      dnsAddress: DNS,
      dnsPort: 53,
      smtpFirstAddress: "127.0.94.10",
      smtpPort: 25,
      httpPort: null,
    });
    driver = postfixStsDriver({
      runId,
      nameserver: DNS,
      suffix: "lab.example",
      sourceAddress: "127.0.94.201",
      workDir: join(stateDir, "postfix-sts"),
      publicRootPem: readFileSync(lab.manifest.sts!.publicRoot, "utf8"),
      settleLimitMs: 30_000,
    });
    await driver.start();
    const recipients = lab.manifest.scenarios.map((s) => `run-${runId}@${withoutTrailingDot(s.domain)}`);
    await deliverAll(driver, recipients, { retryDelaysMs: [3_000] });
    const byRecipient = await driver.outcomes(recipients);
    for (const s of lab.manifest.scenarios) {
      const o = byRecipient.get(`run-${runId}@${withoutTrailingDot(s.domain)}`);
      if (o) outcomes.set(s.id, o);
    }
    grades = lab.report(runId);
  }, 300_000);

  afterAll(async () => {
    await driver?.stop();
    await lab?.stop();
    if (stateDir) rmSync(stateDir, { recursive: true, force: true });
  });

  it("fetches each policy over HTTPS once, and never follows the redirect", () => {
    const fetches = lab.events.all({ kind: "sts-fetch" });
    for (const id of ["sts-enforce-pkix", "sts-mx-mismatch", "sts-dane-fail-sts-pass", "sts-fetch-redirect"])
      expect(
        fetches.some((e) => e.scenario === id && e.client === "127.0.0.1"),
        id,
      ).toBe(true);
    expect(fetches.find((e) => e.scenario === "sts-enforce-pkix")).toMatchObject({ status: 200, mode: "enforce" });
    expect(fetches.filter((e) => String(e.path).includes("moved"))).toEqual([]);
  });

  it("enforce: delivers to a PKIX-valid MX, defers an untrusted certificate and an MX outside the policy", () => {
    expect(outcome("sts-enforce-pkix")?.status).toBe("delivered");
    expect(grade("sts-enforce-pkix")?.verdict).toBe("pass");
    for (const id of ["sts-enforce-untrusted-mx", "sts-mx-mismatch"]) {
      expect(outcome(id)?.status, id).not.toBe("delivered");
      expect(grade(id)?.verdict, id).toBe("pass");
    }
  });

  it("testing mode and every failed fetch (404, text/html, untrusted or wrong-name certificate, redirect, timeout) deliver", () => {
    const ids = lab.manifest.scenarios
      .filter((x) => x.sts && ((x.sts.fault && x.sts.fault !== "id-changes") || x.sts.mode === "testing"))
      .map((x) => x.id);
    expect(ids).toHaveLength(7);
    for (const id of ids) {
      expect(outcome(id)?.status, id).toBe("delivered");
      expect(outcome(id)?.security, id).not.toBe("cleartext");
      expect(grade(id)?.verdict, id).toBe(id === "sts-fetch-content-type" ? "observed" : "pass");
    }
  });

  it("id-changes: fetches the policy behind the changing _mta-sts id and delivers to the PKIX-valid MX", () => {
    const fetches = lab.events.all({ kind: "sts-fetch" }).filter((e) => e.scenario === "sts-id-changes");
    expect(fetches).toHaveLength(1);
    expect(fetches[0]).toMatchObject({ status: 200, client: "127.0.0.1", fault: "id-changes" });
    expect(outcome("sts-id-changes")?.status).toBe("delivered");
    expect(grade("sts-id-changes")?.verdict).toBe("pass");
  });

  // RFC 8461 §3.1: a new id means a new policy. The resolver keeps a policy without looking again for cache_grace
  // (mta-sts-daemon.yml(5): default 60 s); after that a look-up queries the TXT record and fetches the policy only
  // when the id differs from the cached one. sts-enforce-pkix (same id every time) is the control.
  it("id-changes: a message after the cache grace makes a new look-up, and the changed id a second fetch", async () => {
    const fetchesOf = (id: string) => lab.events.all({ kind: "sts-fetch" }).filter((e) => e.scenario === id);
    const first = Date.parse(String(fetchesOf("sts-id-changes")[0]!.time));
    await new Promise((r) => setTimeout(r, Math.max(0, first + 62_000 - Date.now())));
    const domains = ["sts-id-changes", "sts-enforce-pkix"].map(
      (id) => lab.manifest.scenarios.find((x) => x.id === id)!.domain,
    );
    const again = domains.map((d) => `again-${runId}@${d.replace(/\.$/, "")}`);
    await deliverAll(driver, again, { retryDelaysMs: [3_000] });
    const delivered = await driver.outcomes(again);
    for (const r of again) expect(delivered.get(r)?.status, r).toBe("delivered");
    expect(fetchesOf("sts-id-changes")).toHaveLength(2);
    expect(fetchesOf("sts-enforce-pkix")).toHaveLength(1);
    // Both domains' TXT records were looked up again (the DNS log folds a client's repeats within a minute).
    const txtLookups = (id: string) =>
      lab.events.all({ kind: "dns-query" }).filter((e) => e.name === `_mta-sts.${id}.lab.example` && e.type === "TXT");
    expect(txtLookups("sts-id-changes")).toHaveLength(2);
    expect(txtLookups("sts-enforce-pkix")).toHaveLength(2);
  }, 120_000);

  // The finding: the resolver's "secure" answer replaces Postfix's DANE level for the domain (upstream issue
  // Snawoot/postfix-mta-sts-resolver#67), both ways round.
  it("FINDING: delivers where DANE fails and MTA-STS passes (RFC 8461 §2 forbids it)", () => {
    expect(outcome("sts-dane-fail-sts-pass")?.status).toBe("delivered");
    expect(grade("sts-dane-fail-sts-pass")?.verdict).toBe("fail");
  });

  it("FINDING: defers where DANE authenticates the MX but its certificate is not publicly trusted", () => {
    expect(outcome("sts-dane-pass-pkix-fail")?.status).toBe("deferred");
    expect(grade("sts-dane-pass-pkix-fail")?.verdict).toBe("fail");
  });
});
