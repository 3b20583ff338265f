// The `danelab` command as a user meets it (the compiled CLI behind `npm run lab`): it reaches "ready", prints the
// lines that point an MTA at the lab, stops cleanly on SIGTERM, and every user-caused failure is one paragraph naming
// the cause and the fix, with a non-zero exit — never a stack trace.
// Loopback addresses of this file: 127.0.13.10–19 and SMTP from 127.0.41.1.
import { type ChildProcess, spawn } from "node:child_process";
import { createSocket, type Socket } from "node:dgram";
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { run } from "./run.js";

const BIN = resolve("bin/danelab.js");
const tmp = mkdtempSync(join(tmpdir(), "danelab-cli-"));
chmodSync(tmp, 0o755);
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function danelab(args: string[], opts: { asUser?: string } = {}) {
  const [cmd, argv] = opts.asUser
    ? ["setpriv", [`--reuid=${opts.asUser}`, "--regid=nogroup", "--clear-groups", process.execPath, BIN, ...args]]
    : [process.execPath, [BIN, ...args]];
  const r = await run(cmd as string, argv as string[], { timeoutMs: 120_000 });
  return { code: r.code ?? -1, stdout: r.stdout, stderr: r.stderr };
}

function waitForLine(child: ChildProcess, pattern: RegExp, ms: number): Promise<string> {
  return new Promise((res, rej) => {
    let out = "";
    const timer = setTimeout(() => rej(new Error(`no ${pattern} within ${ms} ms; output so far:\n${out}`)), ms);
    const onData = (d: Buffer) => {
      out += d.toString();
      if (pattern.test(out)) {
        clearTimeout(timer);
        res(out);
      }
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.on("exit", (code) => {
      clearTimeout(timer);
      rej(new Error(`exited with ${code} before ${pattern}; output:\n${out}`));
    });
  });
}

const upArgs = (state: string, dns: string, smtp: string) => [
  "up",
  "--only",
  "ta-baseline,no-starttls",
  "--state-dir",
  state,
  "--dns-address",
  dns,
  "--smtp-address",
  smtp,
  "--http-address",
  dns,
  "--http-port",
  "0",
];

describe("danelab up (the CLI)", () => {
  it("reaches ready, prints the table and the client lines, and stops cleanly on SIGTERM", async () => {
    const child = spawn(process.execPath, [BIN, ...upArgs(join(tmp, "state1"), "127.0.13.10", "127.0.41.1")]);
    const out = await waitForLine(child, /danelab ready: 2 scenarios/, 90_000).catch((err: unknown) => {
      child.kill("SIGKILL");
      throw err;
    });
    try {
      expect(out).toMatch(
        /ta-baseline\s+probe@ta-baseline\.lab\.example\s+mx\.ta-baseline\.lab\.example 127\.0\.41\.\d/,
      );
      expect(out).toContain("nameserver 127.0.13.10");
      expect(out).toContain("options trust-ad edns0");
      // The short form points at the exact files and at send/watch.
      expect(out).toContain("danelab instructions --mta exim");
      expect(out).toContain("danelab send --run 1 --via sendmail");
      expect(out).toContain("danelab watch --run 1");
    } catch (err) {
      child.kill("SIGKILL");
      throw err;
    }
    const exited = new Promise<string>((r) => child.on("exit", (code, signal) => r(`code ${code}, signal ${signal}`)));
    child.kill("SIGTERM");
    expect(await exited).toBe("code 0, signal null");
  });

  it("explains a port already taken, naming the address", async () => {
    const squatter: Socket = createSocket("udp4");
    await new Promise<void>((r) => squatter.bind(53, "127.0.13.11", () => r()));
    try {
      const r = await danelab(upArgs(join(tmp, "state2"), "127.0.13.11", "127.0.41.10"));
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/127\.0\.13\.11:53/);
      expect(r.stderr).toMatch(/in use/i);
      expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    } finally {
      squatter.close();
    }
  });

  it("explains missing privileges for ports 25/53 with the three fixes", async () => {
    const state = join(tmp, "state3");
    mkdirSync(state, { mode: 0o700 });
    chownSync(state, 65534, 65534); // nobody's own state directory
    const r = await danelab(upArgs(state, "127.0.13.12", "127.0.41.20"), { asUser: "nobody" });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/root/);
    expect(r.stderr).toMatch(/setcap cap_net_bind_service/);
    expect(r.stderr).toMatch(/ip_unprivileged_port_start/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it("reports a malformed scenario file as file:line: with the field", async () => {
    const dir = join(tmp, "bad-scenarios");
    mkdirSync(dir);
    writeFileSync(
      join(dir, "my-test.yaml"),
      "id: my-test\ntitle: mine\ngroup: mine\nexpect: deliver-maybe\nteach: x\n",
    );
    const r = await danelab(["up", "--scenarios", dir, "--state-dir", join(tmp, "state4")]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/my-test\.yaml:4: expect: must be one of "deliver"/);
  });
});

describe("the other commands", () => {
  it("--help explains the commands", async () => {
    const r = await danelab(["--help"]);
    expect(r.code).toBe(0);
    for (const cmd of ["up", "report", "explain", "export", "scenarios", "check"])
      expect(r.stdout).toMatch(new RegExp(`\\n\\s+${cmd}\\b`));
  });

  it("report without a lab says where the manifest should be and how to start the lab", async () => {
    const r = await danelab(["report", "--state-dir", join(tmp, "nothing-here")]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/no readable manifest/);
    expect(r.stderr).toMatch(/npm run lab/);
  });

  it("explain shows the chain, the TLSA match and the openssl command with real values", async () => {
    const r = await danelab(["explain", "seed-mx06", "--state-dir", join(tmp, "state5")]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/mx06\.seed-mx06\.lab\.example/);
    expect(r.stdout).toMatch(/matched by TLSA 2 1 1/);
    expect(r.stdout).toMatch(/openssl s_client -starttls smtp -connect 127\.0\.25\.\d+:25/);
    expect(r.stdout).toMatch(/-dane_tlsa_rrdata "2 1 1 [0-9a-f]{64}"/);
    expect((r.stdout.match(/-dane_tlsa_rrdata/g) ?? []).length).toBe(9);
  });
});
