// `npm run bench`: the lab measured against established servers on the same machine, in the same run.
//   startup  cold (empty state) and warm `danelab up` to "ready", vs the same work done the shell way
//            (openssl CLI + ldns-signzone + NSD); PKI and zone building cold/warm on their own
//   dns      dnsperf against the lab's DNS and against NSD serving the lab's own exported signed zones, same mix
//   smtp     50 concurrent STARTTLS (TLS 1.3) deliveries against the lab and against Postfix's smtpd (discard)
//   memory   the lab's resident memory idle with the whole catalogue and at the end of the SMTP load
// Every figure is the median of several runs, with min and max. Prints a table and writes bench-results.json.
// Loopback only: lab 127.0.17.1 (DNS) and 127.0.44.x (SMTP), NSD 127.0.17.3, Postfix 127.0.17.4.
// The host is left as it was: the peers run as our own processes (NSD) or in the Postfix client image (bench/peers.ts),
// nothing is installed, and scripts/host-state.sh compares the host's packages and service configuration before and
// after the whole run (a difference fails it).
//
// Usage: npm run bench [-- --quick] [-- --only startup,dns,smtp] [-- --out FILE]// The sections live in scripts/bench/ (startup.ts, dns.ts, smtp.ts; the lab process and shared settings in lab.ts).
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ContainerError } from "../clients/container.js";
import { benchDns } from "./bench/dns.js";
import { type Bench, ROOT, startLabProcess, stopProcess } from "./bench/lab.js";
import { PeerError } from "./bench/peers.js";
import { benchSmtp } from "./bench/smtp.js";
import { benchStartAfterUse, benchStartup } from "./bench/startup.js";
import { fmt, rssMb } from "./bench/stats.js";

const args = process.argv.slice(2);
const USAGE = `Usage: npm run bench [-- --quick] [-- --only startup,dns,smtp,memory] [-- --out FILE]

Measures the lab against established servers on this machine, in one run (about 7 minutes on 2 cores):
  startup  cold and warm 'danelab up' to "ready", against the same PKI and signed zones done with the openssl CLI,
           ldns-signzone and NSD
  dns      dnsperf against the lab's DNS and against NSD serving the lab's exported signed zones (30 s per run)
  smtp     50 concurrent STARTTLS (TLS 1.3) deliveries against the lab and against Postfix's smtpd
  memory   the lab's resident memory idle and at the end of the SMTP load
Each figure is the median of 3 runs (2 with --quick), with min and max. Prints a table and writes the figures as JSON
to FILE (default bench-results.json). Needs root (ports 25/53), Debian's dnsperf, nsd, ldnsutils, bind9-dnsutils and
openssl, and the Docker engine with the Postfix client image (the Postfix peer runs in it, never on the host):
'sudo bash scripts/setup-host.sh' sets all of that up; the benchmark itself installs nothing. It checks that the
host's packages and MTA/resolver/Docker configuration are the same after the run as before (scripts/host-state.sh)
and fails when they are not. Loopback only (127.0.17.x, 127.0.44.x).
`;
const known = new Set(["--quick", "--only", "--out", "--help", "-h"]);
const unknown = args.filter(
  (a, i) => a.startsWith("-") && !known.has(a) && !["--only", "--out"].includes(args[i - 1]!),
);
if (args.includes("--help") || args.includes("-h") || unknown.length > 0) {
  if (unknown.length > 0) process.stderr.write(`bench: unknown option ${unknown.join(", ")}\n\n`);
  (unknown.length > 0 ? process.stderr : process.stdout).write(USAGE);
  process.exit(unknown.length > 0 ? 2 : 0);
}
const quick = args.includes("--quick");
const onlyArg = args[args.indexOf("--only") + 1];
const only = args.includes("--only") && onlyArg ? new Set(onlyArg.split(",")) : null;
const outFile = args.includes("--out") ? args[args.indexOf("--out") + 1]! : join(ROOT, "bench-results.json");
const RUNS = quick ? 2 : 3;
// The 30 s per DNS run; latency percentiles from shorter -v runs (see dnsperf()).
const DNS_SECONDS = quick ? 3 : 30;
const DNS_LATENCY_SECONDS = quick ? 2 : 5;
const SMTP_SECONDS = quick ? 3 : 10;
const want = (section: string) => !only || only.has(section);

const work = mkdtempSync(join(tmpdir(), "danelab-bench-"));
chmodSync(work, 0o755); // Postfix's own processes (user postfix) must reach their queue directory below it
const results: Record<string, unknown> = { date: new Date().toISOString(), node: process.version, quick };
const rows: string[][] = [];
const say = (line: string) => process.stderr.write(`bench: ${line}\n`);
const b: Bench = {
  work,
  runs: RUNS,
  dnsSeconds: DNS_SECONDS,
  dnsLatencySeconds: DNS_LATENCY_SECONDS,
  smtpSeconds: SMTP_SECONDS,
  results,
  rows,
  say,
};

async function benchDnsSmtpMemory() {
  const stateDir = join(work, "state-serve");
  const lab = await startLabProcess(stateDir);
  try {
    await new Promise((r) => setTimeout(r, 2000));
    const idle = await rssMb(lab.child.pid!);
    results["memoryIdleMb"] = idle;
    rows.push([
      "memory",
      `lab idle, ${lab.manifest.scenarios.length} scenarios`,
      `${fmt(idle, 1)} MB`,
      `goal < 150 MB: ${idle < 150 ? "met" : "MISSED"}`,
    ]);

    if (want("dns")) await benchDns(b, lab, stateDir);
    if (want("smtp")) await benchSmtp(b, lab, stateDir);
  } finally {
    await stopProcess(lab.child);
  }
  if (want("smtp")) await benchStartAfterUse(b, stateDir);
}

/** scripts/host-state.sh: `snapshot` before the run, `compare` after it (false when the host changed). */
function hostState(cmd: "snapshot" | "compare", file: string): boolean {
  const r = spawnSync("bash", [join(ROOT, "scripts/host-state.sh"), cmd, file], {
    stdio: ["ignore", "inherit", "inherit"],
  });
  return r.status === 0;
}

async function main() {
  const hostBefore = join(work, "host-state.before");
  if (!hostState("snapshot", hostBefore)) throw new Error("could not take the host-state snapshot (see above)");
  // A section that cannot run (a peer missing, a port taken) is reported in the table; the others still run.
  const section = async (name: string, run: () => Promise<void>) => {
    try {
      await run();
    } catch (err) {
      // A missing tool or image is the user's to fix and says how; anything else is a bug and gets its stack.
      const expected = err instanceof PeerError || err instanceof ContainerError;
      say(`${name}: ${expected ? (err as Error).message : ((err as Error).stack ?? err)}`);
      rows.push([name, "could not run", (err as Error).message.split("\n")[0]!, "see the lines above"]);
      process.exitCode = 1;
    }
  };
  try {
    if (want("startup")) await section("startup", () => benchStartup(b));
    if (want("dns") || want("smtp") || want("memory")) await section("dns/smtp", benchDnsSmtpMemory);
  } finally {
    const unchanged = hostState("compare", hostBefore);
    rows.push([
      "host",
      "packages, /etc/exim4, /etc/postfix, resolver and Docker config",
      unchanged ? "unchanged" : "CHANGED (listed above)",
      "must be unchanged",
    ]);
    if (!unchanged) {
      say("the run changed the host (listed above): a benchmark peer must never install or reconfigure host services");
      process.exitCode = 1;
    }
    rmSync(work, { recursive: true, force: true });
  }
  const header = ["area", "what", "figure: median (min–max)", "vs peer / goal"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => c.padEnd(widths[i]!))
      .join("  ")
      .trimEnd();
  console.log(`\ndanelab benchmark (${RUNS} runs per figure${quick ? ", --quick" : ""}; node ${process.version})\n`);
  console.log([line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n"));
  writeFileSync(outFile, `${JSON.stringify({ ...results, table: rows }, null, 2)}\n`);
  console.log(`\nwritten: ${outFile}`);
}

main().catch((err) => {
  console.error(`bench: ${(err as Error).stack ?? err}`);
  process.exit(1);
});
