// The established servers the benchmark measures the lab against, started on loopback with throw-away configs:
// NSD (serving the lab's own exported signed zones) and Postfix's smtpd (same certificate, a discard transport).
// Facts behind the settings: shared/design/real-clients.md ("Benchmark peers").
//
// The host stays as it was (issue 19): nothing here installs a package or touches a system service. NSD runs as our
// own process (`nsd -d -c <our config>`, pid file, database and zone list in the benchmark's work directory), never
// the system's instance. Postfix runs in the Postfix client image the set-up already builds: installing Debian's
// postfix on the host would remove an installed Exim (the two MTA packages conflict) and add a system MTA.
import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { checkEngine, checkImage, clientImage } from "../../clients/container.js";

/** A peer cannot run on this host (a tool or image missing, a peer that did not start): the message says what to do. */
export class PeerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PeerError";
  }
}

/** A tool the benchmark runs on the host: missing, it names the package and the set-up that installs it. */
export function requireCommand(cmd: string, pkg: string): void {
  if (spawnSync("sh", ["-c", `command -v ${cmd}`]).status !== 0) {
    throw new PeerError(
      `the benchmark needs ${cmd} (Debian package ${pkg}), which is not installed. 'sudo bash scripts/setup-host.sh' ` +
        "installs it with the other tools the tests and the benchmark use; the benchmark itself never installs anything.",
    );
  }
}

export interface Running {
  close(): Promise<void>;
}

function stopper(child: ChildProcess): () => Promise<void> {
  return () =>
    new Promise((res) => {
      if (child.exitCode !== null) return res();
      child.once("exit", () => res());
      child.kill("SIGTERM");
      setTimeout(() => child.kill("SIGKILL"), 3000).unref();
    });
}

/** NSD on `address`:53 serving every `*.zone` file of `zonesDir` (as `danelab export` writes them). */
export async function startNsd(zonesDir: string, workDir: string, address: string): Promise<Running & { pid: number }> {
  requireCommand("nsd", "nsd");
  requireCommand("dig", "bind9-dnsutils"); // waitForDns
  mkdirSync(workDir, { recursive: true });
  const zones = readdirSync(zonesDir).filter((f) => f.endsWith(".zone"));
  const zoneBlocks = zones
    .map((f) => {
      const origin = f === "root.zone" ? "." : f.replace(/\.zone$/, "");
      return `zone:\n  name: "${origin}"\n  zonefile: "${join(zonesDir, f)}"\n`;
    })
    .join("");
  const conf = join(workDir, "nsd.conf");
  writeFileSync(
    conf,
    `server:
  ip-address: ${address}
  port: 53
  username: ""
  chroot: ""
  zonesdir: "${workDir}"
  pidfile: "${join(workDir, "nsd.pid")}"
  database: ""
  zonelistfile: "${join(workDir, "zone.list")}"
  xfrdfile: "${join(workDir, "xfrd.state")}"
  xfrdir: "${workDir}"
  server-count: 1
  verbosity: 0
  # NSD rate-limits answers per client netblock by default (about 200/s): off for a benchmark.
  rrl-ratelimit: 0
  rrl-whitelist-ratelimit: 0
remote-control:
  control-enable: no
${zoneBlocks}`,
  );
  execFileSync("nsd-checkconf", [conf]);
  const child = spawn("nsd", ["-d", "-c", conf], { stdio: ["ignore", "ignore", "pipe"] });
  await waitForDns(address, 53, child);
  return { pid: child.pid!, close: stopper(child) };
}

export async function waitForDns(address: string, port: number, child?: ChildProcess, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (child && child.exitCode !== null) throw new Error(`server exited with ${child.exitCode} before answering`);
    const r = spawnSync("dig", [`@${address}`, "-p", String(port), "+time=1", "+tries=1", "+norec", ".", "SOA"], {
      encoding: "utf8",
    });
    if (/status: NOERROR/.test(r.stdout)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no DNS answer from ${address}:${port} within ${ms} ms`);
}

/**
 * Postfix's smtpd on `address`:25 with the given key + chain, accepting mail for `domain` and its subdomains and
 * discarding it (nothing is queued to disk beyond Postfix's own cleanup/queue path, as with any real Postfix).
 *
 * It runs in the Postfix client image (Debian's postfix 3.7, the package the host peer used before) with host
 * networking, so it listens on the host's loopback like a host process: no bridge, no NAT, no proxy between the load
 * generator and smtpd. The work directory is bind-mounted at the same path, so main.cf, the queue and the log are
 * files on the host's disk exactly where the host peer kept them; the container adds only namespaces and Docker's
 * default seccomp filter. Measured on 2026-12-07 (2 cores, a loaded machine; 50 connections, 10 s, 6 rounds in
 * rotating order): this container 289/s median, the same container without seccomp 307/s, the same image's Postfix
 * run on the host by chroot (no namespaces, no seccomp, no cgroup) 307/s; container/chroot by round 0.97 median
 * (0.72–1.35). No cost shows above the machine's round-to-round noise. In three full `--only smtp` runs the peer made
 * 199, 215 and 227/s; the host peer had made 198–217/s.
 */
export async function startPostfix(o: {
  workDir: string;
  address: string;
  keyFile: string;
  chainFile: string;
  domain: string;
}): Promise<Running> {
  requireCommand("docker", "docker.io");
  checkEngine();
  const image = clientImage("postfix");
  checkImage(image);
  const conf = join(o.workDir, "postfix");
  mkdirSync(conf, { recursive: true });
  const queue = join(o.workDir, "spool");
  mkdirSync(queue, { recursive: true });
  mkdirSync(join(o.workDir, "data"), { recursive: true });
  writeFileSync(
    join(conf, "main.cf"),
    `compatibility_level = 3.6
queue_directory = ${queue}
data_directory = ${join(o.workDir, "data")}
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = bench-postfix.${o.domain}
mydestination =
relay_domains = ${o.domain}
relay_transport = discard:
default_transport = discard:
local_transport = discard:
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
smtpd_tls_security_level = may
smtpd_tls_chain_files = ${o.keyFile}, ${o.chainFile}
smtpd_peername_lookup = no
smtpd_client_connection_count_limit = 0
smtpd_client_connection_rate_limit = 0
anvil_rate_time_unit = 60s
default_process_limit = 200
maillog_file = ${join(o.workDir, "postfix.log")}
maillog_file_prefixes = ${o.workDir}
`,
  );
  // Inside the container: the image's own master.cf, chroot off (Debian's master.cf chroots smtpd into the queue
  // directory; this throw-away instance runs without), and smtpd on the benchmark's address alone — Postfix only
  // accepts inet_interfaces that are interface addresses (127.0.0.1 here, not the rest of 127/8), but a master.cf
  // service may name its own host:port.
  const start = `set -e
cp /etc/postfix/master.cf "$CONF/master.cf"
postconf -c "$CONF" -F '*/*/chroot = n'
sed -i "s/^smtp\\([[:space:]]\\+\\)inet/$ADDRESS:smtp\\1inet/" "$CONF/master.cf"
chown -R postfix "$DATA"
postfix -c "$CONF" check
exec postfix -c "$CONF" start-fg`;
  const keyDirs = [...new Set([o.keyFile, o.chainFile].map((f) => f.slice(0, f.lastIndexOf("/"))))];
  // Named by its address: a container left on that address by an interrupted run is replaced, not duplicated.
  const name = `danelab-bench-postfix-${o.address}`;
  spawnSync("docker", ["rm", "-f", name], { stdio: "ignore", timeout: 30_000 });
  const run = spawnSync(
    "docker",
    [
      "run",
      "--detach",
      "--name",
      name,
      "--network",
      "host",
      "--label",
      "org.danelab.client=bench-postfix",
      "--volume",
      `${o.workDir}:${o.workDir}`,
      ...keyDirs.flatMap((d) => ["--volume", `${d}:${d}:ro`]),
      "--env",
      `CONF=${conf}`,
      "--env",
      `ADDRESS=${o.address}`,
      "--env",
      `DATA=${join(o.workDir, "data")}`,
      image,
      "sh",
      "-c",
      start,
    ],
    { encoding: "utf8", timeout: 60_000 },
  );
  if (run.status !== 0) {
    throw new PeerError(`the benchmark's Postfix container (${image}) did not start: ${run.stderr.trim()}`);
  }
  const remove = () => spawnSync("docker", ["rm", "-f", name], { stdio: "ignore", timeout: 30_000 });
  // Wait for the 220 greeting.
  const deadline = Date.now() + 30_000;
  for (;;) {
    const r = spawnSync("bash", ["-c", `exec 3<>/dev/tcp/${o.address}/25 && head -c 3 <&3`], {
      encoding: "utf8",
      timeout: 2000,
    });
    if (r.stdout === "220") break;
    const running = spawnSync("docker", ["inspect", "-f", "{{.State.Running}}", name], { encoding: "utf8" });
    if (Date.now() > deadline || running.stdout.trim() !== "true") {
      const logs = spawnSync("docker", ["logs", "--tail", "20", name], { encoding: "utf8" });
      remove();
      throw new PeerError(
        `the benchmark's Postfix (container ${image}) did not start answering on ${o.address}:25. ` +
          `Its last output:\n${`${logs.stdout}${logs.stderr}`.trim()}`,
      );
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    close: async () => {
      spawnSync("docker", ["exec", name, "postfix", "-c", conf, "stop"], { stdio: "ignore", timeout: 30_000 });
      remove();
    },
  };
}
