// How the integration tests run a real tool (openssl, gnutls-cli, dig, delv, unbound-checkconf, …) without blocking
// the event loop: the server under test often runs in this very process.
import { spawn } from "node:child_process";

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stdout + stderr, for tools that print their verdict on either. */
  output: string;
}

export interface RunOptions {
  input?: string | Buffer;
  /** Killed (SIGKILL, code null) after this long; default 20 s. */
  timeoutMs?: number;
  /** Added to this process's environment. */
  env?: Record<string, string>;
}

/**
 * Runs `cmd args`, feeds `input` (or nothing) on stdin and closes it; never throws on a non-zero exit. A tool that is
 * not installed rejects with a message that says so.
 */
export function run(cmd: string, args: string[], opts: RunOptions = {}) {
  return new Promise<RunResult>((resolve, reject) => {
    const child = spawn(cmd, args, {
      stdio: ["pipe", "pipe", "pipe"],
      ...(opts.env ? { env: { ...process.env, ...opts.env } } : {}),
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => err.push(b));
    const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 20_000);
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(new Error(`${cmd} could not run (${e.message}); \`npx danelab doctor\` names the package it needs`));
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      const stdout = Buffer.concat(out).toString("utf8");
      const stderr = Buffer.concat(err).toString("utf8");
      resolve({ code, stdout, stderr, output: stdout + stderr });
    });
    child.stdin.on("error", () => {}); // the tool may exit before reading its input
    child.stdin.end(opts.input ?? "");
  });
}

/** A run whose output is binary (DER). */
export function runBinary(cmd: string, args: string[], input: string | Buffer): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ["pipe", "pipe", "inherit"] });
    const out: Buffer[] = [];
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.on("error", reject);
    child.on("close", (code) =>
      code === 0 ? resolve(Buffer.concat(out)) : reject(new Error(`${cmd} ${args.join(" ")} exited ${code}`)),
    );
    child.stdin.end(input);
  });
}
