// The client drivers end to end against a stand-in lab (clients/fixtures/mini-lab.ts on 127.0.14.x): real Exim
// (GnuTLS) and real Postfix (OpenSSL) in containers resolve MX/A/TLSA through a DNS responder that sets AD like a
// validating resolver, and deliver to SMTP sinks. Proves the container plumbing (host network, resolv.conf with
// trust-ad), the generated configurations, the retry rounds and the log parsers on the MTAs' real log lines.
// Needs root, the Docker engine and the client images: `sudo bash scripts/setup-host.sh`.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { removeStaleContainers } from "../clients/container.js";
import { deliverAll, type MtaDriver } from "../clients/driver.js";
import { eximDriver } from "../clients/exim.js";
import { type MiniLab, startMiniLab } from "../clients/fixtures/mini-lab.js";
import type { ClientOutcome } from "../clients/outcome.js";
import { postfixDriver } from "../clients/postfix.js";

const ready =
  process.getuid?.() === 0 &&
  spawnSync("docker", ["image", "inspect", "localhost/danelab-exim:latest", "localhost/danelab-postfix:latest"])
    .status === 0;

const SCENARIOS = ["dane-ok", "dane-bad", "no-tls", "insecure", "greylist"] as const;

describe.skipIf(!ready)("client drivers against a stand-in lab", () => {
  let lab: MiniLab;
  let workDir: string;
  const artifacts = process.env["DANELAB_CLIENT_LOGS"];

  beforeAll(async () => {
    removeStaleContainers();
    workDir = mkdtempSync(join(tmpdir(), "danelab-clients-"));
    lab = await startMiniLab({
      dnsAddress: "127.0.14.1",
      scenarios: [
        { id: "dane-ok", address: "127.0.14.10" },
        { id: "dane-bad", address: "127.0.14.11", tlsa: "wrong" },
        { id: "no-tls", address: "127.0.14.12", starttls: false },
        { id: "insecure", address: "127.0.14.13", secure: false, tlsa: "none" },
        { id: "greylist", address: "127.0.14.14", greylistConnections: 2 },
      ],
    });
  });
  afterAll(async () => {
    await lab?.stop();
    rmSync(workDir, { recursive: true, force: true });
  });

  async function run(
    make: (o: Parameters<typeof postfixDriver>[0]) => MtaDriver,
    source: string,
  ): Promise<{ outcomes: Map<string, ClientOutcome>; runId: string; rcpt: (s: string) => string }> {
    const runId = `${Date.now().toString(36)}-${source.split(".").pop()}`;
    const driver = make({ runId, nameserver: lab.dnsAddress, suffix: lab.suffix, workDir, sourceAddress: source });
    const t0 = performance.now();
    try {
      await driver.start();
      const startMs = performance.now() - t0;
      const rcpts = SCENARIOS.map((s) => lab.recipient(s, runId));
      const timings = await deliverAll(driver, rcpts, { retryDelaysMs: [500, 500, 500] });
      console.log(
        `${driver.variant}: container ready in ${Math.round(startMs)} ms; first attempts ${timings.firstAttemptMs} ms; ` +
          `all rounds ${timings.totalMs} ms (${timings.rounds} rounds)`,
      );
      if (artifacts) writeFileSync(join(artifacts, `${driver.variant}.log`), await driver.rawLog());
      return { outcomes: await driver.outcomes(rcpts), runId, rcpt: (s) => lab.recipient(s, runId) };
    } finally {
      await driver.stop();
    }
  }

  const arrived = (runId: string, scenario: string) =>
    lab.received.filter((m) => m.scenario === scenario && m.recipients.some((r) => r.includes(runId)));

  it("Exim (hosts_try_dane): DANE where TLSA is secure, never cleartext, retries greylisting", async () => {
    const { outcomes, runId, rcpt } = await run((o) => eximDriver("try", o), "127.0.14.101");
    expect(outcomes.get(rcpt("dane-ok"))).toMatchObject({ status: "delivered", security: "dane", attempts: 1 });
    expect(arrived(runId, "dane-ok")[0]).toMatchObject({ tls: true, servername: "mx.dane-ok.clients.example" });
    expect(outcomes.get(rcpt("dane-bad"))?.status).toBe("deferred");
    expect(outcomes.get(rcpt("dane-bad"))?.attempts).toBe(4);
    expect(outcomes.get(rcpt("no-tls"))?.status).toBe("deferred");
    expect(outcomes.get(rcpt("no-tls"))?.error).toMatch(/TLS/);
    expect(outcomes.get(rcpt("insecure"))).toMatchObject({ status: "delivered", security: "tls-unverified" });
    expect(outcomes.get(rcpt("greylist"))).toMatchObject({ status: "delivered", security: "dane", attempts: 3 });
    expect(outcomes.get(rcpt("greylist"))?.error).toMatch(/421/);
    expect(arrived(runId, "dane-bad")).toHaveLength(0);
    expect(arrived(runId, "no-tls")).toHaveLength(0);
  });

  it("Exim (hosts_require_dane + dnssec_require_domains): refuses the insecure destination", async () => {
    const { outcomes, runId, rcpt } = await run((o) => eximDriver("strict", o), "127.0.14.102");
    expect(outcomes.get(rcpt("dane-ok"))).toMatchObject({ status: "delivered", security: "dane" });
    expect(outcomes.get(rcpt("insecure"))).toMatchObject({ status: "deferred", error: "host lookup done insecurely" });
    expect(arrived(runId, "insecure")).toHaveLength(0);
    expect(outcomes.get(rcpt("dane-bad"))?.status).toBe("deferred");
  });

  it("Postfix (smtp_tls_security_level = dane): Verified where TLSA is secure, defers on mismatch", async () => {
    const { outcomes, runId, rcpt } = await run((o) => postfixDriver(o), "127.0.14.103");
    expect(outcomes.get(rcpt("dane-ok"))).toMatchObject({ status: "delivered", security: "dane", attempts: 1 });
    expect(arrived(runId, "dane-ok")[0]).toMatchObject({ tls: true, servername: "mx.dane-ok.clients.example" });
    expect(outcomes.get(rcpt("dane-bad"))?.status).toBe("deferred");
    expect(outcomes.get(rcpt("no-tls"))?.status).toBe("deferred");
    expect(outcomes.get(rcpt("no-tls"))?.error).toMatch(/TLS is required/);
    expect(outcomes.get(rcpt("insecure"))?.status).toBe("delivered");
    expect(outcomes.get(rcpt("insecure"))?.security).not.toBe("dane");
    expect(outcomes.get(rcpt("greylist"))).toMatchObject({ status: "delivered", security: "dane" });
    expect(outcomes.get(rcpt("greylist"))?.attempts).toBeGreaterThanOrEqual(2);
    expect(arrived(runId, "no-tls")).toHaveLength(0);
  });
});
