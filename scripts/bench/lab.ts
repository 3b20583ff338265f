// The lab as the benchmark runs it: the loopback addresses of the lab and its peers, `danelab up` started the way a
// user starts it (timed to its "ready" line) and stopped, and what every section of the benchmark shares — its
// settings, its scratch directory and the table and JSON figures it fills.
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Manifest } from "../../lab/manifest.js";

export const ROOT = resolve(fileURLToPath(new URL("../../..", import.meta.url)));
export const BIN = join(ROOT, "bin/danelab.js");
export const LAB_DNS = "127.0.17.1";
export const LAB_SMTP = "127.0.44.1";
export const NSD = "127.0.17.3";
export const POSTFIX = "127.0.17.4";

/** What a section of the benchmark is given, and where it puts its figures. */
export interface Bench {
  /** Scratch directory, removed at the end. */
  work: string;
  /** Runs per figure (the figure is their median, with min and max). */
  runs: number;
  dnsSeconds: number;
  dnsLatencySeconds: number;
  smtpSeconds: number;
  /** The figures written as JSON. */
  results: Record<string, unknown>;
  /** The printed table: area, what, figure, versus peer or goal. */
  rows: string[][];
  say(line: string): void;
}

/** A lab started by startLabProcess. */
export interface LabProcess {
  child: ChildProcess;
  ms: number;
  manifest: Manifest;
}

/** `danelab up` as a user runs it; resolves at the "ready" line with the elapsed milliseconds. */
export async function startLabProcess(stateDir: string): Promise<LabProcess> {
  const t = performance.now();
  const child = spawn(process.execPath, [
    BIN,
    "up",
    "--quiet",
    "--no-http",
    "--state-dir",
    stateDir,
    "--dns-address",
    LAB_DNS,
    "--smtp-address",
    LAB_SMTP,
  ]);
  let out = "";
  const ms = await new Promise<number>((res, rej) => {
    const onData = (d: Buffer) => {
      out += d.toString();
      if (/danelab ready/.test(out)) res(performance.now() - t);
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.on("exit", (code) => rej(new Error(`danelab up exited with ${code}:\n${out}`)));
  });
  const manifest = JSON.parse(readFileSync(join(stateDir, "manifest.json"), "utf8")) as Manifest;
  return { child, ms, manifest };
}

export function stopProcess(child: ChildProcess): Promise<void> {
  return new Promise((res) => {
    if (child.exitCode !== null) return res();
    child.once("exit", () => res());
    child.kill("SIGTERM");
  });
}
