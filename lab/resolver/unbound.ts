// Runs a real validating resolver (Debian's unbound) in front of the lab: the "authoritative" trust mode of the design.
// unbound gets the lab root's trust anchor and a stub for "." pointing at the lab's DNS, so it walks the lab's tree
// from the top with real DNSSEC validation (RFC 4035 §5) — AD and SERVFAIL come from unbound, not from the lab.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { createSocket } from "node:dgram";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import dnsPacket from "dns-packet";

export interface UnboundOptions {
  /** Directory for unbound.conf, the trust anchor and the log. */
  dir: string;
  address: string;
  port: number;
  labDns: { address: string; port: number };
  trustAnchors: { ds: string[]; dnskey: string[] };
  /** Name to query to decide unbound is ready; default the root's SOA. */
  probeName?: string;
}

export interface RunningUnbound {
  address: string;
  port: number;
  configPath: string;
  close(): Promise<void>;
}

export class ResolverError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ResolverError";
  }
}

export function unboundConfig(o: UnboundOptions, anchorPath: string, logPath: string): string {
  return `# Written by danelab: a validating resolver whose root is the lab's fake root.
server:
  interface: ${o.address}@${o.port}
  port: ${o.port}
  access-control: 127.0.0.0/8 allow
  do-ip6: no
  do-not-query-localhost: no
  username: ""
  chroot: ""
  directory: "${o.dir}"
  pidfile: ""
  use-syslog: no
  logfile: "${logPath}"
  verbosity: 1
  val-log-level: 2
  module-config: "validator iterator"
  trust-anchor-file: "${anchorPath}"
  # The lab's data changes whenever its zones are rebuilt: keep caches short.
  cache-max-ttl: 5
  cache-max-negative-ttl: 5
  infra-host-ttl: 5
  # A lab TLSA query that times out on purpose must not poison the lab's server for the other scenarios.
  infra-keep-probing: yes
  harden-referral-path: no
  qname-minimisation: no
  aggressive-nsec: no
  local-zone: "example." nodefault
stub-zone:
  name: "."
  stub-addr: ${o.labDns.address}@${o.labDns.port}
`;
}

export async function startUnbound(o: UnboundOptions): Promise<RunningUnbound> {
  const which = spawnSync("sh", ["-c", "command -v unbound"], { encoding: "utf8" });
  if (which.status !== 0) {
    throw new ResolverError(
      "--resolver unbound asks danelab to start a real validating resolver, but the unbound program is not installed. " +
        "Install it with 'apt-get install unbound' (Debian/Ubuntu; the test suite's set-up script does this), or run " +
        "without --resolver to use the lab's own resolver mode (clients then point straight at the lab's DNS).",
    );
  }
  mkdirSync(o.dir, { recursive: true, mode: 0o700 });
  const anchorPath = join(o.dir, "root.key");
  const logPath = join(o.dir, "unbound.log");
  const configPath = join(o.dir, "unbound.conf");
  writeFileSync(anchorPath, `${o.trustAnchors.ds.join("\n")}\n`);
  writeFileSync(configPath, unboundConfig(o, anchorPath, logPath));
  const check = spawnSync("unbound-checkconf", [configPath], { encoding: "utf8" });
  if (check.status !== 0) {
    throw new ResolverError(
      `danelab wrote an unbound configuration that unbound rejects:\n${check.stdout}${check.stderr}`,
    );
  }
  const child = spawn("unbound", ["-d", "-c", configPath], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<number | null>((res) => child.on("exit", (code) => res(code)));
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) break;
    if (await answers(o.address, o.port, o.probeName ?? "")) {
      return { address: o.address, port: o.port, configPath, close: () => stopChild(child, exited) };
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  await stopChild(child, exited);
  const inUse = /address already in use|could not open ports/i.test(stderr);
  throw new ResolverError(
    inUse
      ? `unbound could not listen on ${o.address}:${o.port}: the address is already in use (another unbound, or a lab ` +
          "started earlier). Stop that process, or choose another address with --resolver-address."
      : `unbound did not start answering on ${o.address}:${o.port} within 10 s. Its own words:\n${stderr.trim() || "(nothing)"}\nSee ${logPath} and ${configPath}.`,
  );
}

async function stopChild(child: ChildProcess, exited: Promise<number | null>): Promise<void> {
  if (child.exitCode === null) child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 3000);
  await exited;
  clearTimeout(timer);
}

/** One SOA query over UDP: true when any well-formed response comes back within 300 ms. */
function answers(address: string, port: number, name: string): Promise<boolean> {
  return new Promise((res) => {
    const socket = createSocket("udp4");
    const done = (ok: boolean) => {
      clearTimeout(timer);
      socket.close();
      res(ok);
    };
    const timer = setTimeout(() => done(false), 300);
    socket.on("error", () => done(false));
    socket.on("message", (msg) => {
      try {
        const r = dnsPacket.decode(msg);
        done(r.type === "response");
      } catch {
        done(false);
      }
    });
    const query = dnsPacket.encode({
      type: "query",
      id: 4242,
      flags: dnsPacket.RECURSION_DESIRED,
      questions: [{ type: "SOA", name, class: "IN" }],
    });
    socket.send(query, port, address);
  });
}
