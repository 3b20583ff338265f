// Real validators on the exported files: NSD (an independent authoritative server) serves the zone files zones/
// exports; BIND's delv and unbound (forwarding to NSD) validate against the exported trust anchors. Their verdicts —
// delv's fully validated / unsigned / resolution failed, unbound's AD / no AD / SERVFAIL — must agree with
// resolveValidated's secure / insecure / bogus for every case the lab uses.
// NSD listens on 127.0.153.1, unbound on 127.0.153.2, each on a high port picked at random; nothing else is used.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildTree, resolveValidated, type SignedTree, trustAnchorFiles } from "../zones/index.js";
import { labSpecs } from "../zones/test-fixtures.js";

const ADDRESS = "127.0.153.1";
const UNBOUND_ADDRESS = "127.0.153.2";
let dir: string;
let tree: SignedTree;
let nsd: ChildProcess | undefined;
let unbound: ChildProcess | undefined;
let port = 0;
let unboundPort = 0;

function nsdConfig(zonesDir: string, p: number): string {
  const zones = tree.zones
    .map((z) => `zone:\n  name: "${z.origin || "."}"\n  zonefile: "${z.origin || "root"}.zone"\n`)
    .join("");
  return `server:
  ip-address: ${ADDRESS}@${p}
  do-ip6: no
  username: ""
  chroot: ""
  zonesdir: "${zonesDir}"
  pidfile: "${join(dir, "nsd.pid")}"
  database: ""
  zonelistfile: "${join(dir, "zone.list")}"
  xfrdfile: "${join(dir, "xfrd.state")}"
  xfrdir: "${dir}"
  logfile: "${join(dir, "nsd.log")}"
  server-count: 1
  hide-version: yes
  rrl-ratelimit: 0
remote-control:
  control-enable: no
${zones}`;
}

function unboundConfig(p: number): string {
  return `server:
  interface: ${UNBOUND_ADDRESS}@${p}
  port: ${p}
  do-ip6: no
  do-not-query-localhost: no
  username: ""
  chroot: ""
  directory: "${dir}"
  pidfile: "${join(dir, "unbound.pid")}"
  trust-anchor-file: "${join(dir, "root.anchor")}"
  trust-anchor-signaling: no
  use-syslog: no
  logfile: "${join(dir, "unbound.log")}"
  verbosity: 1
  val-log-level: 2
  access-control: 127.0.0.0/8 allow
  num-threads: 1
  cache-max-ttl: 5
remote-control:
  control-enable: no
forward-zone:
  name: "."
  forward-addr: ${ADDRESS}@${port}
`;
}

/**
 * Starts a server on a random high port, waiting for `ready` in its log file; retries with another port when that
 * one is taken.
 */
async function startServer(
  name: string,
  cmd: string,
  config: (p: number) => string,
  ready: string,
): Promise<{ child: ChildProcess; port: number }> {
  const log = join(dir, `${name}.log`);
  for (let attempt = 0; attempt < 5; attempt++) {
    const p = 20000 + Math.floor(Math.random() * 40000);
    const conf = join(dir, `${name}.conf`);
    writeFileSync(conf, config(p));
    writeFileSync(log, "");
    const child = spawn(cmd, ["-d", "-c", conf], { stdio: "ignore" });
    for (let i = 0; i < 50; i++) {
      await new Promise((r) => setTimeout(r, 100));
      const text = readFileSync(log, "utf8");
      if (text.includes(ready)) return { child, port: p };
      if (child.exitCode !== null || /can't bind|Address already in use|could not open/.test(text)) break;
    }
    await stop(child);
  }
  throw new Error(`${name} did not start; see ${log}`);
}

async function stop(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5_000))]);
}

/** unbound's verdict: SERVFAIL = bogus, AD = secure, neither = insecure. */
function unboundVerdict(name: string, type: string): "secure" | "insecure" | "bogus" {
  const r = spawnSync(
    "dig",
    [`@${UNBOUND_ADDRESS}`, "-p", String(unboundPort), "+dnssec", "+tries=1", "+time=5", name, type],
    { encoding: "utf8", timeout: 30_000 },
  );
  const out = `${r.stdout}${r.stderr}`;
  if (/status: SERVFAIL/.test(out)) return "bogus";
  const flags = /;; flags: ([a-z ]+);/.exec(out)?.[1]?.split(" ") ?? [];
  if (!/status: (NOERROR|NXDOMAIN)/.test(out)) throw new Error(`unbound gave no answer for ${name} ${type}:\n${out}`);
  return flags.includes("ad") ? "secure" : "insecure";
}

function delv(name: string, type: string): string {
  const r = spawnSync("delv", ["-4", `@${ADDRESS}`, "-p", String(port), "-a", join(dir, "anchors.conf"), name, type], {
    encoding: "utf8",
    timeout: 30_000,
  });
  return `${r.stdout}${r.stderr}`;
}

/** delv's verdict in resolveValidated's words (delv rates each RRset of a CNAME chain; the weakest one counts). */
function verdict(out: string): "secure" | "insecure" | "bogus" {
  // A proven negative answer reads ";; resolution failed: ncache nxdomain" then "; negative response, fully validated".
  if (/resolution failed: (?!ncache nx(domain|rrset))/.test(out)) return "bogus";
  if (out.includes("unsigned answer")) return "insecure";
  if (out.includes("fully validated")) return "secure";
  return "bogus";
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "zones-delv-"));
  const zonesDir = join(dir, "zones");
  mkdirSync(zonesDir);
  // The unit tests' tree minus the zone whose faults are server behaviour (NSD cannot play servfail/timeout).
  tree = await buildTree(
    labSpecs(13).filter((z) => z.origin !== "faulty.lab.example"),
    {},
  );
  for (const z of tree.zones) writeFileSync(join(zonesDir, `${z.origin || "root"}.zone`), z.toZoneFile());
  const anchors = trustAnchorFiles(tree);
  writeFileSync(join(dir, "anchors.conf"), anchors.bind);
  writeFileSync(join(dir, "root.anchor"), anchors.unbound);
  ({ child: nsd, port } = await startServer("nsd", "nsd", (p) => nsdConfig(zonesDir, p), "nsd started"));
  ({ child: unbound, port: unboundPort } = await startServer("unbound", "unbound", unboundConfig, "start of service"));
}, 60_000);

afterAll(async () => {
  // The servers write state files while shutting down: wait for them to exit before removing the directory.
  await stop(unbound);
  await stop(nsd);
  if (existsSync(dir)) rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
});

const cases: [string, string, "secure" | "insecure" | "bogus", string][] = [
  ["_25._tcp.mx.good.lab.example", "TLSA", "secure", "TLSA in a signed child"],
  ["good.lab.example", "MX", "secure", "MX"],
  ["_25._tcp.mx2.good.lab.example", "TLSA", "secure", "TLSA owner that is a CNAME inside the zone"],
  ["_25._tcp.mx.cross.lab.example", "TLSA", "secure", "CNAME into another signed zone"],
  ["nothere.good.lab.example", "A", "secure", "NXDOMAIN proved by NSEC"],
  ["mx.good.lab.example", "TLSA", "secure", "NODATA proved by NSEC"],
  ["_tcp.mx.good.lab.example", "TLSA", "secure", "NODATA at an empty non-terminal"],
  ["example", "DS", "secure", "DS at an empty non-terminal of the root"],
  ["_25._tcp.mx.plain.lab.example", "TLSA", "insecure", "unsigned child, no DS proved"],
  ["plainmx.cross.lab.example", "A", "insecure", "CNAME into the unsigned child"],
  ["_25._tcp.mx.badsig.lab.example", "TLSA", "bogus", "bad-signature on TLSA"],
  ["_25._tcp.mx.expired.lab.example", "TLSA", "bogus", "expired-signature on TLSA"],
  ["mxbogus.lab.example", "MX", "bogus", "bad-signature on MX"],
  ["mx.wrongds.lab.example", "A", "bogus", "wrong DS in the parent"],
  ["mx.dsbogus.lab.example", "A", "bogus", "bad signature over the DS"],
  ["mx.nsecbogus.lab.example", "TLSA", "bogus", "NODATA whose NSEC signature is broken"],
];

describe("delv and unbound against NSD serving the exported zones", () => {
  for (const [name, type, expected, what] of cases) {
    it(`${what}: ${name} ${type} is ${expected} for delv, unbound and resolveValidated`, () => {
      const out = delv(name, type);
      expect(verdict(out), out).toBe(expected);
      expect(unboundVerdict(name, type)).toBe(expected);
      expect(resolveValidated(tree, { name, type }).status).toBe(expected);
    });
  }
});
