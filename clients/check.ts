// `danelab check`: run real MTAs (Exim/GnuTLS in two DANE modes, Postfix/OpenSSL) in containers against a running
// lab, one message per scenario each, and build the scenario × client matrix — the lab's server-side grade next to
// the MTA's own log line. The lab is found through its manifest or HTTP API only.
//
// Each column (client × DNS mode) is its own run: recipients `run-<stamp>-<client>[-unbound]@<scenario domain>`, and
// its own source address, so the lab's greylisting and grading keep the columns apart even when they run at once.
// DNS modes: `resolver` points the MTA at the lab's DNS (validating answers by the RD bit: AD on secure data);
// `unbound` at the real validating resolver the lab started with `--resolver unbound`.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { ContainerError, removeStaleContainers } from "./container.js";
import { type DriverOptions, deliverAll, type MtaDriver } from "./driver.js";
import { eximDriver } from "./exim.js";
import { fetchManifest, fetchReport, LabAccessError, type LabManifest, readManifest } from "./lab-api.js";
import {
  formatMatrix,
  type LabGrade,
  MATRIX_FORMATS,
  type Matrix,
  type MatrixColumn,
  type MatrixFormat,
  type MatrixRow,
  matrixExitCode,
} from "./matrix.js";
import { type ClientOutcome, notAttempted } from "./outcome.js";
import { postfixDriver } from "./postfix.js";

export const CLIENT_VARIANTS = ["exim-try", "exim-strict", "postfix"] as const;
export type ClientVariant = (typeof CLIENT_VARIANTS)[number];
export type DnsMode = "resolver" | "unbound";

export interface CheckOptions {
  /** The lab's manifest (default `.lab/manifest.json`); ignored when only labUrl is given and this file is missing. */
  manifestPath?: string;
  /** The lab's HTTP API; default the manifest's `http.url`. */
  labUrl?: string;
  /** "exim" (= exim-try + exim-strict), "exim-try", "exim-strict", "postfix". Default ["exim", "postfix"]. */
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
  /** Progress lines; default stderr. */
  log?: (line: string) => void;
}

export interface CheckResult {
  matrix: Matrix;
  /** Directory holding matrix.json, matrix.md, junit.xml and each MTA's log. */
  dir: string;
  exitCode: number;
}

/** Expands "exim" and checks names; an unknown name is an error that lists the known ones. */
export function resolveClients(names: string[]): ClientVariant[] {
  const out: ClientVariant[] = [];
  for (const raw of names
    .flatMap((n) => n.split(","))
    .map((n) => n.trim().toLowerCase())
    .filter(Boolean)) {
    const expanded = raw === "exim" ? (["exim-try", "exim-strict"] as const) : [raw];
    for (const v of expanded) {
      if (!(CLIENT_VARIANTS as readonly string[]).includes(v)) {
        throw new Error(`unknown client "${raw}": choose from exim, ${CLIENT_VARIANTS.join(", ")}`);
      }
      if (!out.includes(v as ClientVariant)) out.push(v as ClientVariant);
    }
  }
  return out;
}

/** "20261129T070012" (UTC): sorts, and stays inside the lab's run-id alphabet. */
export function runStamp(d = new Date()): string {
  return d
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "");
}

function makeDriver(variant: ClientVariant, o: DriverOptions): MtaDriver {
  switch (variant) {
    case "exim-try":
      return eximDriver("try", o);
    case "exim-strict":
      return eximDriver("strict", o);
    default:
      return postfixDriver(o);
  }
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
    return r.address;
  }
  if (manifest.dns.port !== 53) {
    throw new LabAccessError(
      `The lab's DNS listens on port ${manifest.dns.port}; an MTA's resolv.conf can only name port 53. Restart the ` +
        "lab with its DNS on port 53 (the default; needs root or CAP_NET_BIND_SERVICE).",
    );
  }
  return manifest.dns.address;
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
  const suffix = manifest.suffix.replace(/\.$/, "");
  const variants = resolveClients(options.clients ?? ["exim", "postfix"]);
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

  const stateDir = resolve(
    options.stateDir ?? (options.manifestPath || !options.labUrl ? dirname(manifestPath) : ".lab"),
  );
  const stamp = runStamp();
  const dir = join(stateDir, "checks", stamp);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const prefix = options.sourcePrefix ?? "127.0.26.";
  const pairs = modes.flatMap((mode) => variants.map((variant) => ({ variant, mode })));
  const base = options.sourceAddresses ? 0 : nextSourceBase(stateDir, pairs.length);

  const columns: MatrixColumn[] = pairs.map(({ variant, mode }, i) => ({
    id: modes.length > 1 || mode !== "resolver" ? `${variant}/${mode}` : variant,
    client: variant,
    mode,
    runId: `${stamp}-${variant}${mode === "unbound" ? "-unbound" : ""}`,
    sourceAddress: options.sourceAddresses?.[i] ?? `${prefix}${base + i}`,
  }));
  const removed = removeStaleContainers();
  if (removed) log(`check: removed ${removed} container(s) left over from an earlier check`);
  log(
    `check: ${scenarios.length} scenario(s) × ${columns.map((c) => c.id).join(", ")} against ${labUrl} (results in ${dir})`,
  );

  const outcomes = new Map<string, Map<string, ClientOutcome>>();
  const runColumn = async (col: MatrixColumn): Promise<void> => {
    const recipients = scenarios.map((s) => `run-${col.runId}@${s.domain.replace(/\.$/, "")}`);
    const driver = makeDriver(col.client as ClientVariant, {
      runId: col.runId,
      nameserver: nameserverFor(manifest, col.mode as DnsMode),
      suffix,
      workDir: join(dir, "work"),
      ...(col.sourceAddress ? { sourceAddress: col.sourceAddress } : {}),
      ...(options.eximDaneCiphers ? { eximDaneCiphers: options.eximDaneCiphers } : {}),
      log,
    });
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
      writeFileSync(join(dir, `${col.id.replace("/", "-")}.log`), await driver.rawLog());
    } catch (err) {
      col.error = (err as Error).message;
      log(`${col.id}: ${col.error}`);
      if (!(err instanceof ContainerError)) {
        const raw = await driver.rawLog().catch(() => "");
        if (raw) writeFileSync(join(dir, `${col.id.replace("/", "-")}.log`), raw);
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
    const list = await fetchReport(labUrl, col.runId);
    grades.set(col.id, new Map(list.map((g) => [g.scenario, g])));
  }

  const rows: MatrixRow[] = scenarios.map((s) => {
    const recipientOf = (col: MatrixColumn) => `run-${col.runId}@${s.domain.replace(/\.$/, "")}`.toLowerCase();
    const cells: MatrixRow["cells"] = {};
    for (const col of columns) {
      const grade = grades.get(col.id)?.get(s.id);
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

/** Options as `danelab check` parses them (commander): lists as arrays or comma-separated strings. */
export interface CheckCommandOptions {
  client?: string | string[];
  mode?: string | string[];
  only?: string | string[];
  format?: string;
  /** The lab's manifest; default `<stateDir>/manifest.json`. */
  manifest?: string;
  labUrl?: string;
  /** The lab's state directory (default `.lab`): its manifest is read and the results are saved under it. */
  stateDir?: string;
  eximDaneCiphers?: string;
}

const listOf = (v: string | string[] | undefined): string[] | undefined =>
  v === undefined
    ? undefined
    : (Array.isArray(v) ? v : [v])
        .flatMap((x) => x.split(","))
        .map((x) => x.trim())
        .filter(Boolean);

/**
 * The whole `danelab check` command: runs the matrix, prints it to stdout in the chosen format, returns the exit code
 * (0 all graded cells pass, 1 some failed, 2 a client could not run). Bad options throw an Error with a message.
 */
export async function checkCommand(o: CheckCommandOptions): Promise<number> {
  const format = (o.format ?? "table") as MatrixFormat;
  if (!MATRIX_FORMATS.includes(format)) {
    throw new Error(`unknown --format "${o.format}": choose one of ${MATRIX_FORMATS.join(", ")}`);
  }
  const modes = (listOf(o.mode) ?? ["resolver"]) as DnsMode[];
  for (const m of modes) {
    if (m !== "resolver" && m !== "unbound") throw new Error(`unknown --mode "${m}": choose resolver, unbound or both`);
  }
  const only = listOf(o.only);
  const manifestPath =
    o.manifest ?? (o.labUrl && !o.stateDir ? undefined : join(o.stateDir ?? ".lab", "manifest.json"));
  const result = await runCheck({
    clients: listOf(o.client) ?? ["exim", "postfix"],
    modes,
    ...(only?.length ? { only } : {}),
    ...(manifestPath ? { manifestPath } : {}),
    ...(o.labUrl ? { labUrl: o.labUrl } : {}),
    ...(o.stateDir ? { stateDir: o.stateDir } : {}),
    ...(o.eximDaneCiphers ? { eximDaneCiphers: o.eximDaneCiphers } : {}),
  });
  process.stdout.write(formatMatrix(result.matrix, format));
  process.stderr.write(`check: results saved in ${result.dir}\n`);
  return result.exitCode;
}

/** The name lab/cli.ts imports. */
export const runCheckCommand = checkCommand;
