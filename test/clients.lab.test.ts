// The client matrix against the real lab (startLab, in process): Exim/GnuTLS in both DANE modes and Postfix/OpenSSL
// in containers send one message per scenario, and the matrix puts the lab's server-side grade next to each MTA's own
// log line. The assertions are the facts a mail admin relies on (design/scenarios.md, "known"): DANE deliveries are
// DANE, no MTA ever delivers in cleartext where TLSA applies, and Debian bug #1075900 shows up as Exim's
// "Key usage violation" deferral while Postfix delivers.
// Needs root (ports 25/53), the Docker engine and the client images: `sudo bash scripts/setup-host.sh`.
// Loopback addresses of this file: DNS 127.0.14.53, unbound 127.0.14.54, HTTP 127.0.14.55, SMTP from 127.0.14.120,
// MTA source addresses 127.0.14.201–206.
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CheckResult, runCheck } from "../clients/check.js";
import { formatMatrix, type Matrix } from "../clients/matrix.js";
import { type Lab, startLab } from "../lab/index.js";

const ready =
  process.getuid?.() === 0 &&
  spawnSync("docker", ["image", "inspect", "localhost/danelab-exim:latest", "localhost/danelab-postfix:latest"])
    .status === 0;

const SCENARIOS = [
  "ta-baseline",
  "ee-baseline",
  "seed-mx06-ku",
  "no-starttls",
  "greylist-then-starttls",
  "tlsa-nxdomain",
  "ta-wrong-name",
  "all-unusable",
  "tlsa-insecure",
];

describe.skipIf(!ready)("client matrix against the real lab", () => {
  let lab: Lab;
  let stateDir: string;
  let result: CheckResult;
  const cell = (m: Matrix, scenario: string, column: string) =>
    m.rows.find((r) => r.scenario === scenario)?.cells[column];

  beforeAll(async () => {
    stateDir = mkdtempSync(join(tmpdir(), "danelab-check-"));
    lab = await startLab({
      stateDir,
      // DANELAB_CHECK_ALL=1: the whole catalogue (a few minutes); the assertions below look at these scenarios only.
      ...(process.env["DANELAB_CHECK_ALL"] ? {} : { only: SCENARIOS }),
      dnsAddress: "127.0.14.53",
      dnsPort: 53,
      smtpFirstAddress: "127.0.14.120",
      smtpPort: 25,
      httpAddress: "127.0.14.55",
      httpPort: 0,
    });
    const t0 = performance.now();
    result = await runCheck({
      manifestPath: lab.manifestPath,
      clients: (process.env["DANELAB_CHECK_CLIENTS"] ?? "exim,postfix").split(","),
      modes: ["resolver"],
      sourceAddresses: ["127.0.14.201", "127.0.14.202", "127.0.14.203"],
      log: (l) => console.log(l),
    });
    console.log(`check: whole matrix in ${Math.round(performance.now() - t0)} ms`);
    const keep = process.env["DANELAB_CLIENT_LOGS"];
    if (keep)
      for (const f of readdirSync(result.dir))
        if (f.endsWith(".log")) copyFileSync(join(result.dir, f), join(keep, `lab-${f}`));
    console.log(formatMatrix(result.matrix, "table"));
  }, 900_000);

  afterAll(async () => {
    await lab?.stop();
    if (stateDir && !process.env["DANELAB_CLIENT_LOGS"]) rmSync(stateDir, { recursive: true, force: true });
  });

  it("every column ran and saved its results and the MTA's log", () => {
    expect(result.matrix.columns.map((c) => [c.id, c.error ?? null])).toEqual([
      ["exim-try", null],
      ["exim-strict", null],
      ["postfix", null],
    ]);
    expect(JSON.parse(readFileSync(join(result.dir, "matrix.json"), "utf8")).rows).toHaveLength(
      lab.manifest.scenarios.length,
    );
    expect(readFileSync(join(result.dir, "junit.xml"), "utf8")).toContain('<testsuite name="postfix"');
    expect(readFileSync(join(result.dir, "exim-try.log"), "utf8")).toContain("CV=dane");
  });

  it("all three deliver the baseline scenarios with DANE, and the lab grades them pass", () => {
    for (const col of ["exim-try", "exim-strict", "postfix"]) {
      for (const s of ["ta-baseline", "ee-baseline"]) {
        const c = cell(result.matrix, s, col);
        expect({
          col,
          s,
          status: c?.outcome?.status,
          security: c?.outcome?.security,
          verdict: c?.grade?.verdict,
        }).toEqual({ col, s, status: "delivered", security: "dane", verdict: "pass" });
      }
    }
  });

  it("reproduces Debian bug #1075900: Exim defers with GnuTLS's key-usage error, Postfix delivers", () => {
    const exim = cell(result.matrix, "seed-mx06-ku", "exim-try");
    expect(exim?.outcome?.status).toBe("deferred");
    expect(exim?.outcome?.error).toMatch(/Key usage violation in certificate has been detected/);
    expect(cell(result.matrix, "seed-mx06-ku", "postfix")?.outcome).toMatchObject({
      status: "delivered",
      security: "dane",
    });
    expect(cell(result.matrix, "seed-mx06-ku", "postfix")?.grade?.verdict).toBe("fail");
  });

  it("never delivers in cleartext, and retries greylisting until it gets through with DANE", () => {
    for (const col of ["exim-try", "exim-strict", "postfix"]) {
      for (const row of result.matrix.rows) expect(row.cells[col]?.outcome?.security).not.toBe("cleartext");
      expect(cell(result.matrix, "no-starttls", col)?.outcome?.status).toBe("deferred");
      const grey = cell(result.matrix, "greylist-then-starttls", col);
      expect(grey?.outcome).toMatchObject({ status: "delivered", security: "dane" });
      expect(grey?.outcome?.attempts).toBeGreaterThan(1);
      expect(grey?.grade?.verdict).toBe("pass");
    }
  });

  it("secure denial of TLSA: hosts_try_dane and Postfix deliver, hosts_require_dane bounces", () => {
    expect(cell(result.matrix, "tlsa-nxdomain", "exim-try")?.outcome?.status).toBe("delivered");
    expect(cell(result.matrix, "tlsa-nxdomain", "postfix")?.outcome?.status).toBe("delivered");
    expect(cell(result.matrix, "tlsa-nxdomain", "exim-strict")?.outcome).toMatchObject({ status: "bounced" });
    expect(cell(result.matrix, "tlsa-nxdomain", "exim-strict")?.outcome?.error).toMatch(/tlsa lookup FAIL/);
  });
});
