// The compiled `danelab` CLI refusing what would expose or break a lab, before it touches anything: listeners outside
// 127/8 without --allow-remote, SMTP address ranges that run out, suffixes that would shadow real domains; a second
// `up` on a running lab's state directory; `export` into a non-empty directory or through a symlink.
// Loopback addresses of this file: 127.0.86.10–29 (DNS, HTTP) and SMTP from 127.0.86.100.
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";

const BIN = resolve("bin/danelab.js");
const run = promisify(execFile);
const tmp = mkdtempSync(join(tmpdir(), "danelab-harden-"));
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) c.kill("SIGKILL");
  rmSync(tmp, { recursive: true, force: true });
});

async function danelab(args: string[]) {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], { timeout: 120_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
  }
}

const up = (state: string, extra: string[] = []) => [
  "up",
  "--only",
  "ta-baseline",
  "--state-dir",
  state,
  "--dns-address",
  "127.0.86.10",
  "--smtp-address",
  "127.0.86.100",
  "--http-address",
  "127.0.86.10",
  "--http-port",
  "0",
  ...extra,
];

/** One paragraph on stderr, no stack trace, non-zero exit. */
function expectRefusal(r: { code: number; stderr: string }, ...parts: (string | RegExp)[]) {
  expect(r.code, r.stderr).not.toBe(0);
  expect(r.stderr).not.toMatch(/\n\s+at |internal error/);
  for (const p of parts) expect(r.stderr).toMatch(p);
}

describe("listeners outside loopback", () => {
  it("refuses --http-address 0.0.0.0 and --dns-address 0.0.0.0 without --allow-remote, naming what is exposed", async () => {
    const state = join(tmp, "remote1");
    const http = await danelab(up(state, ["--http-address", "0.0.0.0"]));
    expectRefusal(
      http,
      "--http-address 0.0.0.0 exposes the HTTP API, which has no authentication",
      "reads every stored message",
      "--allow-remote",
    );
    const dns = await danelab(up(state, ["--dns-address", "0.0.0.0"]));
    expectRefusal(dns, "--dns-address 0.0.0.0 exposes the DNS server", "reflector");
    const smtp = await danelab(up(state, ["--smtp-address", "192.0.2.1"]));
    expectRefusal(smtp, "--smtp-address 192.0.2.1 exposes the SMTP listeners");
  });

  it("with --allow-remote prints a warning naming the missing authentication (bind fails on a TEST-NET address)", async () => {
    // 192.0.2.1 (RFC 5737 TEST-NET-1) is no address of this machine: the warning is printed, then the bind fails —
    // so the test never listens outside loopback.
    const r = await danelab(up(join(tmp, "remote2"), ["--http-address", "192.0.2.1", "--allow-remote"]));
    expectRefusal(
      r,
      /danelab: WARNING: --allow-remote: --http-address 192\.0\.2\.1 exposes the HTTP API, which has no authentication/,
      /192\.0\.2\.1 is not an address of this machine/,
    );
  }, 120_000);

  it("rejects an address that is not IPv4 at all", async () => {
    expectRefusal(await danelab(up(join(tmp, "remote3"), ["--dns-address", "127.0.0.300"])), /an IPv4 address/);
  });
});

describe("SMTP address range", () => {
  it("refuses a first address ending in 0 or past .250, and a range that runs past x.y.255.250", async () => {
    const state = join(tmp, "range");
    expectRefusal(
      await danelab(up(state, ["--smtp-address", "0.0.0.0", "--allow-remote"])),
      /--smtp-address: 0\.0\.0\.0 cannot start the SMTP listener addresses: give an IPv4 address whose last number is 1–250/,
    );
    expectRefusal(
      await danelab(up(state, ["--smtp-address", "127.0.86.251"])),
      /127\.0\.86\.251 cannot start the SMTP listener addresses/,
    );
    const r = await danelab(up(state, ["--smtp-address", "127.0.255.250"]));
    expectRefusal(r, /past 127\.0\.255\.250: there is room for 1 MX host from there/, /such as 127\.0\.25\.1/);
    expect(r.stderr).not.toMatch(/127\.0\.256/);
  });
});

describe("--suffix", () => {
  it("refuses a top-level domain, a reserved name itself, and (without --allow-any-suffix) a public name", async () => {
    const cases: [string, string[]][] = [
      ["com", ['--suffix "com" is a single label (a top-level domain)', "accept mail for every domain under .com"]],
      ["example", ["a single label"]],
      ["test.", ["a single label"]],
      ["home.arpa", ["a reserved name itself"]],
      ["co.uk", ['--suffix "co.uk" is not under a reserved name', "--allow-any-suffix"]],
      ["lab.gmail.com", ["accepts mail for every address there"]],
      ["bad_label.example", ["is not a DNS name the lab can use"]],
    ];
    for (const [suffix, parts] of cases) {
      expectRefusal(await danelab(up(join(tmp, "suffix"), ["--suffix", suffix])), ...parts);
    }
  });
});
