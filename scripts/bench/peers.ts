// The established servers the benchmark measures the lab against, started on loopback with throw-away configs:
// NSD (serving the lab's own exported signed zones) and Postfix's smtpd (same certificate, a discard transport).
// Facts behind the settings: shared/design/real-clients.md ("Benchmark peers").
import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export function requireCommand(cmd: string, pkg: string): void {
  if (spawnSync("sh", ["-c", `command -v ${cmd}`]).status !== 0) {
    throw new Error(`the benchmark needs ${cmd} (Debian package ${pkg}); install it with 'apt-get install ${pkg}'.`);
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
 */
export async function startPostfix(o: {
  workDir: string;
  address: string;
  keyFile: string;
  chainFile: string;
  domain: string;
}): Promise<Running & { pids: () => number[] }> {
  if (spawnSync("sh", ["-c", "command -v postfix"]).status !== 0) {
    // Debian's postfix, installed without configuring or starting the system instance.
    execFileSync("sh", [
      "-c",
      "echo 'postfix postfix/main_mailer_type select No configuration' | debconf-set-selections",
    ]);
    execFileSync("apt-get", ["install", "-y", "-qq", "postfix"], {
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
      stdio: "ignore",
    });
  }
  const conf = join(o.workDir, "postfix");
  mkdirSync(conf, { recursive: true });
  copyFileSync("/etc/postfix/master.cf", join(conf, "master.cf"));
  const queue = join(o.workDir, "spool");
  mkdirSync(queue, { recursive: true });
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
  mkdirSync(join(o.workDir, "data"), { recursive: true });
  execFileSync("chown", ["-R", "postfix", join(o.workDir, "data")]);
  // Debian's master.cf chroots smtpd into the queue directory; this throw-away instance runs without.
  execFileSync("postconf", ["-c", conf, "-F", "*/*/chroot = n"]);
  // Postfix only accepts inet_interfaces that are interface addresses (127.0.0.1 here, not the rest of 127/8), but a
  // master.cf service may name its own host:port: smtpd listens on the benchmark's address alone.
  const master = readFileSync(join(conf, "master.cf"), "utf8").replace(/^smtp(\s+)inet/m, `${o.address}:smtp$1inet`);
  writeFileSync(join(conf, "master.cf"), master);
  const check = spawnSync("postfix", ["-c", conf, "check"], { encoding: "utf8" });
  if (check.status !== 0) throw new Error(`postfix check failed for the benchmark's Postfix: ${check.stderr}`);
  const child = spawn("postfix", ["-c", conf, "start-fg"], { stdio: ["ignore", "ignore", "pipe"] });
  // Wait for the 220 greeting.
  const deadline = Date.now() + 30_000;
  for (;;) {
    const r = spawnSync("bash", ["-c", `exec 3<>/dev/tcp/${o.address}/25 && head -c 3 <&3`], {
      encoding: "utf8",
      timeout: 2000,
    });
    if (r.stdout === "220") break;
    if (Date.now() > deadline || child.exitCode !== null) throw new Error("Postfix did not start answering on port 25");
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    pids: () =>
      spawnSync("pgrep", ["-f", `-c ${conf}|${queue}`], { encoding: "utf8" })
        .stdout.split("\n")
        .filter(Boolean)
        .map(Number),
    close: async () => {
      spawnSync("postfix", ["-c", conf, "stop"], { stdio: "ignore" });
      await stopper(child)();
    },
  };
}
