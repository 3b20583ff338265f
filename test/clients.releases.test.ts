// The client matrix across Debian releases and TLS libraries, against the real lab in both trust modes: Debian 13's
// Exim 4.98 (GnuTLS 3.8) and Postfix 3.10 (OpenSSL 3.5), and Debian 12's Exim 4.96 rebuilt with OpenSSL next to the
// stock GnuTLS build. The assertions are what these MTAs really did here, each with the MTA's own log line:
// - the key-usage half of Debian bug #1075900 is GnuTLS's check: Exim/OpenSSL delivers seed-mx06-ku with CV=dane
//   where Exim/GnuTLS defers with "Key usage violation";
// - the forged-chain flaw is GnuTLS libdane's, and Debian 13's Exim still has it (delivers ta-forged-chain, CV=dane);
//   Exim/OpenSSL and Postfix defer it.
// - the probe tools: posttls-finger agrees with Postfix; danetool prints "Certificate matches." under all 14 records of
//   many-tlsa though only one matches, and accepts the forged chain.
// Needs root (ports 25/53), the Docker engine and the images: `sudo bash scripts/images/build.sh exim@trixie`,
// `… postfix@trixie`, `… probe@bookworm`, `sudo bash scripts/images/exim-openssl.sh` (setup-host builds them).
// Loopback addresses of this file (block 127.0.89.0/24): DNS 127.0.89.53, unbound 127.0.89.54, HTTP 127.0.89.55,
// SMTP from 127.0.89.120, MTA source addresses 127.0.89.201–216.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CheckResult, runCheck } from "../clients/check.js";
import { formatMatrix } from "../clients/matrix.js";
import { type Lab, startLab } from "../lab/index.js";

const IMAGES = [
  "localhost/danelab-exim:latest",
  "localhost/danelab-exim-trixie:latest",
  "localhost/danelab-postfix-trixie:latest",
  "localhost/danelab-exim-openssl-bookworm:latest",
  "localhost/danelab-probe-bookworm:latest",
];
const ready = process.getuid?.() === 0 && spawnSync("docker", ["image", "inspect", ...IMAGES]).status === 0;

const SCENARIOS = [
  "ta-baseline",
  "seed-mx06-ku",
  "ku-no-digsig",
  "ku-digsig-only-rsa-kx",
  "ta-forged-chain",
  "ta-nexthop-name",
  "ta-wildcard-deep",
  "eku-client-only",
  "ee-mismatch",
  "tlsa-nxdomain",
  "all-unusable",
  "many-tlsa",
];
const CLIENTS = [
  "exim-try",
  "exim@trixie",
  "postfix@trixie",
  "exim-openssl@bookworm",
  "posttls-finger@trixie",
  "danetool",
];
const COLUMNS = [
  "exim-try",
  "exim-try@trixie",
  "exim-strict@trixie",
  "postfix@trixie",
  "exim-openssl-try@bookworm",
  "exim-openssl-strict@bookworm",
  "posttls-finger@trixie",
  "danetool@bookworm",
];
/** The columns that send mail (the probes only connect). */
const MTAS = COLUMNS.slice(0, 6);
const MODES = ["resolver", "unbound"] as const;

describe.runIf(!ready && process.env["DANELAB_REQUIRE_CLIENTS"] === "1")("release matrix prerequisites", () => {
  it("has root, a running Docker engine and the per-release client images", () => {
    expect.fail(
      `the release matrix needs root, a running Docker engine and the images ${IMAGES.join(", ")}: run ` +
        "'sudo bash scripts/images/build.sh exim@trixie', '… postfix@trixie', '… probe@bookworm' and 'sudo bash " +
        "scripts/images/exim-openssl.sh' (setup-host builds them).",
    );
  });
});

describe.skipIf(!ready)("client matrix across Debian releases and TLS libraries, in both trust modes", () => {
  let lab: Lab;
  let stateDir: string;
  /** One check per trust mode, one after the other, so each mode's time is measured on its own (goal: < 60 s). */
  const result = {} as Record<(typeof MODES)[number], CheckResult>;
  const cell = (scenario: string, column: string, mode: (typeof MODES)[number]) =>
    result[mode].matrix.rows.find((r) => r.scenario === scenario)?.cells[
      mode === "resolver" ? column : `${column}/${mode}`
    ];
  const last = (scenario: string, column: string, mode: (typeof MODES)[number]) =>
    cell(scenario, column, mode)?.outcome?.lines.at(-1) ?? "";

  beforeAll(async () => {
    stateDir = mkdtempSync(join(tmpdir(), "danelab-releases-"));
    lab = await startLab({
      stateDir,
      only: SCENARIOS,
      dnsAddress: "127.0.89.53",
      dnsPort: 53,
      resolver: "unbound",
      resolverAddress: "127.0.89.54",
      resolverPort: 53,
      smtpFirstAddress: "127.0.89.120",
      smtpPort: 25,
      httpAddress: "127.0.89.55",
      httpPort: 0,
    });
    for (const [m, mode] of MODES.entries()) {
      const t0 = performance.now();
      result[mode] = await runCheck({
        manifestPath: lab.manifestPath,
        clients: CLIENTS,
        modes: [mode],
        sourceAddresses: COLUMNS.map((_, i) => `127.0.89.${201 + m * COLUMNS.length + i}`),
        log: (l) => console.log(l),
      });
      console.log(
        `check: release matrix, ${mode} mode, ${COLUMNS.length} columns in ${Math.round(performance.now() - t0)} ms`,
      );
      console.log(formatMatrix(result[mode].matrix, "table"));
    }
  }, 600_000);

  afterAll(async () => {
    await lab?.stop();
    if (stateDir) rmSync(stateDir, { recursive: true, force: true });
  });

  it("every column ran in both modes, and the two trust modes agree", () => {
    for (const mode of MODES)
      expect(result[mode].matrix.columns.map((c) => [c.id, c.error ?? null])).toEqual(
        COLUMNS.map((c) => [mode === "resolver" ? c : `${c}/${mode}`, null]),
      );
    const differences: string[] = [];
    for (const { scenario } of result.resolver.matrix.rows)
      for (const col of COLUMNS) {
        const show = (o: { status?: string; security?: string } | undefined) =>
          `${o?.status}${o?.security ? `/${o.security}` : ""}`;
        const a = show(cell(scenario, col, "resolver")?.outcome);
        const b = show(cell(scenario, col, "unbound")?.outcome);
        if (a !== b) differences.push(`${scenario} ${col}: resolver ${a}, unbound ${b}`);
      }
    expect(differences).toEqual([]);
  });

  it("all MTAs deliver the baseline and many-tlsa with DANE, and the lab grades them pass", () => {
    for (const mode of MODES)
      for (const col of MTAS)
        for (const s of ["ta-baseline", "many-tlsa"]) {
          const c = cell(s, col, mode);
          expect({ col, mode, s, status: c?.outcome?.status, security: c?.outcome?.security }).toEqual({
            col,
            mode,
            s,
            status: "delivered",
            security: "dane",
          });
          expect(c?.grade?.verdict, `${s} ${col}/${mode}`).toBe("pass");
        }
  });

  it("Exim/OpenSSL delivers the key-usage scenarios with CV=dane where Exim/GnuTLS (12 and 13) defers", () => {
    for (const mode of MODES)
      for (const s of ["seed-mx06-ku", "ku-no-digsig"]) {
        for (const col of ["exim-try", "exim-try@trixie", "exim-strict@trixie"]) {
          expect(cell(s, col, mode)?.outcome?.status, `${s} ${col}/${mode}`).toBe("deferred");
          expect(cell(s, col, mode)?.outcome?.error).toMatch(/Key usage violation in certificate has been detected/);
        }
        for (const col of ["exim-openssl-try@bookworm", "exim-openssl-strict@bookworm", "postfix@trixie"]) {
          expect(cell(s, col, mode)?.outcome, `${s} ${col}/${mode}`).toMatchObject({
            status: "delivered",
            security: "dane",
          });
          expect(cell(s, col, mode)?.grade?.verdict).toBe("fail");
        }
        for (const col of ["exim-openssl-try@bookworm", "exim-openssl-strict@bookworm"])
          expect(last(s, col, mode)).toMatch(/=> .* CV=dane .*DN="\/CN=/);
      }
  });

  it("Debian 13's Exim still delivers ta-forged-chain with CV=dane; Exim/OpenSSL and Postfix 3.10 defer it", () => {
    for (const mode of MODES) {
      for (const col of ["exim-try@trixie", "exim-strict@trixie"]) {
        expect(cell("ta-forged-chain", col, mode)?.outcome, `${col}/${mode}`).toMatchObject({
          status: "delivered",
          security: "dane",
        });
        expect(last("ta-forged-chain", col, mode)).toMatch(/=> .* CV=dane/);
        expect(cell("ta-forged-chain", col, mode)?.grade?.verdict).toBe("fail");
      }
      for (const col of ["exim-openssl-try@bookworm", "exim-openssl-strict@bookworm", "postfix@trixie"])
        expect(cell("ta-forged-chain", col, mode)?.outcome?.status, `${col}/${mode}`).not.toBe("delivered");
    }
  });

  it("the rest as measured: ta-nexthop-name, eku-client-only, ee-mismatch, tlsa-nxdomain, all-unusable", () => {
    for (const mode of MODES) {
      for (const col of ["exim-try@trixie", "exim-openssl-try@bookworm", "exim-openssl-strict@bookworm"])
        expect(cell("ta-nexthop-name", col, mode)?.outcome?.status, `${col}/${mode}`).toBe("deferred");
      expect(cell("ta-nexthop-name", "postfix@trixie", mode)?.outcome?.status).toBe("delivered");
      expect(cell("eku-client-only", "exim-try@trixie", mode)?.outcome?.status).toBe("delivered");
      for (const col of ["postfix@trixie", "exim-openssl-try@bookworm"])
        expect(cell("eku-client-only", col, mode)?.outcome?.status, `${col}/${mode}`).toBe("deferred");
      for (const col of MTAS)
        expect(cell("ee-mismatch", col, mode)?.outcome?.status, `${col}/${mode}`).not.toBe("delivered");
      expect(cell("tlsa-nxdomain", "exim-strict@trixie", mode)?.outcome).toMatchObject({ status: "bounced" });
      expect(cell("tlsa-nxdomain", "postfix@trixie", mode)?.outcome?.status).toBe("delivered");
      // RFC 7672 §2.2: no usable TLSA → unauthenticated TLS. GnuTLS Exim sends CV=no; Exim/OpenSSL counts the
      // malformed record as loaded (tls-openssl.c dane_tlsa_load) and defers even under hosts_try_dane.
      expect(cell("all-unusable", "exim-try@trixie", mode)?.outcome).toMatchObject({
        status: "delivered",
        security: "tls-unverified",
      });
      expect(cell("all-unusable", "exim-openssl-try@bookworm", mode)?.outcome?.status).toBe("deferred");
    }
  });

  it("saves each column's MTA log (Exim/OpenSSL's short cipher names and DN=\"/CN=…\" included)", () => {
    const log = readFileSync(join(result.resolver.dir, "exim-openssl-try@bookworm.log"), "utf8");
    expect(log).toMatch(/X=TLS1\.[23]:[A-Z0-9_-]+:\d+ CV=dane/);
  });

  it('danetool: "Certificate matches." under all 14 records of many-tlsa (one matches), and the forged chain accepted', () => {
    for (const mode of MODES) {
      const many = cell("many-tlsa", "danetool@bookworm", mode);
      expect(many?.outcome).toMatchObject({ status: "probe-accepts", matches: { matched: 14, records: 14 } });
      expect(formatMatrix(result[mode].matrix, "table")).toContain(
        'would deliver (DANE); "matches" under 14 of 14 records',
      );
      expect(cell("ta-forged-chain", "danetool@bookworm", mode)?.outcome).toMatchObject({ status: "probe-accepts" });
      expect(cell("ta-forged-chain", "danetool@bookworm", mode)?.grade?.verdict).toBe("fail");
      expect(cell("ee-mismatch", "danetool@bookworm", mode)?.outcome?.status).toBe("probe-rejects");
    }
  });

  it("posttls-finger@trixie decides as Postfix 3.10 delivers", () => {
    for (const mode of MODES)
      for (const { scenario } of result[mode].matrix.rows) {
        const postfix = cell(scenario, "postfix@trixie", mode)?.outcome?.status;
        const probe = cell(scenario, "posttls-finger@trixie", mode)?.outcome?.status;
        expect(`${scenario}: ${probe}`).toBe(
          `${scenario}: ${postfix === "delivered" ? "probe-accepts" : "probe-rejects"}`,
        );
      }
  });
});
