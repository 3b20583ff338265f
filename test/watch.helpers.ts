// Runs `danelab watch` as a user would while their MTA holds greylisted mail: a child process (stderr is a pipe, so
// plain lines), and whenever watch names messages waiting in the MTA's queue with a flush command, that command is
// run where the MTA lives — what the user does when watch tells them to.
import { type ChildProcess, spawn } from "node:child_process";
import { resolve } from "node:path";

export const BIN = resolve("bin/danelab.js");

export interface Watched {
  code: number | null;
  stdout: string;
  stderr: string;
  flushes: number;
}

/** `flushCommand` as watch prints it (e.g. "exim -qff"); `flush` runs it in the MTA's container. */
export function watchAndFlush(
  args: string[],
  flushCommand: string,
  flush: () => Promise<unknown>,
  timeoutMs: number,
): Promise<Watched> {
  return new Promise((res, rej) => {
    const child: ChildProcess = spawn(process.execPath, [BIN, "watch", ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    let pending = "";
    let flushes = 0;
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      rej(new Error(`watch did not end within ${timeoutMs} ms; stderr:\n${stderr}`));
    }, timeoutMs);
    child.stdout!.on("data", (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr!.on("data", (d: Buffer) => {
      stderr += d.toString();
      pending += d.toString();
      const lines = pending.split("\n");
      pending = lines.pop()!;
      for (const line of lines) {
        if (line.includes("probably waiting in your MTA's queue") && line.includes(`\`${flushCommand}\``)) {
          flushes++;
          void flush();
        }
      }
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      res({ code, stdout, stderr, flushes });
    });
  });
}
