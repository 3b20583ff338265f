// The client matrix against the real lab (startLab, in process): Exim/GnuTLS in both DANE modes and Postfix/OpenSSL
// in containers send one message per scenario, and the matrix puts the lab's server-side grade next to each MTA's own
// log line. The assertions are the facts a mail admin relies on (design/scenarios.md, "known"): DANE deliveries are
// DANE, no MTA ever delivers in cleartext where TLSA applies, and Debian bug #1075900 shows up as Exim's
// "Key usage violation" deferral while Postfix delivers.
// Needs root (ports 25/53), the Docker engine and the client images: `sudo bash scripts/setup-host.sh`.
// Both trust modes run at once against one lab: the lab's own resolver mode, and a real unbound validating the lab's
// tree; the two must agree. Loopback addresses of this file: DNS 127.0.14.53, unbound 127.0.14.54, HTTP 127.0.14.55,
// SMTP from 127.0.14.120, MTA source addresses 127.0.14.201–207.
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CheckResult, runCheck } from "../clients/check.js";
import { formatMatrix } from "../clients/matrix.js";
import { type Lab, startLab } from "../lab/index.js";

const ready =
  process.getuid?.() === 0 &&
  spawnSync("docker", ["image", "inspect", "localhost/danelab-exim:latest", "localhost/danelab-postfix:latest"])
    .status === 0;

// DANELAB_CHECK_QUICK=1 narrows the run to these while developing; the test suite runs the whole catalogue.
const QUICK = [
  "ta-baseline",
  "ee-baseline",
  "seed-mx06",
  "seed-mx06-ku",
  "ku-no-digsig",
  "no-starttls",
  "greylist-then-starttls",
  "tlsa-nxdomain",
  "ta-wrong-name",
  "ta-wildcard-deep",
  "ee-mismatch",
  "tlsa-bogus",
  "all-unusable",
  "tlsa-insecure",
  "tlsa-nxdomain-nsec3",
  "tlsa-nodata-nsec3",
  "nsec3-optout-insecure",
  "nsec3-iterations-high",
  "tlsa-wildcard",
  "ta-leaf-expired",
  "ta-intermediate-expired",
  "ta-issuer-not-ca",
  "ta-pathlen-violated",
  "ee-digest-agility",
  "tlsa-needs-tcp",
  "null-mx",
  "dnssec-algorithm-unsupported",
  "dual-one-tlsa",
  "insecure-mx-secure-tlsa",
  "insecure-a-tlsa-servfail",
];
const COLUMNS = ["exim-try", "exim-strict", "postfix"];
const MODES = ["resolver", "unbound"] as const;

// The suite's own command (scripts/test-all.sh) sets DANELAB_REQUIRE_CLIENTS=1: there a missing engine or image is a
// failure, not a silent skip.
describe.runIf(!ready && process.env["DANELAB_REQUIRE_CLIENTS"] === "1")("client matrix prerequisites", () => {
  it("has root, a running Docker engine and the client images", () => {
    expect.fail(
      "the client matrix needs root, a running Docker engine and the images localhost/danelab-exim and " +
        "localhost/danelab-postfix: run 'sudo bash scripts/setup-host.sh' (it installs and builds them).",
    );
  });
});

describe.skipIf(!ready)("client matrix against the real lab, in both trust modes", () => {
  let lab: Lab;
  let stateDir: string;
  let result: CheckResult;
  const cell = (scenario: string, column: string, mode: (typeof MODES)[number] = "resolver") =>
    result.matrix.rows.find((r) => r.scenario === scenario)?.cells[`${column}/${mode}`];

  beforeAll(async () => {
    stateDir = mkdtempSync(join(tmpdir(), "danelab-check-"));
    lab = await startLab({
      stateDir,
      ...(process.env["DANELAB_CHECK_QUICK"] ? { only: QUICK } : {}),
      dnsAddress: "127.0.14.53",
      dnsPort: 53,
      resolver: "unbound",
      resolverAddress: "127.0.14.54",
      resolverPort: 53,
      smtpFirstAddress: "127.0.14.120",
      smtpPort: 25,
      httpAddress: "127.0.14.55",
      httpPort: 0,
    });
    const t0 = performance.now();
    result = await runCheck({
      manifestPath: lab.manifestPath,
      clients: (process.env["DANELAB_CHECK_CLIENTS"] ?? "exim,postfix").split(","),
      modes: [...MODES],
      sourceAddresses: ["127.0.14.201", "127.0.14.202", "127.0.14.203", "127.0.14.204", "127.0.14.205", "127.0.14.206"],
      log: (l) => console.log(l),
    });
    console.log(`check: whole matrix in ${Math.round(performance.now() - t0)} ms`);
    const keep = process.env["DANELAB_CLIENT_LOGS"];
    if (keep)
      for (const f of readdirSync(result.dir))
        if (f.endsWith(".log")) copyFileSync(join(result.dir, f), join(keep, `lab-${f}`));
    console.log(formatMatrix(result.matrix, "table"));
  }, 1_500_000);

  afterAll(async () => {
    await lab?.stop();
    if (stateDir && !process.env["DANELAB_CLIENT_LOGS"]) rmSync(stateDir, { recursive: true, force: true });
  });

  it("every column ran in both modes and saved its results and the MTA's log", () => {
    expect(result.matrix.columns.map((c) => [c.id, c.error ?? null])).toEqual(
      MODES.flatMap((m) => COLUMNS.map((c) => [`${c}/${m}`, null])),
    );
    expect(JSON.parse(readFileSync(join(result.dir, "matrix.json"), "utf8")).rows).toHaveLength(
      lab.manifest.scenarios.length,
    );
    expect(readFileSync(join(result.dir, "junit.xml"), "utf8")).toContain('<testsuite name="postfix/resolver"');
  });

  it("the two trust modes agree: every client reaches the same outcome through unbound as through the lab", () => {
    const differences: string[] = [];
    for (const row of result.matrix.rows)
      for (const col of COLUMNS) {
        const a = row.cells[`${col}/resolver`]?.outcome;
        const b = row.cells[`${col}/unbound`]?.outcome;
        const show = (o: typeof a) => `${o?.status}${o?.security ? `/${o.security}` : ""}`;
        if (show(a) !== show(b)) differences.push(`${row.scenario} ${col}: resolver ${show(a)}, unbound ${show(b)}`);
      }
    expect(differences).toEqual([]);
  });

  it("all three deliver the baseline scenarios with DANE, and the lab grades them pass", () => {
    for (const mode of MODES)
      for (const col of COLUMNS)
        for (const s of ["ta-baseline", "ee-baseline"]) {
          const c = cell(s, col, mode);
          expect({
            col,
            mode,
            s,
            status: c?.outcome?.status,
            security: c?.outcome?.security,
            verdict: c?.grade?.verdict,
          }).toEqual({ col, mode, s, status: "delivered", security: "dane", verdict: "pass" });
        }
  });

  it("reproduces Debian bug #1075900: Exim defers with GnuTLS's key-usage error, Postfix delivers", () => {
    for (const mode of MODES)
      for (const s of ["seed-mx06-ku", "ku-no-digsig"]) {
        for (const col of ["exim-try", "exim-strict"]) {
          const exim = cell(s, col, mode);
          expect(exim?.outcome?.status, `${s} ${col}/${mode}`).toBe("deferred");
          expect(exim?.outcome?.error).toMatch(/Key usage violation in certificate has been detected/);
        }
        expect(cell(s, "postfix", mode)?.outcome).toMatchObject({ status: "delivered", security: "dane" });
        expect(cell(s, "postfix", mode)?.grade?.verdict).toBe("fail");
      }
  });

  it("the bug's known workaround: with dane_require_tls_ciphers = NORMAL:%COMPAT Exim delivers them with DANE", async () => {
    // GnuTLS's %COMPAT tolerates the key-usage violation, so Debian's Exim then behaves like Postfix (and the lab, which
    // expects a DANE client to refuse, grades that lenient delivery as a fail, as it does Postfix's).
    const workaround = await runCheck({
      manifestPath: lab.manifestPath,
      clients: ["exim-try"],
      modes: ["resolver"],
      only: ["seed-mx06-ku", "ku-no-digsig"],
      sourceAddresses: ["127.0.14.207"],
      eximDaneCiphers: "NORMAL:%COMPAT",
      log: (l) => console.log(l),
    });
    for (const s of ["seed-mx06-ku", "ku-no-digsig"]) {
      const c = workaround.matrix.rows.find((r) => r.scenario === s)?.cells["exim-try"];
      expect(c?.outcome, s).toMatchObject({ status: "delivered", security: "dane" });
      expect(c?.grade?.verdict, s).toBe("fail");
    }
    expect(readFileSync(join(workaround.dir, "exim-try.log"), "utf8")).toMatch(/CV=dane/);
  }, 300_000);

  it("both deliver seed-mx06 after its greylisting, with DANE", () => {
    for (const mode of MODES)
      for (const col of COLUMNS) {
        const c = cell("seed-mx06", col, mode);
        expect(c?.outcome, `${col}/${mode}`).toMatchObject({ status: "delivered", security: "dane" });
        expect(c?.outcome?.attempts).toBeGreaterThan(1);
      }
  });

  it("never delivers in cleartext; never delivers to ee-mismatch, ta-wrong-name, tlsa-bogus or no-starttls", () => {
    for (const mode of MODES)
      for (const col of COLUMNS) {
        for (const row of result.matrix.rows)
          expect(row.cells[`${col}/${mode}`]?.outcome?.security, `${row.scenario} ${col}/${mode}`).not.toBe(
            "cleartext",
          );
        for (const s of ["ee-mismatch", "ta-wrong-name", "tlsa-bogus", "no-starttls"]) {
          expect(cell(s, col, mode)?.outcome?.status, `${s} ${col}/${mode}`).not.toBe("delivered");
          expect(cell(s, col, mode)?.grade?.verdict, `${s} ${col}/${mode}`).not.toBe("fail");
        }
        const grey = cell("greylist-then-starttls", col, mode);
        expect(grey?.outcome).toMatchObject({ status: "delivered", security: "dane" });
        expect(grey?.outcome?.attempts).toBeGreaterThan(1);
        expect(grey?.grade?.verdict).toBe("pass");
      }
  });

  it("secure denial of TLSA (NSEC and NSEC3, NXDOMAIN and NODATA): hosts_try_dane and Postfix deliver, hosts_require_dane bounces", () => {
    for (const mode of MODES) {
      for (const s of ["tlsa-nxdomain", "tlsa-nxdomain-nsec3", "tlsa-nodata-nsec3"]) {
        for (const col of ["exim-try", "postfix"]) {
          expect(cell(s, col, mode)?.outcome, `${s} ${col}/${mode}`).toMatchObject({
            status: "delivered",
            security: "tls-unverified",
          });
        }
        expect(cell(s, "exim-strict", mode)?.outcome, `${s} exim-strict/${mode}`).toMatchObject({ status: "bounced" });
        expect(cell(s, "exim-strict", mode)?.outcome?.error).toMatch(/tlsa lookup FAIL/);
      }
    }
  });

  it("NSEC3 Opt-Out, NSEC3 above 150 iterations and a wildcard TLSA, as Debian's MTAs handle them", () => {
    for (const mode of MODES) {
      for (const col of ["exim-try", "postfix"]) {
        // Opt-Out: the MX host's zone is insecure, its (wrong) TLSA ignored; 500 iterations: the denial is insecure.
        for (const s of ["nsec3-optout-insecure", "nsec3-iterations-high"]) {
          expect(cell(s, col, mode)?.outcome, `${s} ${col}/${mode}`).toMatchObject({
            status: "delivered",
            security: "tls-unverified",
          });
        }
      }
      expect(cell("nsec3-optout-insecure", "exim-strict", mode)?.outcome?.status).not.toBe("delivered");
      expect(cell("nsec3-iterations-high", "exim-strict", mode)?.outcome?.error).toMatch(/tlsa lookup FAIL/);
      for (const col of COLUMNS) {
        // A 2.7 KB TLSA RRset: truncated over UDP, fetched over TCP by both resolvers.
        expect(cell("tlsa-needs-tcp", col, mode)?.outcome, `tlsa-needs-tcp ${col}/${mode}`).toMatchObject({
          status: "delivered",
          security: "dane",
        });
        expect(cell("tlsa-wildcard", col, mode)?.outcome, `tlsa-wildcard ${col}/${mode}`).toMatchObject({
          status: "delivered",
          security: "dane",
        });
      }
    }
  });

  it("DANE-TA is PKIX validation: expired leaf or intermediate and a CA:FALSE issuer deferred by both; pathLen only by Postfix", () => {
    for (const mode of MODES) {
      for (const col of COLUMNS) {
        for (const s of ["ta-leaf-expired", "ta-intermediate-expired", "ta-issuer-not-ca"]) {
          expect(cell(s, col, mode)?.outcome?.status, `${s} ${col}/${mode}`).toBe("deferred");
        }
      }
      // Finding: Debian's Exim (GnuTLS libdane) accepts a chain that violates pathLen; Postfix (OpenSSL) does not.
      expect(cell("ta-pathlen-violated", "postfix", mode)?.outcome?.lines.join("\n")).toMatch(/path length constraint/);
      expect(cell("ta-pathlen-violated", "exim-try", mode)?.outcome).toMatchObject({
        status: "delivered",
        security: "dane",
      });
      expect(cell("ta-pathlen-violated", "exim-try", mode)?.grade?.verdict).toBe("fail");
      // Digest agility (RFC 7671 §9, a SHOULD): Postfix uses only the SHA-512 record and defers; Exim delivers.
      expect(cell("ee-digest-agility", "postfix", mode)?.outcome?.status).toBe("deferred");
      expect(cell("ee-digest-agility", "exim-try", mode)?.outcome).toMatchObject({
        status: "delivered",
        security: "dane",
      });
    }
  });

  it("neither MTA delivers ta-wildcard-deep (*.<domain> for mx.deep.<domain>; multi-label wildcards are local policy, so the lab only observes)", () => {
    // RFC 7672 §3.2.3 / RFC 6125 §6.4.3: a wildcard matches exactly one label of a reference identifier.
    for (const mode of MODES) {
      for (const col of COLUMNS) {
        const c = cell("ta-wildcard-deep", col, mode);
        expect(c?.outcome?.status, `ta-wildcard-deep ${col}/${mode}`).toBe("deferred");
        expect(c?.grade?.verdict, `ta-wildcard-deep ${col}/${mode}`).toBe("observed");
      }
    }
  });

  it("Null MX bounced without a connection, a TLSA RRset matching only the RSA leaf deferred, an RSAMD5 zone insecure", () => {
    for (const mode of MODES) {
      for (const col of COLUMNS) {
        // RFC 7505: "MX 0 ." — both MTAs bounce at once and never connect (the grader: "did not connect").
        const nullMx = cell("null-mx", col, mode);
        expect(nullMx?.outcome?.status, `null-mx ${col}/${mode}`).toBe("bounced");
        expect(nullMx?.grade?.verdict, `null-mx ${col}/${mode}`).toBe("pass");
        expect(nullMx?.grade?.reason, `null-mx ${col}/${mode}`).toMatch(/^did not connect/);
        expect(nullMx?.outcome?.error).toMatch(/indicated no SMTP service|does not accept mail \(nullMX\)/);
        // RFC 7671 §8: the server picks its ECDSA leaf for these clients; only the RSA key has a record.
        expect(cell("dual-one-tlsa", col, mode)?.outcome?.status, `dual-one-tlsa ${col}/${mode}`).toBe("deferred");
      }
      expect(cell("dual-one-tlsa", "postfix", mode)?.outcome?.error).toMatch(
        /no matching DANE TLSA records[\s\S]*server-signature ECDSA/,
      );
      // RFC 4035 §5.2: a DS of an algorithm the validator lacks makes the zone insecure, not bogus.
      for (const col of ["exim-try", "postfix"]) {
        expect(cell("dnssec-algorithm-unsupported", col, mode)?.outcome, `${col}/${mode}`).toMatchObject({
          status: "delivered",
          security: "tls-unverified",
        });
      }
      expect(cell("dnssec-algorithm-unsupported", "exim-strict", mode)?.outcome?.error).toMatch(
        /host lookup done insecurely/,
      );
    }
  });

  it("an insecure MX RRset: Exim ignores the MX host's secure TLSA records, Postfix uses them (both allowed)", () => {
    // RFC 7672 §2.2.1: DANE "need not apply" to an insecure MX RRset, and the client "MAY proceed to use DANE TLS".
    // The TLSA record at the MX host does not match, so the choice shows; the same choice shows with SHOULD NOT
    // (§2.2.2, TLSA lookup under an insecure address) and MAY (§2.2.3, insecure wrong TLSA under NSEC3 Opt-Out).
    for (const mode of MODES) {
      const mx = (col: string) => cell("insecure-mx-secure-tlsa", col, mode);
      expect(mx("exim-try")?.outcome, `exim-try/${mode}`).toMatchObject({
        status: "delivered",
        security: "tls-unverified",
      });
      expect(mx("postfix")?.outcome?.status, `postfix/${mode}`).toBe("deferred");
      expect(mx("postfix")?.outcome?.error).toMatch(/no matching DANE TLSA records/);
      expect(mx("exim-strict")?.outcome?.error).toMatch(/host lookup done insecurely/);
      for (const col of COLUMNS)
        for (const s of ["insecure-mx-secure-tlsa", "insecure-a-tlsa-servfail", "nsec3-optout-insecure"])
          expect(cell(s, col, mode)?.grade?.verdict, `${s} ${col}/${mode}`).toBe("observed");
      for (const col of ["exim-try", "postfix"])
        expect(cell("insecure-a-tlsa-servfail", col, mode)?.outcome, `${col}/${mode}`).toMatchObject({
          status: "delivered",
          security: "tls-unverified",
        });
      expect(cell("insecure-a-tlsa-servfail", "exim-strict", mode)?.outcome?.error).toMatch(
        /host lookup done insecurely/,
      );
    }
  });

  it("shows every departure from `expect` as a finding with the client's own log line", () => {
    const text = formatMatrix(result.matrix, "markdown");
    for (const mode of MODES) {
      // Postfix delivers the seed's keyEncipherment-only leaf: a departure, shown with its own delivery line.
      const postfixKu = cell("seed-mx06-ku", "postfix", mode);
      expect(postfixKu?.grade?.verdict).toBe("fail");
      const line = postfixKu?.outcome?.lines.at(-1) ?? "";
      expect(line).toMatch(/status=sent/);
      expect(text).toContain(`seed-mx06-ku × postfix/${mode}:`);
      expect(text).toContain(line.trim().replace(/\|/g, "\\|"));
    }
  });
});
