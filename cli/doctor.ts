// `danelab doctor`: does this machine have what the lab and its tests need, and does each tool *work*? A tool on PATH is
// not a working tool: Debian's swaks without Net::SSLeay (a Recommends that --no-install-recommends skips) runs, but
// has no STARTTLS. So each check runs the tool and looks for what a working one prints; a failure names the Debian
// package to install or the command to run.
//
// The tool checks are data (TOOL_CHECKS) shared by the doctor on a user's machine and by `npm run test:fresh-host`,
// which runs `danelab doctor --tools-only --json` in fresh Debian containers after scripts/setup-host.sh installed the
// packages of scripts/host.packages. Host checks (Docker engine and images, ports 25/53/443, resolv.conf, the state
// directory) need the machine itself and are left out with --tools-only.// The checks are data in doctor-tools.ts; the verdicts are pure functions in doctor-judge.ts; this module runs them.
import { spawn } from "node:child_process";
import { accessSync, constants, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { portOwner } from "../lab/port-owner.js";
import {
  type CheckResult,
  DEFAULT_TIMEOUT_MS,
  judgeDocker,
  judgeImage,
  judgeNode,
  judgePort,
  judgeResolvConf,
  judgeStateDir,
  judgeTool,
  type ToolRun,
} from "./doctor-judge.js";
import { CLIENT_IMAGES, IMAGE_TOOL_CHECKS, TOOL_CHECKS, type ToolCheck } from "./doctor-tools.js";

/** Runs one tool check for real: temporary files in a private directory, a timeout, no shell. */
export async function runToolCheck(check: ToolCheck): Promise<CheckResult> {
  const dir = check.files ? mkdtempSync(join(tmpdir(), "danelab-doctor-")) : "";
  const fill = (s: string) => s.replaceAll("{dir}", dir);
  try {
    for (const [name, text] of Object.entries(check.files ?? {})) writeFileSync(join(dir, name), fill(text));
    const env = Object.fromEntries(Object.entries(check.env ?? {}).map(([k, v]) => [k, fill(v)]));
    const run = await runCommand(check.argv.map(fill), check.timeoutMs ?? DEFAULT_TIMEOUT_MS, env);
    return judgeTool(check, run);
  } finally {
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}

function runCommand(argv: string[], timeoutMs: number, env: Record<string, string> = {}): Promise<ToolRun> {
  return new Promise((done) => {
    // Its own process group, so a timeout also ends what the tool started (chromium's helper processes).
    const child = spawn(argv[0]!, argv.slice(1), {
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
      env: { ...process.env, ...env },
    });
    let output = "";
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        if (child.pid) process.kill(-child.pid, "SIGKILL");
      } catch {}
    }, timeoutMs);
    const take = (b: Buffer) => {
      if (output.length < 100_000) output += b.toString("utf8");
    };
    child.stdout.on("data", take);
    child.stderr.on("data", take);
    child.on("error", (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      done({ status: null, output, error: err.code ?? err.message });
    });
    child.on("close", (status) => {
      clearTimeout(timer);
      done(timedOut ? { status, output, error: "timeout" } : { status, output });
    });
  });
}
// --- running everything ---------------------------------------------------------------------------------------------

export interface DoctorOptions {
  toolsOnly: boolean;
  stateDir: string;
  dnsAddress: string;
  smtpAddress: string;
}

export async function runDoctor(o: DoctorOptions): Promise<CheckResult[]> {
  const tools = [...TOOL_CHECKS, ...(o.toolsOnly ? [] : IMAGE_TOOL_CHECKS)];
  const results = [judgeNode(process.version), ...(await Promise.all(tools.map(runToolCheck)))];
  if (o.toolsOnly) return results;

  const docker = judgeDocker(await runCommand(["docker", "info", "--format", "{{.ServerVersion}}"], 15_000));
  results.push(docker);
  for (const name of CLIENT_IMAGES) {
    const run =
      docker.level === "ok"
        ? await runCommand(
            ["docker", "image", "inspect", "--format", "{{.Id}}", `localhost/danelab-${name}:latest`],
            15_000,
          )
        : { status: null, output: "" };
    results.push(judgeImage(name, run, docker.level === "ok"));
  }
  results.push(await checkPort("smtp", o.smtpAddress, 25, "tcp"));
  results.push(await checkPort("dns", o.dnsAddress, 53, "udp"));
  results.push(await checkPort("dns", o.dnsAddress, 53, "tcp"));
  // The MTA-STS policy server (lab/sts/) listens on the DNS address, port 443, by default (RFC 8461 §3.3: no port).
  results.push(await checkPort("mta-sts https", o.dnsAddress, 443, "tcp"));
  let resolv: string | null = null;
  try {
    resolv = readFileSync("/etc/resolv.conf", "utf8");
  } catch {}
  results.push(judgeResolvConf(resolv, o.dnsAddress));
  results.push(stateDirCheck(resolve(o.stateDir)));
  return results;
}

async function checkPort(what: string, address: string, port: number, transport: "udp" | "tcp"): Promise<CheckResult> {
  const code = await tryBind(address, port, transport);
  const owner = code === "EADDRINUSE" ? portOwner(address, port, transport) : null;
  const r = judgePort(`${what} ${transport}`, address, port, code, owner);
  return r;
}

async function tryBind(address: string, port: number, transport: "udp" | "tcp"): Promise<string | null> {
  if (transport === "udp") {
    const { createSocket } = await import("node:dgram");
    return new Promise((done) => {
      const s = createSocket("udp4");
      s.once("error", (err: NodeJS.ErrnoException) => {
        s.close();
        done(err.code ?? "error");
      });
      s.bind(port, address, () => s.close(() => done(null)));
    });
  }
  const { createServer } = await import("node:net");
  return new Promise((done) => {
    const s = createServer();
    s.once("error", (err: NodeJS.ErrnoException) => done(err.code ?? "error"));
    s.listen({ port, host: address, exclusive: true }, () => s.close(() => done(null)));
  });
}

function stateDirCheck(dir: string): CheckResult {
  const writable = (p: string) => {
    try {
      accessSync(p, constants.W_OK | constants.X_OK);
      return true;
    } catch {
      return false;
    }
  };
  let stat: { mode: number; isDirectory: boolean } | null = null;
  try {
    const s = statSync(dir);
    stat = { mode: s.mode, isDirectory: s.isDirectory() };
  } catch {}
  return judgeStateDir(dir, stat, stat ? writable(dir) : false, writable(dirname(dir)));
}

// --- output ----------------------------------------------------------------------------------------------------------

export function formatResults(results: readonly CheckResult[]): string {
  const width = Math.max(...results.map((r) => r.name.length));
  const lines = results.map((r) => {
    const head = `${r.level.padEnd(4)}  ${r.name.padEnd(width)}  ${r.detail}`;
    return r.fix ? `${head}\n${" ".repeat(width + 8)}fix: ${r.fix}` : head;
  });
  const failed = results.filter((r) => r.level === "FAIL").length;
  const warned = results.filter((r) => r.level === "warn").length;
  lines.push(
    failed
      ? `doctor: ${failed} check(s) failed${warned ? `, ${warned} warning(s)` : ""}; each 'fix:' line says what to do`
      : `doctor: all ${results.length} checks passed${warned ? ` (${warned} warning(s))` : ""}`,
  );
  return lines.join("\n");
}

export function doctorExitCode(results: readonly CheckResult[]): number {
  return results.some((r) => r.level === "FAIL") ? 1 : 0;
}
