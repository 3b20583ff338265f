// `startLab`: joins the catalogue, certs/, zones/, the DNS server, the SMTP listeners and the HTTP API into one running
// lab, writes the manifest, and returns a handle to stop it. `danelab up` (what `npm run lab` runs) and programmatic
// users (`import { startLab } from "danelab"`) both come through here.
import { accessSync, chmodSync, constants, mkdirSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { buildPki, chainPem, type Pki } from "../certs/index.js";
import { buildTree, exportFiles, type SignedTree } from "../zones/index.js";
import { normalizeName } from "../zones/names.js";
import { loadCatalogueCached } from "./catalogue/cache.js";
import { type LabPlan, planLab } from "./catalogue/compile.js";
import { type LoadOptions, select } from "./catalogue/select.js";
import { zoneSpecs } from "./catalogue/zone-specs.js";
import { checkResults } from "./check-results.js";
import { diskTrouble } from "./disk-full.js";
import { startDnsServer } from "./dns/server.js";
import { DNS_FOLD_MS, dnsQueryRecorder } from "./dns-log.js";
import { EventLog } from "./events.js";
import { checkListeners, checkSuffix } from "./exposure.js";
import { gradeRun, type ScenarioGrade } from "./grade/index.js";
import { startHttpApi } from "./http/api.js";
import { buildManifest, type Manifest, writeManifest } from "./manifest.js";
import { startUnbound } from "./resolver/unbound.js";
import { GreylistAllowList } from "./smtp/greylist.js";
import { startSmtpListener } from "./smtp/listener.js";
import { MailStore } from "./smtp/store.js";
import { lockStateDir, type StateLock } from "./state-lock.js";
import { withStsDetail, withStsEvidence } from "./sts/grade.js";
import { startStsServer } from "./sts/server.js";
import { PUBLIC_ROOT_FILE, stsSites } from "./sts/sites.js";
import { scenarioDetails } from "./ui-data.js";
import { findUiDir } from "./ui-dir.js";

export interface LabOptions extends LoadOptions {
  /** State directory (keys, certificates, signed zones, manifest, events, mail). Default ".lab". */
  stateDir?: string;
  /** DNS suffix of every scenario zone, without the trailing dot. Default "lab.example" (RFC 2606). */
  suffix?: string;
  dnsAddress?: string;
  dnsPort?: number;
  smtpFirstAddress?: string;
  smtpPort?: number;
  httpAddress?: string;
  /** 0 picks a free port; null turns the HTTP API off. */
  httpPort?: number | null;
  /** Also start a real validating resolver (Debian's unbound) with the lab's trust anchor. */
  resolver?: "none" | "unbound";
  resolverAddress?: string;
  resolverPort?: number;
  /**
   * The MTA-STS policy server (lab/sts/), started when a selected scenario has an `sts` block. Default: the DNS
   * address (each lab owns its own), port 443 — the only port senders fetch from (RFC 8461 §3.3).
   */
  stsAddress?: string;
  stsPort?: number;
  /** The training board's built files (served at `/`); default the built one (dist/ui); null = the endpoint list. */
  uiDir?: string | null;
  /**
   * Listen outside 127.0.0.0/8 (--allow-remote). Without it such an address is refused; with it each one is warned
   * about (lab/exposure.ts).
   */
  allowRemote?: boolean;
  /** Accept a suffix not under a reserved name (--allow-any-suffix): for a domain the user owns. */
  allowAnySuffix?: boolean;
  /** Host names the HTTP API answers besides its address and localhost (--http-allow-host). */
  httpAllowedHosts?: string[];
  /** Mail store quota in bytes (--mail-quota); past it deliveries get 452 4.3.1. Default 1 GiB. */
  mailQuotaBytes?: number;
  /** events.jsonl is rotated past this many bytes (--events-max-size). Default 64 MiB. */
  eventsMaxFileBytes?: number;
  /** Rotated event files kept (--events-keep). Default 4. */
  eventsKeepFiles?: number;
  /** Progress lines ("building PKI…"); silent by default. */
  log?: (line: string) => void;
  /** Warnings (what --allow-remote exposes); default `log`. Printed even by `up --quiet`. */
  warn?: (line: string) => void;
}

export const DEFAULTS = {
  stateDir: ".lab",
  suffix: "lab.example",
  dnsAddress: "127.0.53.1",
  dnsPort: 53,
  smtpFirstAddress: "127.0.25.1",
  smtpPort: 25,
  httpAddress: "127.0.0.1",
  httpPort: 8025,
  resolverAddress: "127.0.53.2",
  resolverPort: 53,
  stsPort: 443,
} as const;

export interface Lab {
  manifest: Manifest;
  manifestPath: string;
  events: EventLog;
  store: MailStore;
  allowList: GreylistAllowList;
  plan: LabPlan;
  pki: Pki;
  tree: SignedTree;
  /**
   * Re-arms greylisting at every listener, for one client address or all: that client's next connections and
   * recipients are refused again as on its first visit (the allow-list is left as it is).
   */
  resetGreylist(client?: string): void;
  /** Server-side verdicts per scenario, for one run (`run-<id>` local parts) or all traffic. */
  report(run?: string): ScenarioGrade[];
  stop(): Promise<void>;
  timings: Record<string, number>;
}

/** The state directory is unusable (not creatable, not writable): one paragraph with the fix. */
export class StateDirError extends Error {
  constructor(dir: string, cause: string) {
    super(
      `danelab cannot use the state directory ${dir} (${cause}). It holds the lab's keys, certificates, zones, ` +
        "manifest, event log and received mail, and must be a directory this user can write (it is created with mode " +
        "0700). Fix its permissions, or choose another with --state-dir DIR.",
    );
    this.name = "StateDirError";
  }
}

export function prepareStateDir(dir: string): string {
  const abs = resolve(dir);
  try {
    mkdirSync(abs, { recursive: true, mode: 0o700 });
    if (!statSync(abs).isDirectory()) throw new StateDirError(abs, "it exists and is not a directory");
    accessSync(abs, constants.W_OK | constants.X_OK);
    const st = statSync(abs);
    if ((st.mode & 0o077) !== 0) {
      if (process.getuid && st.uid !== process.getuid())
        throw new StateDirError(
          abs,
          "it belongs to another user and is open to others, so the lab's keys would not be private",
        );
      chmodSync(abs, 0o700);
    }
  } catch (err) {
    if (err instanceof StateDirError) throw err;
    const e = err as NodeJS.ErrnoException;
    throw new StateDirError(
      abs,
      e.code === "EACCES" || e.code === "EPERM" ? "permission denied" : (e.code ?? e.message),
    );
  }
  return abs;
}

export interface BuiltLab {
  stateDir: string;
  plan: LabPlan;
  pki: Pki;
  tree: SignedTree;
  timings: Record<string, number>;
}

/** Everything but the sockets: catalogue → plan → PKI → signed zones (warm starts reuse keys and certificates). */
export async function buildLab(options: LabOptions = {}): Promise<BuiltLab> {
  const o = { ...DEFAULTS, ...stripUndefined(options) };
  const log = options.log ?? (() => {});
  const timings: Record<string, number> = {};
  const mark = (name: string, since: number) => {
    timings[name] = Math.round(performance.now() - since);
  };
  const stateDir = prepareStateDir(o.stateDir);
  let t = performance.now();
  const all = await loadCatalogueCached(join(stateDir, "catalogue.json"), { ...options, only: [], groups: [] });
  const scenarios = select(all, options);
  const plan = planLab(
    all,
    {
      suffix: normalizeName(o.suffix),
      dnsAddress: o.dnsAddress,
      dnsPort: o.dnsPort,
      smtpFirstAddress: o.smtpFirstAddress,
      smtpPort: o.smtpPort,
      ...(o.stsAddress ? { stsAddress: o.stsAddress } : {}),
    },
    new Set(scenarios.map((s) => s.id)),
  );
  mark("catalogue", t);
  log(`catalogue: ${scenarios.length} scenarios`);

  t = performance.now();
  const pki = await buildPki(plan.pki, { dir: join(stateDir, "pki") });
  mark("pki", t);
  log(`pki: ${plan.pki.certificates.length} certificates`);

  t = performance.now();
  const tree = await buildTree(zoneSpecs(plan, pki), { dir: join(stateDir, "dnssec") });
  mark("zones", t);
  log(`zones: ${tree.zones.length} signed zones`);
  return { stateDir, plan, pki, tree, timings };
}

function resolveOptions(options: LabOptions) {
  return { ...DEFAULTS, resolver: "none" as const, ...stripUndefined(options) };
}

/** Every address the lab will listen on (for the loopback check, lab/exposure.ts). */
function listenerAddresses(o: ReturnType<typeof resolveOptions>, smtp: string[]) {
  return {
    http: o.httpPort === null ? null : o.httpAddress,
    dns: o.dnsAddress,
    smtp,
    resolver: o.resolver === "unbound" ? o.resolverAddress : null,
    sts: o.stsAddress ?? null,
  };
}

export async function startLab(options: LabOptions = {}): Promise<Lab> {
  const o = resolveOptions(options);
  const t0 = performance.now();
  checkSuffix(o.suffix, options.allowAnySuffix === true);
  // The SMTP addresses are known only once the catalogue is planned: the others are checked before any work.
  checkListeners(listenerAddresses(o, [o.smtpFirstAddress]), options.allowRemote === true);
  // Before anything in the state directory is read or written: one lab per directory.
  const lock = lockStateDir(prepareStateDir(o.stateDir));
  try {
    return await startLocked(options, t0, lock);
  } catch (err) {
    lock.release();
    throw err;
  }
}

async function startLocked(options: LabOptions, t0: number, lock: StateLock): Promise<Lab> {
  const o = resolveOptions(options);
  const { stateDir, plan, pki, tree, timings } = await buildLab(options);
  const smtpAddresses = plan.scenarios.flatMap((sp) => sp.hosts.map((h) => h.address));
  const warnings = checkListeners(listenerAddresses(o, smtpAddresses), options.allowRemote === true);
  for (const line of warnings) (options.warn ?? options.log)?.(line);

  const mark = (name: string, since: number) => {
    timings[name] = Math.round(performance.now() - since);
  };
  let t = performance.now();

  const warn = options.warn ?? options.log ?? (() => {});
  const disk = diskTrouble(warn);
  const events = new EventLog({
    path: join(stateDir, "events.jsonl"),
    ...(o.eventsMaxFileBytes !== undefined ? { maxFileBytes: o.eventsMaxFileBytes } : {}),
    ...(o.eventsKeepFiles !== undefined ? { keepFiles: o.eventsKeepFiles } : {}),
    onWriteError: (err, path) => disk.failed("the event log", path, err),
    onWriteRecovered: (_path, dropped) =>
      disk.recovered("the event log", dropped ? `${dropped} events were lost while the disk was full` : undefined),
    onRotate: (path, deleted) =>
      options.log?.(`${path} rotated to ${path}.1${deleted ? `; the oldest, ${deleted}, was deleted` : ""}`),
  });
  const store = new MailStore({
    dir: join(stateDir, "mail"),
    ...(o.mailQuotaBytes !== undefined ? { quotaBytes: o.mailQuotaBytes } : {}),
    onWriteError: (err, path) => disk.failed("the mail store", path, err),
    onWriteRecovered: () => disk.recovered("the mail store"),
  });
  const allowList = new GreylistAllowList();
  const closers: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const close of closers.splice(0).reverse()) await close().catch(() => {});
    await events.close();
    lock.release();
  };

  try {
    const dns = await startDnsServer({
      address: o.dnsAddress,
      port: o.dnsPort,
      tree,
      onQuery: dnsQueryRecorder(events, plan.addresses.suffix, new Set(plan.scenarios.map((s) => s.scenario.id))),
      onQueryRepeatMs: DNS_FOLD_MS,
    });
    closers.push(() => dns.close());
    mark("dns", t);

    t = performance.now();
    const acceptDomains = [plan.addresses.suffix];
    const credentials = (chain: string[]) => ({ key: pki.get(chain[0]!).keyPem, cert: chainPem(pki, chain) });
    // All listeners bind at once; if any fails, the ones that did start are closed with the rest.
    const started = await Promise.allSettled(
      plan.scenarios.flatMap((sp) =>
        sp.hosts.map((h) =>
          startSmtpListener({
            scenario: sp.scenario.id,
            host: h.name,
            address: h.address,
            port: h.port,
            credentials: [h.chain, ...h.extraChains].map(credentials),
            sni: h.sni.map((s) => ({ names: s.names, credentials: [credentials(s.chain)] })),
            starttls: h.smtp.starttls,
            ...(h.smtp.greylist ? { greylist: h.smtp.greylist } : {}),
            ...(h.smtp.tls ? { tls: h.smtp.tls } : {}),
            acceptDomains,
            allowList,
            store,
            events,
          }),
        ),
      ),
    );
    const listeners = started.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
    for (const l of listeners) closers.push(() => l.close());
    const resetGreylist = (client?: string) => {
      for (const l of listeners) l.resetGreylist(client);
    };
    const failed = started.find((r) => r.status === "rejected");
    if (failed) throw (failed as PromiseRejectedResult).reason;
    mark("smtp", t);

    let sts: Manifest["sts"] = null;
    const sites = stsSites(plan, pki);
    if (sites.length) {
      t = performance.now();
      const address = plan.addresses.stsAddress ?? o.dnsAddress;
      const server = await startStsServer({ address, port: o.stsPort, sites, events });
      closers.push(() => server.close());
      sts = { address, port: server.port, publicRoot: join(stateDir, PUBLIC_ROOT_FILE) };
      mark("sts", t);
    }

    let resolver: Manifest["dns"]["resolver"] = null;
    if (o.resolver === "unbound") {
      t = performance.now();
      const unbound = await startUnbound({
        dir: join(stateDir, "unbound"),
        address: o.resolverAddress,
        port: o.resolverPort,
        labDns: { address: o.dnsAddress, port: o.dnsPort },
        trustAnchors: tree.trustAnchors,
      });
      closers.push(() => unbound.close());
      resolver = { kind: "unbound", address: o.resolverAddress, port: o.resolverPort };
      mark("unbound", t);
    }

    let manifest: Manifest = buildManifest(plan, pki, tree, { stateDir, httpUrl: null, resolver, sts });
    const report = (run?: string) => {
      const all = events.all();
      // MTA-STS scenarios: the policy server's side of the story next to each verdict (lab/sts/grade.ts).
      return withStsEvidence(
        gradeRun(all, manifest.scenarios, { now: new Date(), ...(run ? { run } : {}) }),
        all,
        plan,
      );
    };
    if (o.httpPort !== null) {
      t = performance.now();
      const http = await startHttpApi({
        address: o.httpAddress,
        port: o.httpPort,
        manifest: () => manifest,
        events,
        store,
        allowList,
        resetGreylist,
        grade: report,
        staticDir: o.uiDir === null ? undefined : (o.uiDir ?? findUiDir()),
        scenarioDetail: withStsDetail(scenarioDetails({ plan, pki, tree }), plan, {
          stateDir,
          dnsAddress: o.dnsAddress,
          stsPort: sts?.port ?? o.stsPort,
        }),
        checks: checkResults(stateDir),
        ...(options.httpAllowedHosts ? { allowedHosts: options.httpAllowedHosts } : {}),
      });
      closers.push(() => http.close());
      manifest = buildManifest(plan, pki, tree, { stateDir, httpUrl: http.url, resolver, sts });
      mark("http", t);
    }
    const manifestPath = writeManifest(stateDir, manifest);
    writeExports(stateDir, tree, pki);
    timings["total"] = Math.round(performance.now() - t0);
    return { manifest, manifestPath, events, store, allowList, resetGreylist, plan, pki, tree, report, stop, timings };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Zone files and trust anchors next to the manifest, so dig/delv/unbound users find them without `danelab export`. */
function writeExports(stateDir: string, tree: SignedTree, pki: Pki): void {
  // The public root MTA-STS certificates chain to (curl --cacert, the MTA containers' CA store).
  writeFileSync(join(stateDir, PUBLIC_ROOT_FILE), pki.get("lab/public-root").pem);
  mkdirSync(join(stateDir, "zones"), { recursive: true, mode: 0o700 });
  for (const file of exportFiles(tree)) writeFileSync(join(stateDir, file.path), file.text);
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
