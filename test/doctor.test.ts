// `danelab doctor` for real on this host (the compiled CLI): with everything installed it passes; a port someone holds,
// a state directory others can read, swaks without Net::SSLeay and a user without privileges each fail with the cause
// and the fix. Needs root, the Docker engine and the client images (`sudo bash scripts/setup-host.sh`).
// Loopback addresses of this file: 127.0.81.1–127.0.81.9.
import { execFile } from "node:child_process";
import { createSocket } from "node:dgram";
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { CLIENT_IMAGES, IMAGE_TOOL_CHECKS, TOOL_CHECKS } from "../cli/doctor-tools.js";

const BIN = resolve("bin/danelab.js");
const exec = promisify(execFile);
const root = process.getuid?.() === 0;
const tmp = mkdtempSync(join(tmpdir(), "danelab-doctor-"));
chmodSync(tmp, 0o755);
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

interface Check {
  name: string;
  level: string;
  detail: string;
  fix?: string;
}

async function doctor(args: string[], opts: { env?: NodeJS.ProcessEnv; asNobody?: boolean } = {}) {
  const argv = [BIN, "doctor", "--dns-address", "127.0.81.1", "--smtp-address", "127.0.81.2", ...args];
  const [cmd, full] = opts.asNobody
    ? ["setpriv", ["--reuid=nobody", "--regid=nogroup", "--clear-groups", process.execPath, ...argv]]
    : [process.execPath, argv];
  try {
    const r = await exec(cmd as string, full as string[], { timeout: 60_000, env: { ...process.env, ...opts.env } });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
  }
}
const checksOf = (stdout: string) => (JSON.parse(stdout) as { checks: Check[] }).checks;
const byName = (checks: Check[], name: string) => checks.find((c) => c.name === name);

describe.skipIf(!root)("danelab doctor on this host", () => {
  it("passes here: every tool works, the engine and images are there, the ports are free", async () => {
    const r = await doctor(["--json", "--state-dir", join(tmp, "fresh-state")]);
    const checks = checksOf(r.stdout);
    expect(
      checks.filter((c) => c.level !== "ok" && c.level !== "info"),
      r.stdout,
    ).toEqual([]);
    expect(r.code).toBe(0);
    expect(checks.map((c) => c.name)).toEqual([
      "node",
      ...[...TOOL_CHECKS, ...IMAGE_TOOL_CHECKS].map((c) => c.name),
      "docker engine",
      ...CLIENT_IMAGES.map((name) => `image ${name}`),
      "port smtp tcp",
      "port dns udp",
      "port dns tcp",
      "port mta-sts https tcp",
      "resolv.conf",
      "state directory",
    ]);
    expect(byName(checks, "swaks STARTTLS")?.detail).toBe("TLS supported");
    expect(byName(checks, "port dns udp")?.detail).toBe("127.0.81.1:53 can be bound");
    expect(byName(checks, "port mta-sts https tcp")?.detail).toBe("127.0.81.1:443 can be bound");
    expect(byName(checks, "resolv.conf")?.detail).toMatch(/trust-ad/);
  });

  it("a held port names its holder; a state directory others can read fails with chmod 700", async () => {
    const tcp = createServer();
    await new Promise<void>((done) => tcp.listen(25, "127.0.81.3", done));
    const udp = createSocket("udp4");
    await new Promise<void>((done) => udp.bind(53, "127.0.81.4", done));
    const state = join(tmp, "open-state");
    mkdirSync(state, { mode: 0o755 });
    chmodSync(state, 0o755);
    try {
      const r = await doctor(["--smtp-address", "127.0.81.3", "--dns-address", "127.0.81.4", "--state-dir", state]);
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(
        new RegExp(`FAIL +port smtp tcp +127\\.0\\.81\\.3:25 is in use, held by node \\(pid ${process.pid}\\)`),
      );
      expect(r.stdout).toMatch(
        new RegExp(`FAIL +port dns udp +127\\.0\\.81\\.4:53 is in use, held by node \\(pid ${process.pid}\\)`),
      );
      expect(r.stdout).toMatch(/ok +port dns tcp +127\.0\.81\.4:53 can be bound/);
      expect(r.stdout).toMatch(/FAIL +state directory .*open-state has mode 0755; it holds private keys/);
      expect(r.stdout).toContain(`fix: chmod 700 ${state}`);
      expect(r.stdout).toMatch(/^doctor: 3 check\(s\) failed; each 'fix:' line says what to do$/m);
    } finally {
      tcp.close();
      udp.close();
    }
  });

  it("swaks without Net::SSLeay: only swaks STARTTLS fails, naming the module and libnet-ssleay-perl", async () => {
    // The real swaks, with the Perl module made unloadable the way a missing package makes it.
    const perl = join(tmp, "perl");
    mkdirSync(join(perl, "Net"), { recursive: true });
    writeFileSync(join(perl, "Net/SSLeay.pm"), 'die "hidden by the doctor test\\n";\n');
    const r = await doctor(["--tools-only", "--json"], { env: { PERL5LIB: perl } });
    expect(r.code).toBe(1);
    const failed = checksOf(r.stdout).filter((c) => c.level !== "ok");
    expect(failed).toEqual([
      {
        name: "swaks STARTTLS",
        level: "FAIL",
        detail: "runs but does not work: TLS not available: requires Net::SSLeay",
        fix: expect.stringMatching(/Recommends .*apt-get install --no-install-recommends swaks libnet-ssleay-perl/),
      },
    ]);
    expect(checksOf(r.stdout)).toHaveLength(TOOL_CHECKS.length + 1); // + node; no host checks with --tools-only
  });

  it("without root: no Docker socket and no port below 1024, each with its fix", async () => {
    const r = await doctor(["--json", "--state-dir", join(tmp, "nobody-state")], { asNobody: true });
    expect(r.code).toBe(1);
    const checks = checksOf(r.stdout);
    expect(byName(checks, "docker engine")).toMatchObject({
      level: "FAIL",
      fix: expect.stringMatching(/docker group/),
    });
    expect(byName(checks, "image exim")).toMatchObject({
      level: "FAIL",
      detail: expect.stringMatching(/engine not reachable/),
    });
    expect(byName(checks, "port smtp tcp")).toMatchObject({
      level: "FAIL",
      detail: "127.0.81.2:25: no permission to bind a port below 1024",
      fix: expect.stringMatching(/setcap cap_net_bind_service=\+ep/),
    });
    expect(byName(checks, "swaks STARTTLS")?.level).toBe("ok"); // the tools work for any user
  });

  it("leaves the user's home as it was (chromium gets a throw-away profile, configuration and cache)", async () => {
    const home = join(tmp, "home");
    mkdirSync(home);
    const r = await doctor(["--tools-only"], { env: { HOME: home } });
    expect(r.stdout).toMatch(/ok +chromium headless +renders a page/);
    expect(readdirSync(home)).toEqual([]);
  });

  it("--help says what it checks and what --tools-only leaves out", async () => {
    const r = await exec(process.execPath, [BIN, "doctor", "--help"]);
    expect(r.stdout.replace(/\s+/g, " ")).toMatch(
      /each tool works, not only that it is on PATH \(swaks must have STARTTLS/,
    );
    expect(r.stdout).toMatch(/--tools-only +only the tool checks/);
    expect(r.stdout).toMatch(/--json/);
  });
});
