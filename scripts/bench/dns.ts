// The benchmark's DNS section: dnsperf against the lab's DNS and against NSD serving the lab's own exported signed
// zones, with the same query mix (every scenario's MX, MX host address, TLSA and a name that does not exist).
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { withoutTrailingDot } from "../../zones/names.js";
import { type Bench, BIN, LAB_DNS, type LabProcess, NSD } from "./lab.js";
import { requireCommand, startNsd, waitForDns } from "./peers.js";
import { fig, figure, fmt, percentile } from "./stats.js";

interface DnsperfResult {
  qps: number;
  sent: number;
  lost: number;
  /** NaN unless the run was verbose. */
  p50Ms: number;
  p99Ms: number;
}

/**
 * One dnsperf run. Throughput runs are plain: `-v` (one output line per answer) costs dnsperf enough CPU to cut the
 * measured rate by 14% (NSD) to 29% (the lab) on two cores (one measurement, output to a file), so latency percentiles come from separate,
 * shorter `-v` runs (`latencies`).
 */
async function dnsperf(server: string, queries: string, seconds: number, verbose = false): Promise<DnsperfResult> {
  const child = spawn("dnsperf", [
    "-s",
    server,
    "-d",
    queries,
    "-D",
    "-l",
    String(seconds),
    "-q",
    "100",
    "-c",
    "4",
    ...(verbose ? ["-v"] : []),
  ]);
  const latencies: number[] = [];
  const summary: string[] = [];
  const lines = createInterface({ input: child.stdout });
  for await (const line of lines) {
    const m = /^> \S+ .* (\d+\.\d+)$/.exec(line);
    if (m) latencies.push(Number(m[1]) * 1000);
    else summary.push(line);
  }
  const text = summary.join("\n");
  const num = (re: RegExp) => Number(re.exec(text)?.[1] ?? Number.NaN);
  latencies.sort((a, b) => a - b);
  return {
    qps: num(/Queries per second:\s+([\d.]+)/),
    sent: num(/Queries sent:\s+(\d+)/),
    lost: num(/Queries lost:\s+(\d+)/),
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
  };
}

/** dnsperf rounds against the running lab and against NSD; `stateDir` is the lab's, exported for NSD. */
export async function benchDns(b: Bench, lab: LabProcess, stateDir: string): Promise<void> {
  requireCommand("dnsperf", "dnsperf");
  const exportDir = join(b.work, "export");
  execFileSync(process.execPath, [BIN, "export", "--out", exportDir, "--state-dir", stateDir, "--dns-address", NSD]);
  const nsd = await startNsd(join(exportDir, "zones"), join(b.work, "nsd"), NSD);
  const queries = join(b.work, "queries.txt");
  await waitForDns(LAB_DNS, 53);
  // The mix: every scenario's MX, MX host address, TLSA and a name that does not exist — minus the names the lab
  // deliberately never answers (the `timeout` fault): a query that is never answered holds one of dnsperf's
  // outstanding slots for its whole timeout and would measure the fault, not the server.
  const mix = lab.manifest.scenarios.flatMap((s) => {
    const mx = withoutTrailingDot(s.mx[0]!.host);
    return [`${s.domain} MX`, `${mx} A`, `_25._tcp.${mx} TLSA`, `no-such-name.${s.domain} A`];
  });
  const answered = mix.filter((line) => {
    const [name, type] = line.split(" ") as [string, string];
    const r = spawnSync("dig", [`@${LAB_DNS}`, "+dnssec", "+time=1", "+tries=1", name, type], { encoding: "utf8" });
    return /status: /.test(r.stdout);
  });
  b.say(
    `dns: ${answered.length} of ${mix.length} names in the mix (${mix.length - answered.length} never answered on purpose)`,
  );
  writeFileSync(queries, answered.join("\n"));
  type Run = { rate: DnsperfResult; latency: DnsperfResult };
  const labRuns: Run[] = [];
  const nsdRuns: Run[] = [];
  const measure = async (server: string): Promise<Run> => ({
    rate: await dnsperf(server, queries, b.dnsSeconds),
    latency: await dnsperf(server, queries, b.dnsLatencySeconds, true),
  });
  // Warm-up, not counted: the lab computes each (name, type, mode) answer on first sight and JIT-compiles its hot
  // path; NSD gets the same treatment.
  for (const server of [LAB_DNS, NSD]) await dnsperf(server, queries, 2);
  for (let i = 0; i < b.runs; i++) {
    b.say(
      `dns: run ${i + 1}/${b.runs}: ${b.dnsSeconds} s for the rate, then ${b.dnsLatencySeconds} s with -v for latencies, ` +
        "against the lab and NSD",
    );
    labRuns.push(await measure(LAB_DNS));
    nsdRuns.push(await measure(NSD));
  }
  await nsd.close();
  const summarize = (runs: Run[]) => ({
    qps: figure(runs.map((r) => r.rate.qps)),
    lost: runs.reduce((n, r) => n + r.rate.lost + r.latency.lost, 0),
    p50Ms: figure(runs.map((r) => r.latency.p50Ms)),
    p99Ms: figure(runs.map((r) => r.latency.p99Ms)),
  });
  const l = summarize(labRuns);
  const n = summarize(nsdRuns);
  // Each round measures the lab and NSD back to back; on a shared machine the speed drifts between rounds, so the
  // ratio is taken per round (median of the rounds, with min and max) rather than between medians.
  const ratios = figure(labRuns.map((r, i) => r.rate.qps / nsdRuns[i]!.rate.qps));
  b.results["dns"] = { lab: l, nsd: n, ratio: ratios };
  const ratio = ratios.median;
  b.rows.push(
    [
      "dns",
      "lab DNS (dnsperf, DO, MX/A/TLSA/NXDOMAIN)",
      `${fig(l.qps)} qps, lost ${l.lost}, p50 ${fmt(l.p50Ms.median, 3)} ms, p99 ${fmt(l.p99Ms.median, 3)} ms`,
      `${fmt(ratio, 2)}× NSD (${fmt(ratios.min, 2)}–${fmt(ratios.max, 2)} by round; goal ≥ 0.5× and 0 lost: ` +
        `${ratio >= 0.5 && l.lost === 0 ? "met" : "MISSED"})`,
    ],
    [
      "dns",
      "NSD, same signed zones",
      `${fig(n.qps)} qps, lost ${n.lost}, p50 ${fmt(n.p50Ms.median, 3)} ms, p99 ${fmt(n.p99Ms.median, 3)} ms`,
      "peer",
    ],
  );
}
