// `danelab check`: run real MTAs (Exim/GnuTLS in two DANE modes, Postfix/OpenSSL) in containers against a running
// lab, one message per scenario each, and build the scenario × client matrix — the lab's server-side grade next to
// the MTA's own log line. The lab is found through its manifest or HTTP API only.
//
// Each column (client × DNS mode) is its own run: recipients `run-<stamp>-<client>[-unbound]@<scenario domain>`, and
// its own source address, so the lab's greylisting and grading keep the columns apart even when they run at once.
// DNS modes: `resolver` points the MTA at the lab's DNS (validating answers by the RD bit: AD on secure data);
// `unbound` at the real validating resolver the lab started with `--resolver unbound`.
//
// Besides the built-in columns, a mail admin's own MTA: `--exim-config DIR` / `--postfix-config DIR` (a copy of their
// /etc/exim4 or /etc/postfix, run in the Debian image with only the lab's necessary changes, printed; see
// clients/user-config.ts) and `--image` (any MTA image, driven by --submit/--flush; clients/generic.ts).
//
// The columns and their drivers are planned in columns.ts; the command-line front end is check-command.ts.

import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { withoutTrailingDot } from "../zones/names.js";
import { resolveClients } from "./builtin.js";
import { type ColumnKind, imageOf, makeDriver, planColumns } from "./columns.js";
import { checkAddress, checkDnsName, checkMountPath } from "./config-values.js";
import { ContainerError, checkEngine, checkImage, removeStaleContainers } from "./container.js";
import { type DriverOptions, deliverAll } from "./driver.js";
import { checkGnutlsPriority } from "./exim.js";
import type { GenericMta } from "./generic.js";
import { fetchManifest, fetchReport, LabAccessError, type LabManifest, readManifest } from "./lab-api.js";
import {
  formatMatrix,
  type LabGrade,
  type Matrix,
  type MatrixColumn,
  type MatrixRow,
  matrixExitCode,
} from "./matrix.js";
import { notSupportedGrade } from "./mta-sts.js";
import { type ClientOutcome, notAttempted } from "./outcome.js";
import { POSTFIX_LOG } from "./postfix.js";
import { type ProbeTool, probeGrade } from "./probe.js";
import { recipientFor } from "./runs.js";
import { describeChanges, type PreparedConfig, prepareEximConfig, preparePostfixConfig } from "./user-config.js";

export { resolveClients };
export type DnsMode = "resolver" | "unbound";

export interface CheckOptions {
  /** The lab's manifest (default `.lab/manifest.json`); ignored when only labUrl is given and this file is missing. */
  manifestPath?: string;
  /** The lab's HTTP API; default the manifest's `http.url`. */
  labUrl?: string;
  /** Built-in client names (clients/builtin.ts): "exim" (= exim-try + exim-strict), "postfix@trixie", …. Default
   * ["exim", "postfix"]. */
  clients?: string[];
  modes?: DnsMode[];
  /** Scenario ids (default: all of the lab's). */
  only?: string[];
  /** Where results go (`<stateDir>/checks/<stamp>/`); default the manifest's directory, else `.lab`. */
  stateDir?: string;
  /** Waits before each forced retry round. */
  retryDelaysMs?: number[];
  /** Source addresses are `<sourcePrefix><n>`; default "127.0.26." (loopback: the MTAs share the host's network). */
  sourcePrefix?: string;
  /** Explicit source addresses, one per column in order (client variants within each mode); overrides sourcePrefix. */
  sourceAddresses?: string[];
  /** Run the columns at the same time (default true). */
  parallel?: boolean;
  /** Exim `dane_require_tls_ciphers` (the Debian bug #1075900 workaround is "NORMAL:%COMPAT"). */
  eximDaneCiphers?: string;
  /** Copies of a user's /etc/exim4 (Debian exim4-config), one column each: `exim:<dir name>`. */
  eximConfigs?: string[];
  /** Copies of a user's /etc/postfix, one column each: `postfix:<dir name>`. */
  postfixConfigs?: string[];
  /** The image for the --exim-config columns (default the lab's exim image; e.g. localhost/danelab-exim-heavy). */
  eximImage?: string;
  /** The image for the --postfix-config columns (default the lab's postfix image). */
  postfixImage?: string;
  /** Any MTA image, driven by its submit/flush commands: column `image:<name>`. */
  generic?: Partial<GenericMta>;
  /** Progress lines; default stderr. */
  log?: (line: string) => void;
}

export interface CheckResult {
  matrix: Matrix;
  /** Directory holding matrix.json, matrix.md, junit.xml and each MTA's log. */
  dir: string;
  exitCode: number;
}

/** "20261129T070012" (UTC): sorts, and stays inside the lab's run-id alphabet. */
export function runStamp(d = new Date()): string {
  return d
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "");
}
/** The address a client MTA must use as its only nameserver for one DNS mode (resolv.conf cannot name a port). */
export function nameserverFor(manifest: LabManifest, mode: DnsMode): string {
  if (mode === "unbound") {
    const r = manifest.dns.resolver;
    if (!r) {
      throw new LabAccessError(
        "--mode unbound needs the lab's validating resolver, and this lab runs without one. Restart it with " +
          "`danelab up --resolver unbound` (Debian package unbound), or check with --mode resolver.",
      );
    }
    if (r.port !== 53) {
      throw new LabAccessError(
        `The lab's resolver listens on port ${r.port}; an MTA's resolv.conf can only name port 53. Restart the lab ` +
          "with the resolver on port 53 (the default).",
      );
    }
    return checkAddress(r.address, { manifest: "dns.resolver.address" });
  }
  if (manifest.dns.port !== 53) {
    throw new LabAccessError(
      `The lab's DNS listens on port ${manifest.dns.port}; an MTA's resolv.conf can only name port 53. Restart the ` +
        "lab with its DNS on port 53 (the default; needs root or CAP_NET_BIND_SERVICE).",
    );
  }
  return checkAddress(manifest.dns.address, { manifest: "dns.address" });
}

/** Rotates the last octet between runs, so a second check against the same lab starts with fresh greylisting. */
function nextSourceBase(stateDir: string, count: number): number {
  const file = join(stateDir, "checks", "next-source");
  let n = 1;
  try {
    n = Number.parseInt(readFileSync(file, "utf8"), 10) || 1;
  } catch {
    // first check
  }
  if (n + count > 250) n = 1;
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  writeFileSync(file, `${n + count}\n`);
  return n;
}

export async function runCheck(options: CheckOptions = {}): Promise<CheckResult> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const manifestPath = resolve(options.manifestPath ?? join(".lab", "manifest.json"));
  let manifest: LabManifest;
  if (options.labUrl && !options.manifestPath) {
    try {
      manifest = readManifest(manifestPath);
    } catch {
      manifest = await fetchManifest(options.labUrl);
    }
  } else {
    manifest = readManifest(manifestPath);
  }
  const labUrl = options.labUrl ?? manifest.http?.url ?? null;
  if (!labUrl) {
    throw new LabAccessError(
      "This lab runs without its HTTP API, so its grades cannot be read. Restart it with the API on (the default), " +
        "or give --lab-url.",
    );
  }
  const suffix = withoutTrailingDot(checkDnsName(manifest.suffix, { manifest: "suffix" }));
  for (const s of manifest.scenarios) checkDnsName(s.domain, { manifest: `the domain of scenario ${s.id}` });
  // Everything a user typed is checked before any container starts or any directory is written.
  if (options.eximDaneCiphers) checkGnutlsPriority(options.eximDaneCiphers);
  for (const a of options.sourceAddresses ?? []) checkAddress(a, { option: "source address" });
  if (options.sourcePrefix !== undefined && !options.sourceAddresses) {
    for (const n of [1, 250]) checkAddress(`${options.sourcePrefix}${n}`, { option: `source prefix + ${n}` });
  }
  const stateDir = resolve(
    options.stateDir ?? (options.manifestPath || !options.labUrl ? dirname(manifestPath) : ".lab"),
  );
  checkMountPath(stateDir, { option: "--state-dir" });
  const kinds = planColumns(options);
  const modes = options.modes?.length ? options.modes : (["resolver"] as DnsMode[]);
  const only = options.only
    ?.flatMap((s) => s.split(","))
    .map((s) => s.trim())
    .filter(Boolean);
  const scenarios = only?.length ? manifest.scenarios.filter((s) => only.includes(s.id)) : manifest.scenarios;
  const unknown = (only ?? []).filter((id) => !manifest.scenarios.some((s) => s.id === id));
  if (unknown.length > 0) {
    throw new LabAccessError(
      `This lab has no scenario ${unknown.map((u) => `"${u}"`).join(", ")} (it has: ${manifest.scenarios.map((s) => s.id).join(", ")}).`,
    );
  }
  for (const mode of modes) nameserverFor(manifest, mode); // fail before any container starts
  checkEngine();
  for (const image of new Set(kinds.map((k) => imageOf(k, options)))) checkImage(image);

  const stamp = runStamp();
  const dir = join(stateDir, "checks", stamp);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const prefix = options.sourcePrefix ?? "127.0.26.";
  const pairs = modes.flatMap((mode) => kinds.map((kind) => ({ kind, mode })));
  const base = options.sourceAddresses ? 0 : nextSourceBase(stateDir, pairs.length);

  const kindOf = new Map<string, ColumnKind>();
  const columns: MatrixColumn[] = pairs.map(({ kind, mode }, i) => {
    const id = modes.length > 1 || mode !== "resolver" ? `${kind.name}/${mode}` : kind.name;
    kindOf.set(id, kind);
    return {
      id,
      client: kind.kind === "builtin" ? kind.name : kind.kind,
      mode,
      runId: `${stamp}-${kind.name.replace(/[^A-Za-z0-9._-]+/g, "-")}${mode === "unbound" ? "-unbound" : ""}`,
      // A generic image's MTA picks its own source address (the lab tells it apart by the run id alone).
      ...(kind.kind === "image" ? {} : { sourceAddress: options.sourceAddresses?.[i] ?? `${prefix}${base + i}` }),
    };
  });
  const fileId = (col: MatrixColumn) => col.id.replace(/[/:]/g, "-");
  // The lab's copies of the users' configurations, edited, with the changes printed before anything runs.
  const prepared = new Map<string, PreparedConfig>();
  try {
    for (const col of columns) {
      const kind = kindOf.get(col.id)!;
      if (kind.kind !== "exim-config" && kind.kind !== "postfix-config") continue;
      const copy = join(dir, "work", fileId(col), "config");
      mkdirSync(dirname(copy), { recursive: true, mode: 0o755 });
      const p =
        kind.kind === "exim-config"
          ? prepareEximConfig(
              kind.dir,
              copy,
              { nameserver: nameserverFor(manifest, col.mode as DnsMode), suffix },
              col.sourceAddress,
            )
          : preparePostfixConfig(kind.dir, copy, {
              logFile: POSTFIX_LOG,
              ...(col.sourceAddress ? { sourceAddress: col.sourceAddress } : {}),
            });
      prepared.set(col.id, p);
      col.changes = p.changes.map((c) => `${c.file}: ${c.what}`);
      for (const line of describeChanges(col.id, p)) log(line);
    }
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const removed = removeStaleContainers();
  if (removed) log(`check: removed ${removed} container(s) left over from an earlier check`);
  log(
    `check: ${scenarios.length} scenario(s) × ${columns.map((c) => c.id).join(", ")} against ${labUrl} (results in ${dir})`,
  );

  const ta = (manifest.dns as { trustAnchors?: { ds?: string[]; dnskey?: string[] } }).trustAnchors;
  const anchors = [...(ta?.ds ?? []), ...(ta?.dnskey ?? [])];
  const outcomes = new Map<string, Map<string, ClientOutcome>>();
  const runColumn = async (col: MatrixColumn): Promise<void> => {
    const recipients = scenarios.map((s) => recipientFor(col.runId, s));
    const kind = kindOf.get(col.id)!;
    const driverOptions: DriverOptions = {
      runId: col.runId,
      nameserver: nameserverFor(manifest, col.mode as DnsMode),
      suffix,
      workDir: join(dir, "work"),
      image: imageOf(kind, options),
      ...(col.sourceAddress ? { sourceAddress: col.sourceAddress } : {}),
      ...(options.eximDaneCiphers ? { eximDaneCiphers: options.eximDaneCiphers } : {}),
      ...(anchors.length > 0 ? { trustAnchors: anchors } : {}),
      log,
    };
    // The generic driver cannot read the MTA's queue: the scenarios the lab has not decided yet stand for it.
    const pending = async () =>
      (await fetchReport(labUrl, col.runId)).filter(
        (g) => scenarios.some((s) => s.id === g.scenario) && (g.verdict === "pending" || g.verdict === "not-tested"),
      ).length;
    const driver = makeDriver(col.id, kind, prepared.get(col.id), driverOptions, pending);
    const t0 = performance.now();
    try {
      log(`${col.id}: starting container`);
      await driver.start();
      const startMs = Math.round(performance.now() - t0);
      log(
        `${col.id}: ready in ${(startMs / 1000).toFixed(1)} s; sending ${recipients.length} message(s) as run ${col.runId}`,
      );
      const t = await deliverAll(driver, recipients, {
        log: (l) => log(l.replace(driver.variant, col.id)),
        ...(options.retryDelaysMs ? { retryDelaysMs: options.retryDelaysMs } : {}),
      });
      col.timings = { startMs, ...t };
      outcomes.set(col.id, await driver.outcomes(recipients));
      writeFileSync(join(dir, `${fileId(col)}.log`), await driver.rawLog());
    } catch (err) {
      col.error = (err as Error).message;
      log(`${col.id}: did not run: ${col.error}`);
      if (!(err instanceof ContainerError)) {
        const raw = await driver.rawLog().catch(() => "");
        if (raw) writeFileSync(join(dir, `${fileId(col)}.log`), raw);
      }
    } finally {
      await driver.stop();
    }
  };
  if (options.parallel === false) {
    for (const col of columns) await runColumn(col);
  } else {
    await Promise.all(columns.map(runColumn));
  }

  const grades = new Map<string, Map<string, LabGrade>>();
  for (const col of columns) {
    if (col.error) continue;
    const kind = kindOf.get(col.id)!;
    if (kind.kind === "builtin" && !kind.client.sendsMail) {
      // A probe sends no mail, so the lab has nothing to grade: its verdict is held against `expect` here.
      const got = outcomes.get(col.id);
      const recipient = (s: (typeof scenarios)[number]) => recipientFor(col.runId, s).toLowerCase();
      grades.set(
        col.id,
        new Map(
          scenarios.map((s) => [
            s.id,
            probeGrade(kind.client.driver as ProbeTool, s.id, s.expect, got?.get(recipient(s))),
          ]),
        ),
      );
      continue;
    }
    const list = await fetchReport(labUrl, col.runId);
    grades.set(col.id, new Map(list.map((g) => [g.scenario, g])));
  }

  const rows: MatrixRow[] = scenarios.map((s) => {
    const recipientOf = (col: MatrixColumn) => recipientFor(col.runId, s).toLowerCase();
    const cells: MatrixRow["cells"] = {};
    for (const col of columns) {
      // MTA-STS scenarios: no built-in column fetches policies, so each says "not supported" (clients/mta-sts.ts).
      const grade = s["sts"] ? notSupportedGrade(s.id, col.client) : grades.get(col.id)?.get(s.id);
      const outcome = col.error
        ? undefined
        : (outcomes.get(col.id)?.get(recipientOf(col)) ?? notAttempted(recipientOf(col)));
      cells[col.id] = { ...(grade ? { grade } : {}), ...(outcome ? { outcome } : {}) };
    }
    return {
      scenario: s.id,
      title: s.title,
      group: s.group,
      expect: s.expect,
      ...(s.known ? { known: s.known } : {}),
      cells,
    };
  });
  const matrix: Matrix = {
    version: 1,
    generated: new Date().toISOString(),
    lab: { suffix: manifest.suffix, url: labUrl },
    columns,
    rows,
  };
  writeFileSync(join(dir, "matrix.json"), formatMatrix(matrix, "json"));
  writeFileSync(join(dir, "matrix.md"), formatMatrix(matrix, "markdown"));
  writeFileSync(join(dir, "junit.xml"), formatMatrix(matrix, "junit"));
  writeFileSync(join(dir, "matrix.txt"), formatMatrix(matrix, "table"));
  return { matrix, dir, exitCode: matrixExitCode(matrix) };
}
