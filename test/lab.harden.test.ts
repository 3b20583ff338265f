// The compiled `danelab` CLI refusing what would expose or break a lab, before it touches anything: listeners outside
// 127/8 without --allow-remote, SMTP address ranges that run out, suffixes that would shadow real domains; a second
// `up` on a running lab's state directory; `export` into a non-empty directory or through a symlink.
// Loopback addresses of this file: 127.0.86.10–29 (DNS, HTTP) and SMTP from 127.0.86.100.
import { type ChildProcess, execFile, spawn } from "node:child_process";
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { withoutTrailingDot } from "../zones/names.js";

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

function startUp(args: string[]): { child: ChildProcess; output: () => string; ready: Promise<void> } {
  const child = spawn(process.execPath, [BIN, ...args]);
  children.push(child);
  let out = "";
  const ready = new Promise<void>((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`not ready in 90 s:\n${out}`)), 90_000);
    const onData = (d: Buffer) => {
      out += d.toString();
      if (/danelab ready/.test(out)) {
        clearTimeout(timer);
        res();
      }
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.on("exit", (code) => {
      clearTimeout(timer);
      rej(new Error(`exited with ${code} before ready:\n${out}`));
    });
  });
  return { child, output: () => out, ready };
}

async function swaks(server: string, n: number): Promise<string | null> {
  try {
    const { stdout } = await run("swaks", [
      ...["--server", server, "--timeout", "10", "--from", "probe@client.example"],
      ...["--to", "run-lock@ta-baseline.lab.example", "--body", `lock test message ${n}`],
    ]);
    return /250 2\.0\.0 Ok: queued as (\S+)/.exec(stdout)?.[1] ?? null;
  } catch {
    return null;
  }
}

describe("one lab per state directory", () => {
  it("a second up refuses with the running pid and touches nothing; the first keeps delivering", async () => {
    const state = join(tmp, "locked");
    const first = startUp(up(state, ["--dns-address", "127.0.86.11", "--http-address", "127.0.86.11"]));
    await first.ready;
    const manifest = JSON.parse(readFileSync(join(state, "manifest.json"), "utf8"));
    const mx = manifest.scenarios.find((s: { id: string }) => s.id === "ta-baseline").mx[0].addresses[0] as string;
    const ids = [await swaks(mx, 1)];
    // A delivery in progress (its tmp/ file) and the files a second start would rewrite.
    const inProgress = join(state, "mail", "ta-baseline", "tmp", "in-progress.danelab");
    writeFileSync(inProgress, "half a message");
    const before = ["manifest.json", "events.jsonl", "lab.lock"].map((f) => readFileSync(join(state, f), "utf8"));

    const second = await danelab(
      up(state, ["--dns-address", "127.0.86.12", "--http-address", "127.0.86.12", "--smtp-address", "127.0.86.160"]),
    );
    expectRefusal(
      second,
      `another danelab is already running on the state directory ${state} (pid ${first.child.pid}`,
      "Nothing was changed",
      "--state-dir",
    );
    expect(existsSync(inProgress)).toBe(true);
    expect(["manifest.json", "events.jsonl", "lab.lock"].map((f) => readFileSync(join(state, f), "utf8"))).toEqual(
      before,
    );

    ids.push(await swaks(mx, 2), await swaks(mx, 3));
    for (const [i, id] of ids.entries()) {
      expect(id, `message ${i + 1} acknowledged`).not.toBeNull();
      expect(readFileSync(join(state, "mail", "ta-baseline", "new", id!), "utf8")).toContain(
        `lock test message ${i + 1}`,
      );
    }

    // Killed without a chance to clean up: the stale lock is taken over by the next start, which removes it on stop.
    first.child.kill("SIGKILL");
    await new Promise((r) => first.child.once("exit", r));
    expect(existsSync(join(state, "lab.lock"))).toBe(true);
    const third = startUp(up(state, ["--dns-address", "127.0.86.11", "--http-address", "127.0.86.11"]));
    await third.ready;
    expect(readFileSync(join(state, "lab.lock"), "utf8").trim()).toBe(String(third.child.pid));
    third.child.kill("SIGTERM");
    await new Promise((r) => third.child.once("exit", r));
    expect(existsSync(join(state, "lab.lock"))).toBe(false);
  }, 180_000);
});

describe("danelab export --out", () => {
  const exportTo = (out: string, ...extra: string[]) =>
    danelab(["export", "--only", "ta-baseline", "--state-dir", join(tmp, "export-state"), "--out", out, ...extra]);

  it("refuses a non-empty directory without --force and a symlinked one always", async () => {
    const out = join(tmp, "export-full");
    mkdirSync(out);
    writeFileSync(join(out, "notes.txt"), "mine");
    expectRefusal(await exportTo(out), `--out ${out} is not empty (1 entry: notes.txt)`, "--force");
    expect(readdirSync(out)).toEqual(["notes.txt"]);
    const link = join(tmp, "export-link");
    symlinkSync(out, link);
    expectRefusal(await exportTo(link, "--force"), `--out ${link} is a symbolic link`);
    expect(readdirSync(out)).toEqual(["notes.txt"]);
  }, 120_000);

  it("with --force replaces symlinks inside instead of writing through them, and leaves other files alone", async () => {
    const out = join(tmp, "export-force");
    const elsewhere = join(tmp, "elsewhere");
    mkdirSync(join(elsewhere, "certs"), { recursive: true });
    writeFileSync(join(elsewhere, "victim"), "do not overwrite");
    mkdirSync(out);
    writeFileSync(join(out, "notes.txt"), "mine");
    symlinkSync(join(elsewhere, "victim"), join(out, "root.ds")); // a file danelab writes
    symlinkSync(join(elsewhere, "certs"), join(out, "certs")); // a directory danelab writes into
    const r = await exportTo(out, "--force");
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(join(elsewhere, "victim"), "utf8")).toBe("do not overwrite");
    expect(readdirSync(join(elsewhere, "certs"))).toEqual([]);
    expect(lstatSync(join(out, "root.ds")).isSymbolicLink()).toBe(false);
    expect(readFileSync(join(out, "root.ds"), "utf8")).toMatch(/IN\s+DS\s+\d+ 13 2 /);
    expect(lstatSync(join(out, "certs")).isDirectory()).toBe(true);
    expect(statSync(join(out, "certs")).mode & 0o777).toBe(0o700);
    const key = readdirSync(join(out, "certs")).find((f) => f.endsWith(".key"))!;
    expect(statSync(join(out, "certs", key)).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(out, "notes.txt"), "utf8")).toBe("mine");
  }, 120_000);
});

describe("TLSA records with unassigned usage or selector", () => {
  it("publishes 4 1 1 and 3 2 1 as written next to a valid record, and openssl's DANE check uses the valid one", async () => {
    const dir = join(tmp, "unusable-scenarios");
    mkdirSync(dir);
    const hex = "ab".repeat(32);
    writeFileSync(
      join(dir, "unusable-usages.yaml"),
      [
        "id: unusable-usages",
        'title: "4 1 1 and 3 2 1 next to a valid 2 1 1"',
        "group: tlsa-and-chains",
        "expect: deliver",
        "teach: >-",
        "  Two records with values nobody assigned are unusable and ignored. The valid one authenticates the server.",
        "rfc:",
        '  - "RFC 7671 §4"',
        "hosts:",
        "  - tlsa:",
        `      - { data: "4 1 1 ${hex}" }`,
        `      - { data: "3 2 1 ${hex}" }`,
        "      - { usage: 2, selector: 1, matching: 1, cert: lab/ca }",
        "",
      ].join("\n"),
    );
    const state = join(tmp, "unusable-state");
    const lab = startUp([
      ...up(state, ["--dns-address", "127.0.86.13", "--http-address", "127.0.86.13"]),
      ...["--scenarios", dir, "--only", "unusable-usages"],
    ]);
    await lab.ready;
    const manifest = JSON.parse(readFileSync(join(state, "manifest.json"), "utf8"));
    const scenario = manifest.scenarios.find((s: { id: string }) => s.id === "unusable-usages");
    const mx = scenario.mx[0];
    const owner = `_25._tcp.${mx.host}`;
    const { stdout } = await run("dig", ["@127.0.86.13", "+norec", "+short", owner, "TLSA"]);
    const records = stdout
      .trim()
      .split("\n")
      .map((l) => {
        const [usage, selector, matching, ...data] = l.trim().split(/\s+/); // dig splits long hex into chunks
        return `${usage} ${selector} ${matching} ${data.join("")}`.toLowerCase();
      });
    expect(records).toHaveLength(3);
    expect(records).toContain(`4 1 1 ${hex}`);
    expect(records).toContain(`3 2 1 ${hex}`);
    expect(records.filter((r) => r.startsWith("2 1 1 "))).toHaveLength(1); // the valid record
    // OpenSSL's DANE verifier (RFC 7671) with all three records: the unusable ones are skipped, the 2 1 1 matches.
    const openssl = run(
      "openssl",
      [
        ...[
          "s_client",
          "-connect",
          `${mx.addresses[0]}:25`,
          "-starttls",
          "smtp",
          "-servername",
          withoutTrailingDot(mx.host),
        ],
        ...["-dane_tlsa_domain", withoutTrailingDot(mx.host), "-verify_return_error", "-brief"],
        ...records.flatMap((r) => ["-dane_tlsa_rrdata", r]),
      ],
      { timeout: 20_000 },
    );
    openssl.child.stdin?.end("QUIT\r\n");
    const s = await openssl.catch((e: { stdout?: string; stderr?: string }) => ({
      stdout: e.stdout ?? "",
      stderr: e.stderr ?? "",
    }));
    const out = `${s.stdout}${s.stderr}`;
    expect(out).toMatch(/Verification: OK/);
    expect(out).toMatch(/DANE TLSA 2 1 1 .*matched/);
    lab.child.kill("SIGTERM");
  }, 120_000);
});
