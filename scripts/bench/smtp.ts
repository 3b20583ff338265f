// The benchmark's SMTP section: 50 concurrent STARTTLS (TLS 1.3) deliveries against the lab and against Postfix's
// smtpd (in the Postfix client image, discarding) with the same certificate, and the lab's peak memory under that load.
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { withoutTrailingDot } from "../../zones/names.js";
import { type Bench, BIN, type LabProcess, POSTFIX } from "./lab.js";
import { startPostfix } from "./peers.js";
import { smtpLoad } from "./smtp-load.js";
import { fig, figure, fmt, rssMb } from "./stats.js";

/** Load rounds against the running lab and against Postfix; `stateDir` is the lab's, exported for Postfix's certificate. */
export async function benchSmtp(b: Bench, lab: LabProcess, stateDir: string): Promise<void> {
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
  for (let i = 0; i < b.runs; i++) {
    b.say(`smtp: lab run ${i + 1}/${b.runs}, ${b.smtpSeconds} s, 50 connections, TLS 1.3`);
    labRuns.push(
      await smtpLoad({
        address: mx.addresses[0]!,
        port: mx.port,
        serverName,
        recipient,
        concurrency: 50,
        seconds: b.smtpSeconds,
      }),
    );
  }
  clearInterval(sampler);
  const loaded = Math.max(peakRss, await rssMb(lab.child.pid!));
  b.results["memoryLoadedMb"] = loaded;

  const exportDir = join(b.work, "export-smtp");
  execFileSync(process.execPath, [BIN, "export", "--out", exportDir, "--state-dir", stateDir, "--only", target.id]);
  const certs = join(exportDir, "certs");
  const postfix = await startPostfix({
    workDir: join(b.work, "postfix"),
    address: POSTFIX,
    keyFile: join(certs, `${target.id}_leaf.key`),
    chainFile: join(certs, `${serverName}.chain.pem`),
    domain: withoutTrailingDot(lab.manifest.suffix),
  });
  const pfRuns = [];
  try {
    for (let i = 0; i < b.runs; i++) {
      b.say(`smtp: Postfix run ${i + 1}/${b.runs}`);
      pfRuns.push(
        await smtpLoad({
          address: POSTFIX,
          port: 25,
          serverName,
          recipient,
          concurrency: 50,
          seconds: b.smtpSeconds,
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
  b.results["smtp"] = { lab: l, postfix: p };
  const ratio = l.perSecond.median / p.perSecond.median;
  b.rows.push(
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
  if (l.firstError) b.say(`smtp: first lab error: ${l.firstError}`);
  if (p.firstError) b.say(`smtp: first Postfix error: ${p.firstError}`);
}
