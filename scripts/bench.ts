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
// Usage: npm run bench [-- --quick] [-- --only startup,dns,smtp] [-- --out FILE]
import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { ContainerError } from "../clients/container.js";
import type { Manifest } from "../lab/manifest.js";
import { buildLab } from "../lab/up.js";
import { withoutTrailingDot } from "../zones/names.js";
import { PeerError, requireCommand, startNsd, startPostfix, waitForDns } from "./bench/peers.js";
import { ldnsScript, opensslScript } from "./bench/shell-way.js";
import { smtpLoad } from "./bench/smtp-load.js";
import { fig, figure, fmt, percentile, rssMb } from "./bench/stats.js";

const ROOT = resolve(fileURLToPath(new URL("../..", import.meta.url)));
const BIN = join(ROOT, "bin/danelab.js");
const LAB_DNS = "127.0.17.1";
const LAB_SMTP = "127.0.44.1";
const NSD = "127.0.17.3";
const POSTFIX = "127.0.17.4";

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

/** `danelab up` as a user runs it; resolves at the "ready" line with the elapsed milliseconds. */
async function startLabProcess(stateDir: string): Promise<{ child: ChildProcess; ms: number; manifest: Manifest }> {
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

function stopProcess(child: ChildProcess): Promise<void> {
  return new Promise((res) => {
    if (child.exitCode !== null) return res();
    child.once("exit", () => res());
    child.kill("SIGTERM");
  });
}

async function benchStartup() {
  say("startup: danelab up, cold and warm");
  const cold: number[] = [];
  const warm: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const dir = join(work, `state-cold-${i}`);
    const c = await startLabProcess(dir);
    cold.push(c.ms);
    await stopProcess(c.child);
    const w = await startLabProcess(dir);
    warm.push(w.ms);
    await stopProcess(w.child);
  }
  say("startup: PKI and zones in-process, cold and warm");
  const pkiCold: number[] = [];
  const pkiWarm: number[] = [];
  const zonesCold: number[] = [];
  const zonesWarm: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const dir = join(work, `build-${i}`);
    const c = await buildLab({ stateDir: dir, dnsAddress: LAB_DNS, smtpFirstAddress: LAB_SMTP });
    pkiCold.push(c.timings["pki"]!);
    zonesCold.push(c.timings["zones"]!);
    const w = await buildLab({ stateDir: dir, dnsAddress: LAB_DNS, smtpFirstAddress: LAB_SMTP });
    pkiWarm.push(w.timings["pki"]!);
    zonesWarm.push(w.timings["zones"]!);
  }

  say("startup: the shell way (openssl CLI + ldns-signzone + NSD)");
  requireCommand("ldns-signzone", "ldnsutils");
  requireCommand("openssl", "openssl");
  const built = await buildLab({ stateDir: join(work, "build-0"), dnsAddress: NSD, smtpFirstAddress: LAB_SMTP });
  const shell: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const dir = join(work, `shell-${i}`);
    mkdirSync(join(dir, "unsigned"), { recursive: true });
    const zones = built.tree.zones.map((z) => {
      const unsignedFile = join(dir, "unsigned", `${z.origin === "" ? "root" : z.origin}.zone`);
      const unsigned = z
        .toZoneFile()
        .split("\n")
        .filter((l) => !/\s(RRSIG|NSEC|DNSKEY|DS)\s/.test(l))
        .join("\n");
      writeFileSync(unsignedFile, `${unsigned}\n`);
      return { origin: z.origin, unsignedFile, signed: z.signed };
    });
    writeFileSync(join(dir, "pki.sh"), opensslScript(built.plan.pki));
    writeFileSync(join(dir, "dnssec.sh"), ldnsScript(zones));
    const t = performance.now();
    execFileSync("bash", [join(dir, "pki.sh")], { cwd: dir, stdio: "ignore" });
    execFileSync("bash", [join(dir, "dnssec.sh")], { cwd: dir, stdio: "ignore" });
    const signedDir = join(dir, "signed");
    mkdirSync(signedDir);
    for (const f of readdirSync(join(dir, "unsigned"))) {
      const signedFile = join(dir, "unsigned", `${f}.signed`);
      if (f.endsWith(".zone")) {
        try {
          writeFileSync(join(signedDir, f), readFileSync(signedFile));
        } catch {
          writeFileSync(join(signedDir, f), readFileSync(join(dir, "unsigned", f))); // unsigned zones as they are
        }
      }
    }
    const nsd = await startNsd(signedDir, join(dir, "nsd"), NSD);
    shell.push(performance.now() - t);
    await nsd.close();
  }
  const f = {
    labCold: figure(cold),
    labWarm: figure(warm),
    shell: figure(shell),
    pkiCold: figure(pkiCold),
    pkiWarm: figure(pkiWarm),
    zonesCold: figure(zonesCold),
    zonesWarm: figure(zonesWarm),
  };
  results["startup"] = f;
  const ratio = f.shell.median / f.labCold.median;
  rows.push(
    ["startup", "danelab up, cold (empty state) → ready", fig(f.labCold, 0, " ms"), `goal < 5000 ms`],
    [
      "startup",
      "danelab up, warm → ready",
      fig(f.labWarm, 0, " ms"),
      `goal < 1000 ms: ${f.labWarm.median < 1000 ? "met" : "MISSED"}`,
    ],
    [
      "startup",
      "shell way: openssl + ldns-signzone + NSD",
      fig(f.shell, 0, " ms"),
      `lab cold is ${fmt(ratio, 1)}× faster (goal ≥ 5×: ${ratio >= 5 ? "met" : "MISSED"})`,
    ],
    [
      "startup",
      "PKI of the catalogue, cold / warm",
      `${fig(f.pkiCold, 0, " ms")} / ${fig(f.pkiWarm, 0, " ms")}`,
      `goals < 3000 / < 100 ms`,
    ],
    ["startup", "signed zones, cold / warm", `${fig(f.zonesCold, 0, " ms")} / ${fig(f.zonesWarm, 0, " ms")}`, ""],
  );
}

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

    if (want("dns")) {
      requireCommand("dnsperf", "dnsperf");
      const exportDir = join(work, "export");
      execFileSync(process.execPath, [
        BIN,
        "export",
        "--out",
        exportDir,
        "--state-dir",
        stateDir,
        "--dns-address",
        NSD,
      ]);
      const nsd = await startNsd(join(exportDir, "zones"), join(work, "nsd"), NSD);
      const queries = join(work, "queries.txt");
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
      say(
        `dns: ${answered.length} of ${mix.length} names in the mix (${mix.length - answered.length} never answered on purpose)`,
      );
      writeFileSync(queries, answered.join("\n"));
      type Run = { rate: DnsperfResult; latency: DnsperfResult };
      const labRuns: Run[] = [];
      const nsdRuns: Run[] = [];
      const measure = async (server: string): Promise<Run> => ({
        rate: await dnsperf(server, queries, DNS_SECONDS),
        latency: await dnsperf(server, queries, DNS_LATENCY_SECONDS, true),
      });
      // Warm-up, not counted: the lab computes each (name, type, mode) answer on first sight and JIT-compiles its hot
      // path; NSD gets the same treatment.
      for (const server of [LAB_DNS, NSD]) await dnsperf(server, queries, 2);
      for (let i = 0; i < RUNS; i++) {
        say(
          `dns: run ${i + 1}/${RUNS}: ${DNS_SECONDS} s for the rate, then ${DNS_LATENCY_SECONDS} s with -v for latencies, ` +
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
      results["dns"] = { lab: l, nsd: n, ratio: ratios };
      const ratio = ratios.median;
      rows.push(
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

    if (want("smtp")) {
      const target =
        lab.manifest.scenarios.find((s) => s.expect === "deliver" && s.mx.length === 1) ?? lab.manifest.scenarios[0]!;
      const mx = target.mx[0]!;
      const serverName = withoutTrailingDot(mx.host);
      const recipient = `run-bench@${withoutTrailingDot(target.domain)}`;
      let peakRss = 0;
      const sampler = setInterval(() => {
        rssMb(lab.child.pid!).then(
          (mb) => {
            peakRss = Math.max(peakRss, mb);
          },
          () => {},
        );
      }, 250);
      const labRuns = [];
      for (let i = 0; i < RUNS; i++) {
        say(`smtp: lab run ${i + 1}/${RUNS}, ${SMTP_SECONDS} s, 50 connections, TLS 1.3`);
        labRuns.push(
          await smtpLoad({
            address: mx.addresses[0]!,
            port: mx.port,
            serverName,
            recipient,
            concurrency: 50,
            seconds: SMTP_SECONDS,
          }),
        );
      }
      clearInterval(sampler);
      const loaded = Math.max(peakRss, await rssMb(lab.child.pid!));
      results["memoryLoadedMb"] = loaded;

      const exportDir = join(work, "export-smtp");
      execFileSync(process.execPath, [BIN, "export", "--out", exportDir, "--state-dir", stateDir, "--only", target.id]);
      const certs = join(exportDir, "certs");
      const postfix = await startPostfix({
        workDir: join(work, "postfix"),
        address: POSTFIX,
        keyFile: join(certs, `${target.id}_leaf.key`),
        chainFile: join(certs, `${serverName}.chain.pem`),
        domain: withoutTrailingDot(lab.manifest.suffix),
      });
      const pfRuns = [];
      try {
        for (let i = 0; i < RUNS; i++) {
          say(`smtp: Postfix run ${i + 1}/${RUNS}`);
          pfRuns.push(
            await smtpLoad({
              address: POSTFIX,
              port: 25,
              serverName,
              recipient,
              concurrency: 50,
              seconds: SMTP_SECONDS,
            }),
          );
        }
      } finally {
        await postfix.close();
      }
      const summarize = (runs: Awaited<ReturnType<typeof smtpLoad>>[]) => ({
        perSecond: figure(runs.map((r) => r.perSecond)),
        p99Ms: figure(runs.map((r) => r.p99Ms)),
        failures: runs.reduce((n, r) => n + r.failures, 0),
        firstError: runs.find((r) => r.firstError)?.firstError ?? null,
      });
      const l = summarize(labRuns);
      const p = summarize(pfRuns);
      results["smtp"] = { lab: l, postfix: p };
      const ratio = l.perSecond.median / p.perSecond.median;
      rows.push(
        [
          "smtp",
          "lab, 50 conns STARTTLS TLS 1.3",
          `${fig(l.perSecond, 0, "/s")}, p99 ${fmt(l.p99Ms.median)} ms, failures ${l.failures}`,
          `${fmt(ratio, 2)}× Postfix (goal ≥ 1×: ${ratio >= 1 ? "met" : "MISSED"})`,
        ],
        [
          "smtp",
          "Postfix smtpd (container, host network), same cert, discard",
          `${fig(p.perSecond, 0, "/s")}, p99 ${fmt(p.p99Ms.median)} ms, failures ${p.failures}`,
          "peer",
        ],
        [
          "memory",
          "lab at the end of the SMTP load (peak)",
          `${fmt(loaded, 1)} MB`,
          `goal < 300 MB: ${loaded < 300 ? "met" : "MISSED"}`,
        ],
      );
      if (l.firstError) say(`smtp: first lab error: ${l.firstError}`);
      if (p.firstError) say(`smtp: first Postfix error: ${p.firstError}`);
    }
  } finally {
    await stopProcess(lab.child);
  }
  if (want("smtp")) await benchStartAfterUse(stateDir);
}

/**
 * The lab restarted on the state the SMTP load left behind (every delivery stored, ~16 events each in events.jsonl):
 * a history must cost neither start time nor idle memory, which the fresh-state figures cannot show.
 */
async function benchStartAfterUse(stateDir: string) {
  const lines = readFileSync(join(stateDir, "events.jsonl"), "latin1").split("\n").length - 1;
  const mail = readdirSync(join(stateDir, "mail"), { recursive: true, withFileTypes: true }).filter(
    (d) => d.isFile() && /\/(new|cur)$/.test(d.parentPath),
  ).length;
  say(`startup: warm start on the state the SMTP load left (${lines} events, ${mail} messages)`);
  const ms: number[] = [];
  const idle: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const lab = await startLabProcess(stateDir);
    ms.push(lab.ms);
    await new Promise((r) => setTimeout(r, 2000));
    idle.push(await rssMb(lab.child.pid!));
    await stopProcess(lab.child);
  }
  const f = figure(ms);
  const m = figure(idle);
  results["afterUse"] = { events: lines, messages: mail, warmMs: f, idleMb: m };
  rows.push(
    [
      "startup",
      `warm, after the load (${lines.toLocaleString("en")} events, ${mail.toLocaleString("en")} messages)`,
      fig(f, 0, " ms"),
      `goal < 1 s: ${f.median < 1000 ? "met" : "MISSED"}`,
    ],
    ["memory", "lab idle after that start", fig(m, 1, " MB"), `goal < 150 MB: ${m.median < 150 ? "met" : "MISSED"}`],
  );
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
    if (want("startup")) await section("startup", benchStartup);
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
