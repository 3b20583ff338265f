// `danelab check` for a mail admin's own MTA, against the real lab (startLab, in process), with configurations the
// project does not ship:
// - Debian's exim4-daemon-heavy as the package installs it (configtype 'local'), once with `danelab instructions`'
//   edits applied (the product's own eximPlan), once untouched, and once as a split configuration with the user's own
//   macro file (conf.d/main/000_localmacros) that hides 127/8: `--exim-config` runs each through Debian's
//   update-exim4.conf in the heavy image and must reproduce Debian bug #1075900 (seed-mx06-ku deferred with GnuTLS's
//   "Key usage violation") while delivering ta-baseline with CV=dane;
// - Postfix with `smtp_tls_security_level = dane-only` (`--postfix-config`): DANE or nothing, so the DNSSEC-insecure
//   scenario stays queued;
// - `--image` with a generic image (the lab's Postfix image, started by --start, fed over SMTP, flushed by --flush,
//   its log read from --log): graded by the lab from the server side like any client.
// And the bad input a user can give, each one paragraph within its time limit.
// Needs root (ports 25/53), the Docker engine and the exim/postfix images (`sudo bash scripts/setup-host.sh`); the
// exim-heavy image is built here by scripts/images/build.sh when missing (~1 min once).
// Loopback addresses of this file: DNS 127.0.83.53, HTTP 127.0.83.80, SMTP from 127.0.83.100, MTA source addresses
// 127.0.83.201–204 and 127.0.83.31, the generic MTA's submission listener 127.0.83.9:2525.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  appendFileSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CheckResult, runCheck } from "../clients/check.js";
import { formatMatrix } from "../clients/matrix.js";
import { eximPlan } from "../clients/mta-config.js";
import { type Lab, startLab } from "../lab/index.js";
import { run } from "./run.js";

const ready =
  process.getuid?.() === 0 &&
  spawnSync("docker", ["image", "inspect", "localhost/danelab-exim:latest", "localhost/danelab-postfix:latest"])
    .status === 0;

const ONLY = ["ta-baseline", "seed-mx06-ku", "tlsa-insecure"];
const HEAVY = "localhost/danelab-exim-heavy:latest";
const POSTFIX = "localhost/danelab-postfix:latest";

/** `docker cp` of a directory out of an image: the "copy of /etc/…" a user makes on his host. */
function copyFromImage(image: string, path: string, to: string): void {
  const id = spawnSync("docker", ["create", image], { encoding: "utf8" }).stdout.trim();
  try {
    const r = spawnSync("docker", ["cp", `${id}:${path}`, to], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`docker cp ${image}:${path}: ${r.stderr}`);
  } finally {
    spawnSync("docker", ["rm", id]);
  }
}

/** Names, modes and contents of every file under dir. */
function digest(dir: string): string {
  const h = createHash("sha256");
  const walk = (d: string) => {
    for (const n of readdirSync(d).sort()) {
      const p = join(d, n);
      const st = lstatSync(p); // a copy of /etc/postfix holds a dangling makedefs.out link
      h.update(`${p.slice(dir.length)} ${st.mode}\n`);
      if (st.isDirectory()) walk(p);
      else h.update(st.isSymbolicLink() ? readlinkSync(p) : readFileSync(p));
    }
  };
  walk(dir);
  return h.digest("hex");
}

// The generic MTA: Debian's Postfix as any image would be run — its own start command, a submission listener on a
// loopback port of its own (not 25: the lab's servers use it), DANE switched on, a log file.
const GENERIC_START = [
  "postconf -F '*/*/chroot = n'",
  "postconf -MX smtp/inet",
  "postconf -M '127.0.83.9:2525/inet=127.0.83.9:2525 inet n - n - - smtpd'",
  "postconf -e maillog_file=/var/log/mail.log smtp_dns_support_level=dnssec smtp_tls_security_level=dane " +
    "smtp_tls_loglevel=1 mynetworks=127.0.0.0/8 smtp_bind_address=127.0.83.31",
  "postfix start",
].join("; ");

describe.skipIf(!ready)("danelab check with the user's own MTA configurations and images", () => {
  let lab: Lab;
  let tmp: string;
  let result: CheckResult;
  const dirs: Record<string, string> = {};
  const before: Record<string, string> = {};
  const logs: string[] = [];
  const cell = (scenario: string, column: string) =>
    result.matrix.rows.find((r) => r.scenario === scenario)?.cells[column];

  beforeAll(async () => {
    const build = spawnSync("bash", ["scripts/images/build.sh", "exim-heavy"], { encoding: "utf8", timeout: 600_000 });
    if (build.status !== 0) throw new Error(`scripts/images/build.sh exim-heavy: ${build.stderr}`);
    tmp = mkdtempSync(join(tmpdir(), "danelab-usercheck-"));
    // A default exim4-daemon-heavy, as installed, with the instructions' files applied (`cp -a DIR/. /`) …
    dirs["exim4-instructed"] = join(tmp, "exim4-instructed");
    copyFromImage(HEAVY, "/etc/exim4", dirs["exim4-instructed"]);
    const plan = eximPlan({ nameserver: "127.0.83.53", suffix: "lab.example" }, (p) => {
      try {
        return readFileSync(join(dirs["exim4-instructed"]!, p.replace(/^\/etc\/exim4\//, "")), "utf8");
      } catch {
        return null;
      }
    });
    for (const f of plan.files.filter((x) => x.path.startsWith("/etc/exim4/"))) {
      const target = join(dirs["exim4-instructed"], f.path.slice("/etc/exim4/".length));
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, f.content);
    }
    // … and one left exactly as installed.
    dirs["exim4-stock"] = join(tmp, "exim4-stock");
    copyFromImage(HEAVY, "/etc/exim4", dirs["exim4-stock"]);
    // … and switched to Debian's split configuration, with a macro file of the user's own that hides 127/8 again.
    dirs["exim4-split"] = join(tmp, "exim4-split");
    copyFromImage(HEAVY, "/etc/exim4", dirs["exim4-split"]);
    const conf = join(dirs["exim4-split"], "update-exim4.conf.conf");
    writeFileSync(
      conf,
      readFileSync(conf, "utf8").replace("dc_use_split_config='false'", "dc_use_split_config='true'"),
    );
    writeFileSync(
      join(dirs["exim4-split"], "conf.d/main/000_localmacros"),
      "ROUTER_DNSLOOKUP_IGNORE_TARGET_HOSTS = <; 0.0.0.0 ; 127.0.0.0/8\n",
    );
    // Postfix "Internet Site", made DANE-only.
    dirs["postfix-dane-only"] = join(tmp, "postfix-dane-only");
    copyFromImage(POSTFIX, "/etc/postfix", dirs["postfix-dane-only"]);
    appendFileSync(
      join(dirs["postfix-dane-only"], "main.cf"),
      "smtp_dns_support_level = dnssec\nsmtp_tls_security_level = dane-only\n",
    );
    for (const [k, d] of Object.entries(dirs)) before[k] = digest(d);

    lab = await startLab({
      stateDir: join(tmp, "lab"),
      only: ONLY,
      dnsAddress: "127.0.83.53",
      dnsPort: 53,
      smtpFirstAddress: "127.0.83.100",
      smtpPort: 25,
      httpAddress: "127.0.83.80",
      httpPort: 0,
    });
    const t0 = performance.now();
    result = await runCheck({
      manifestPath: lab.manifestPath,
      eximConfigs: [dirs["exim4-instructed"], dirs["exim4-stock"], dirs["exim4-split"]],
      eximImage: HEAVY,
      postfixConfigs: [dirs["postfix-dane-only"]],
      generic: {
        image: POSTFIX,
        start: GENERIC_START,
        submit: "smtp://127.0.83.9:2525",
        flush: "postqueue -f",
        log: "/var/log/mail.log",
      },
      sourceAddresses: ["127.0.83.201", "127.0.83.202", "127.0.83.203", "127.0.83.204"],
      retryDelaysMs: [1_500, 1_500],
      log: (l) => logs.push(l),
    });
    console.log(logs.join("\n"));
    console.log(`check: ${Math.round(performance.now() - t0)} ms`);
    console.log(formatMatrix(result.matrix, "table"));
  }, 900_000);

  afterAll(async () => {
    await lab?.stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it("one column per configuration and image, each ran, named after the directory or image", () => {
    expect(result.matrix.columns.map((c) => [c.id, c.error ?? null])).toEqual([
      ["exim:exim4-instructed", null],
      ["exim:exim4-stock", null],
      ["exim:exim4-split", null],
      ["postfix:postfix-dane-only", null],
      ["image:danelab-postfix", null],
    ]);
  });

  it("prints exactly what it changed, works on a copy, and leaves the user's directories as they were", () => {
    for (const [k, d] of Object.entries(dirs)) expect(digest(d), k).toBe(before[k]);
    const col = (id: string) => result.matrix.columns.find((c) => c.id === id)!;
    // The instructions were applied: only the column's source address is left to add.
    expect(col("exim:exim4-instructed").changes).toEqual([
      "exim4.conf.localmacros: REMOTE_SMTP_INTERFACE = 127.0.83.201 (this column's source address)",
    ]);
    expect(col("exim:exim4-stock").changes).toEqual([
      expect.stringMatching(/^update-exim4\.conf\.conf: dc_eximconfig_configtype 'local' → 'internet'/),
      expect.stringMatching(/^exim4\.conf\.localmacros: ROUTER_DNSLOOKUP_IGNORE_TARGET_HOSTS without 127\.0\.0\.0\/8/),
      "exim4.conf.localmacros: REMOTE_SMTP_INTERFACE = 127.0.83.202 (this column's source address)",
    ]);
    expect(col("exim:exim4-split").changes).toEqual([
      expect.stringMatching(/^update-exim4\.conf\.conf: dc_eximconfig_configtype 'local' → 'internet'/),
      expect.stringMatching(
        /^conf\.d\/main\/000_danelab: ROUTER_DNSLOOKUP_IGNORE_TARGET_HOSTS without 127\.0\.0\.0\/8/,
      ),
      "conf.d/main/000_localmacros: commented out your `ROUTER_DNSLOOKUP_IGNORE_TARGET_HOSTS = <; 0.0.0.0 ; 127.0.0.0/8` (set in conf.d/main/000_danelab)",
      "conf.d/main/000_danelab: REMOTE_SMTP_INTERFACE = 127.0.83.203 (this column's source address)",
    ]);
    expect(col("postfix:postfix-dane-only").changes).toEqual([
      expect.stringMatching(/^main\.cf: maillog_file = \/var\/log\/postfix\.log/),
      expect.stringMatching(/^main\.cf: smtp_tls_loglevel = 1/),
      expect.stringMatching(/^main\.cf: smtp_bind_address = 127\.0\.83\.204/),
      expect.stringMatching(/^master\.cf: commented out the listening service\(s\) smtp\/inet/),
    ]);
    expect(col("image:danelab-postfix").changes).toBeUndefined();
    const printed = logs.join("\n");
    expect(printed).toContain(`exim:exim4-stock: checking a copy of ${dirs["exim4-stock"]}`);
    expect(printed).toContain("  update-exim4.conf.conf: dc_eximconfig_configtype 'local' → 'internet'");
    expect(printed).toContain("  /etc/resolv.conf: the lab's nameserver with `options trust-ad edns0`");
  });

  it("Debian's exim4-daemon-heavy: ta-baseline with CV=dane; seed-mx06-ku deferred with the Key usage violation", () => {
    for (const col of ["exim:exim4-instructed", "exim:exim4-stock", "exim:exim4-split"]) {
      expect(cell("ta-baseline", col)?.outcome, col).toMatchObject({ status: "delivered", security: "dane" });
      expect(cell("ta-baseline", col)?.grade?.verdict, col).toBe("pass");
      expect(cell("seed-mx06-ku", col)?.outcome?.status, col).toBe("deferred");
      expect(cell("seed-mx06-ku", col)?.outcome?.error, col).toMatch(
        /TLS session: \(gnutls_handshake\): Key usage violation in certificate has been detected/,
      );
      expect(cell("seed-mx06-ku", col)?.grade?.verdict, col).toBe("pass");
      // hosts_try_dane (Debian's default): an insecure zone gets opportunistic TLS.
      expect(cell("tlsa-insecure", col)?.outcome?.status, col).toBe("delivered");
    }
    const saved = readFileSync(join(result.dir, "exim-exim4-instructed.log"), "utf8");
    expect(saved).toMatch(/=> run-\S+@ta-baseline\.lab\.example .* CV=dane/);
  });

  it("Postfix dane-only: DANE where TLSA applies, and no delivery at all to the DNSSEC-insecure scenario", () => {
    const col = "postfix:postfix-dane-only";
    expect(cell("ta-baseline", col)?.outcome).toMatchObject({ status: "delivered", security: "dane" });
    expect(cell("ta-baseline", col)?.grade?.verdict).toBe("pass");
    // OpenSSL tolerates the keyEncipherment-only leaf: the lab grades the delivery a fail, as for the built-in column.
    expect(cell("seed-mx06-ku", col)?.outcome).toMatchObject({ status: "delivered", security: "dane" });
    expect(cell("seed-mx06-ku", col)?.grade?.verdict).toBe("fail");
    expect(cell("tlsa-insecure", col)?.outcome?.status).toBe("deferred");
    expect(cell("tlsa-insecure", col)?.outcome?.error).toMatch(/non DNSSEC destination/);
    expect(cell("tlsa-insecure", col)?.grade?.verdict).not.toBe("pass");
  });

  it("a generic image: graded by the lab from the server side, its own log line in the client-side cell", () => {
    const col = "image:danelab-postfix";
    expect(cell("ta-baseline", col)?.grade?.verdict).toBe("pass");
    expect(cell("tlsa-insecure", col)?.grade?.verdict).toBe("pass");
    expect(cell("seed-mx06-ku", col)?.grade?.verdict).toBe("fail");
    const own = cell("ta-baseline", col)?.outcome;
    expect(own?.status).toBe("unparsed");
    expect(own?.lines.at(-1)).toMatch(/postfix\/smtp\[\d+\]: \w+: to=<run-\S+@ta-baseline\.lab\.example>.*status=sent/);
    const table = formatMatrix(result.matrix, "table");
    expect(table).toMatch(/ta-baseline .*PASS: relay=mx\.ta-baseline\.lab\.example\[127\.0\.83\.\d+\]:25/);
    expect(table).toContain("seed-mx06-ku × image:danelab-postfix: lab: delivered over TLS");
  });

  it("bad input: a --submit nothing listens on, an image that is not there — one paragraph each, in bounded time", async () => {
    const t0 = performance.now();
    const unreachable = await runCheck({
      manifestPath: lab.manifestPath,
      only: ["ta-baseline"],
      generic: {
        image: POSTFIX,
        start: "true",
        submit: "smtp://127.0.83.9:2599",
        flush: "true",
        listenerWaitMs: 3_000,
      },
      log: () => {},
    });
    expect(performance.now() - t0).toBeLessThan(20_000);
    expect(unreachable.exitCode).toBe(2);
    expect(unreachable.matrix.columns[0]?.error).toMatch(
      /^Nothing accepts connections on 127\.0\.83\.9:2599 \(ECONNREFUSED\) within 3 s of the container's start\. /,
    );
    await expect(
      runCheck({
        manifestPath: lab.manifestPath,
        generic: { image: "localhost/danelab-nothing:latest", submit: "sendmail", flush: "true" },
        log: () => {},
      }),
    ).rejects.toThrow(/image localhost\/danelab-nothing:latest is missing.*scripts\/images\/build\.sh nothing/);
  }, 60_000);

  it("bad input on the command line: one paragraph, exit 1, no stack trace", async () => {
    const bin = resolve("bin/danelab.js");
    const stateDir = dirname(lab.manifestPath);
    const cases: [string[], RegExp][] = [
      [["--exim-config", join(tmp, "nope")], /--exim-config .*nope: no such directory\. Give a copy of \/etc\/exim4/],
      [["--exim-config", tmp], /has no update-exim4\.conf\.conf, so it is not a copy of Debian's \/etc\/exim4/],
      [["--postfix-config", dirs["exim4-stock"]!], /has no main\.cf, so it is not a copy of \/etc\/postfix/],
      [["--image", "example.org/mta:1", "--submit", "sendmail", "--flush", "true"], /docker pull example\.org\/mta:1/],
      [
        ["--client", "eximm"],
        /unknown --client "eximm": the built-in clients are exim .*exim@<release>.*\. To check your own MTA/,
      ],
      [["--client", "exim-try", "--exim-dane-ciphers", "NORMAL\n  hosts_require_dane = *"], /contains "\\n"/],
    ];
    for (const [args, want] of cases) {
      const r = await run(process.execPath, [bin, "check", "--state-dir", stateDir, ...args], { timeoutMs: 60_000 });
      expect(r.code, args.join(" ")).toBe(1);
      expect(r.stderr, args.join(" ")).toMatch(want);
      expect(r.stderr, args.join(" ")).not.toMatch(/internal error| {4}at /);
    }
  }, 120_000);
});
