// Throughput of the lab's DNS server against NSD (a C authoritative server) on the same signed zones, measured with
// dnsperf the way the design notes measured NSD: UDP, DO set, 100 queries outstanding, a 4-name mix. The goal is at
// least half of NSD's queries per second. Runs are interleaved (NSD, lab, three times) and the best of each kept,
// because the machine is shared; the ratio is asserted on a quiet machine or with DANELAB_BENCH=1.
// Addresses: lab 127.0.11.40 (kernel-picked port), NSD 127.0.11.41:5341.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningDnsServer, startDnsServer } from "../lab/dns/server.js";
import { buildTree } from "../zones/index.js";
import { fixtureZones, SUFFIX } from "./dns.fixture.js";
import { dig, run } from "./dns.helpers.js";

const LAB = "127.0.11.40";
const NSD = "127.0.11.41";
const NSD_PORT = 5341;
const SECONDS = 4;

let server: RunningDnsServer;
let nsd: ChildProcess;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "danelab-dns-bench-"));
  const tree = await buildTree(fixtureZones(LAB), { dir: join(dir, "keys") });
  server = await startDnsServer({ address: LAB, port: 0, tree });
  const zoneBlocks: string[] = [];
  for (const zone of tree.zones) {
    const file = `${zone.origin === "" ? "root" : zone.origin}.zone`;
    writeFileSync(join(dir, file), zone.toZoneFile());
    zoneBlocks.push(`zone:\n  name: "${zone.origin === "" ? "." : zone.origin}"\n  zonefile: "${join(dir, file)}"\n`);
  }
  const conf = join(dir, "nsd.conf");
  // Debian's NSD rate-limits answers per client netblock by default; a benchmark must turn that off.
  writeFileSync(
    conf,
    `server:
  ip-address: ${NSD}@${NSD_PORT}
  port: ${NSD_PORT}
  server-count: 1
  username: ""
  chroot: ""
  zonesdir: "${dir}"
  database: ""
  zonelistfile: "${join(dir, "zone.list")}"
  xfrdfile: "${join(dir, "xfrd.state")}"
  pidfile: "${join(dir, "nsd.pid")}"
  logfile: "${join(dir, "nsd.log")}"
  rrl-ratelimit: 0
  rrl-whitelist-ratelimit: 0
  verbosity: 0
remote-control:
  control-enable: no
${zoneBlocks.join("")}`,
  );
  nsd = spawn("nsd", ["-d", "-c", conf], { stdio: "ignore" });
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if ((await dig(NSD, NSD_PORT, ["+norec", SUFFIX, "SOA"])).status === "NOERROR") return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`NSD did not answer on ${NSD}:${NSD_PORT}; see ${join(dir, "nsd.log")}`);
}, 60_000);

afterAll(async () => {
  if (nsd && nsd.exitCode === null) {
    const exited = new Promise((r) => nsd.once("exit", r));
    nsd.kill("SIGTERM");
    await exited;
  }
  await server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function dnsperf(address: string, port: number, flags: string): Promise<{ qps: number; lost: number }> {
  const queries = join(dir, `queries-${flags}.txt`);
  writeFileSync(
    queries,
    [
      `_25._tcp.mx.secure.${SUFFIX} TLSA`,
      `secure.${SUFFIX} MX`,
      `mx.secure.${SUFFIX} A`,
      `nope.secure.${SUFFIX} A`,
    ].join("\n"),
  );
  // dnsperf's queries carry RD=1, so the lab answers them in resolver mode and NSD authoritatively.
  const r = await run(
    "dnsperf",
    ["-s", address, "-p", String(port), "-d", queries, "-l", String(SECONDS), "-D", "-q", "100", "-c", "1"],
    {
      timeoutMs: (SECONDS + 15) * 1000,
    },
  );
  const qps = Number(/Queries per second:\s+([\d.]+)/.exec(r.output)?.[1] ?? 0);
  const lost = Number(/Queries lost:\s+(\d+)/.exec(r.output)?.[1] ?? 0);
  return { qps, lost };
}

describe("throughput against NSD", () => {
  it("the lab answers at least half as many queries per second as NSD", async () => {
    const nsdRuns: number[] = [];
    const labRuns: number[] = [];
    for (let i = 0; i < 3; i++) {
      nsdRuns.push((await dnsperf(NSD, NSD_PORT, "nsd")).qps);
      labRuns.push((await dnsperf(LAB, server.port, "lab")).qps);
    }
    const best = (xs: number[]) => Math.max(...xs);
    const ratio = best(labRuns) / best(nsdRuns);
    const stats = server.stats();
    const load = loadavg()[0] ?? 0;
    console.log(
      `dnsperf ${SECONDS} s each, DO, -q 100: NSD ${nsdRuns.map((q) => q.toFixed(0)).join(", ")} qps; ` +
        `lab ${labRuns.map((q) => q.toFixed(0)).join(", ")} qps; best lab/NSD = ${ratio.toFixed(2)}; ` +
        `load average ${load.toFixed(1)} on ${cpus().length} CPUs; lab cache hits ${stats.cacheHits}, ` +
        `misses ${stats.cacheMisses}, rcodes ${JSON.stringify(stats.byRcode)}`,
    );
    expect(best(nsdRuns)).toBeGreaterThan(0);
    expect(best(labRuns)).toBeGreaterThan(0);
    // Two single-threaded servers and dnsperf share the CPUs with whatever else runs (the rest of the test suite runs
    // in parallel): the ratio means something only on a quiet machine, or when asked for with DANELAB_BENCH=1.
    if (process.env.DANELAB_BENCH === "1" || load < cpus().length) expect(ratio).toBeGreaterThanOrEqual(0.5);
  }, 120_000);
});
