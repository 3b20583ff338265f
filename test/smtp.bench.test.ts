// Throughput of one listener: deliveries per second over STARTTLS (TLS 1.3) from 50 concurrent connections for 10 s,
// with each message fsync'ed into the Maildir and its events written before the 250, and the p50/p99 latency of one
// whole delivery (connect → 250 after DATA). The listener runs in a child process, the load generator here.
// A measurement, not a goal: runs only with DANELAB_BENCH=1. Loopback address: 127.0.12.50, port 25.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import { deliverMessage, makePki, testMessage, until, writeListenerChild } from "./smtp.fixtures.js";

const ADDRESS = "127.0.12.50";
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 50);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
let dir: string | undefined;
let child: ChildProcess | undefined;

afterAll(() => {
  child?.kill("SIGKILL");
  if (dir) rmSync(dir, { recursive: true, force: true });
});

it.skipIf(!process.env.DANELAB_BENCH)(
  "deliveries/s over STARTTLS (TLS 1.3), 50 concurrent connections, 10 s",
  async () => {
    dir = mkdtempSync(join(tmpdir(), "danelab-bench-"));
    const pki = makePki(join(dir, "pki"));
    const script = writeListenerChild(dir, pki, ADDRESS);
    child = spawn(process.execPath, [script], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout!.on("data", (d) => {
      out += d;
    });
    await until(() => out.includes("ready"), 30_000, "listener child");

    const content = testMessage("bench", 30); // ~2 KB
    const latencies: number[] = [];
    let failures = 0;
    const end = Date.now() + SECONDS * 1000;
    const worker = async (w: number) => {
      let n = 0;
      while (Date.now() < end) {
        const t0 = performance.now();
        const r = await deliverMessage(ADDRESS, content, { to: `run-bench-${w}-${n++}@a.lab.example` });
        if (r.code === 250) latencies.push(performance.now() - t0);
        else failures++;
      }
    };
    const started = performance.now();
    await Promise.all(Array.from({ length: CONCURRENCY }, (_, w) => worker(w)));
    const elapsed = (performance.now() - started) / 1000;
    latencies.sort((a, b) => a - b);
    const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))]!;
    console.log(
      `[smtp bench] ${latencies.length} deliveries in ${elapsed.toFixed(1)} s = ${(latencies.length / elapsed).toFixed(1)}/s ` +
        `over STARTTLS (TLS 1.3), concurrency ${CONCURRENCY}; latency p50 ${pct(50).toFixed(0)} ms, ` +
        `p99 ${pct(99).toFixed(0)} ms, max ${latencies.at(-1)!.toFixed(0)} ms; failures ${failures}`,
    );
    expect(latencies.length).toBeGreaterThan(0);
  },
  120_000,
);
