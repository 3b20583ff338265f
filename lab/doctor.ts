// `danelab doctor`: does this machine have what the lab and its tests need, and does each tool *work*? A tool on PATH is
// not a working tool: Debian's swaks without Net::SSLeay (a Recommends that --no-install-recommends skips) runs, but
// has no STARTTLS. So each check runs the tool and looks for what a working one prints; a failure names the Debian
// package to install or the command to run.
//
// The tool checks are data (TOOL_CHECKS) shared by the doctor on a user's machine and by `npm run test:fresh-host`,
// which runs `danelab doctor --tools-only --json` in fresh Debian containers after scripts/setup-host.sh installed the
// packages of scripts/host.packages. Host checks (Docker engine and images, ports 25/53, resolv.conf, the state
// directory) need the machine itself and are left out with --tools-only.
import { spawn } from "node:child_process";
import { accessSync, constants, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { portOwner } from "./port-owner.js";

export type Level = "ok" | "warn" | "FAIL" | "info";

export interface CheckResult {
  name: string;
  level: Level;
  /** What was seen: a version, the feature found, or the line that shows what is wrong. */
  detail: string;
  /** What to do about a warn/FAIL: the Debian packages to install, or the command to run. */
  fix?: string;
}

/** A tool check: run `argv`, and the tool works when it exits 0 and its output (stdout + stderr) matches `works`. */
export interface ToolCheck {
  name: string;
  /** What in danelab needs it. */
  purpose: string;
  /** `{dir}` is replaced by a private temporary directory holding `files`. */
  argv: string[];
  files?: Record<string, string>;
  /** Extra environment (`{dir}` replaced as in argv). */
  env?: Record<string, string>;
  /** What a working tool prints; the first capture group (a version), or `shows`, is the detail of an ok. */
  works: RegExp;
  shows?: string;
  /** Some tools print their version or usage with a non-zero exit. */
  anyExitStatus?: boolean;
  /** The Debian packages that make it work (all of them: the tool and what it needs at run time). */
  packages: string[];
  /** Why a tool that runs may still not work, and the fix for that case. */
  hint?: string;
  /** The line of a broken tool's output that says why (default: the first line that sounds like an error). */
  explains?: RegExp;
  /** A missing or broken optional tool is a warning: only some tests need it. */
  optional?: boolean;
  timeoutMs?: number;
}

const SWAKS_HINT =
  "swaks has no STARTTLS without the Perl module Net::SSLeay, which is only a Recommends of swaks " +
  "(apt-get --no-install-recommends skips it)";

export const TOOL_CHECKS: readonly ToolCheck[] = [
  {
    name: "swaks STARTTLS",
    purpose: "scripted SMTP sessions in the SMTP tests",
    argv: ["swaks", "--support"],
    works: /^=== (TLS supported)/m,
    explains: /TLS not available.*/,
    packages: ["swaks", "libnet-ssleay-perl"],
    hint: SWAKS_HINT,
  },
  {
    name: "openssl DANE",
    purpose: "DANE handshakes in the certificate and SMTP tests",
    argv: ["openssl", "s_client", "-help"],
    works: /-dane_tlsa_rrdata/,
    shows: "s_client has -dane_tlsa_rrdata",
    packages: ["openssl"],
    hint: "this openssl has no DANE support in s_client (OpenSSL 1.1.0 or newer has it)",
  },
  {
    name: "gnutls-cli DANE",
    purpose: "GnuTLS's DANE check (the library Debian's Exim uses)",
    argv: ["gnutls-cli", "--help"],
    works: /--dane\b/,
    shows: "has --dane",
    packages: ["gnutls-bin"],
  },
  {
    name: "danetool",
    purpose: "GnuTLS's TLSA record checker (Debian bug #1075900 reproduced)",
    argv: ["danetool", "--version"],
    works: /^danetool (\S+)/m,
    packages: ["gnutls-bin"],
  },
  {
    name: "unbound",
    purpose: "`danelab up --resolver unbound`, the resolver tests",
    argv: ["unbound", "-V"],
    works: /^Version (\S+)/m,
    packages: ["unbound"],
  },
  {
    name: "unbound-checkconf",
    purpose: "checks the unbound configuration the lab writes",
    argv: ["unbound-checkconf", "{dir}/unbound.conf"],
    files: { "unbound.conf": 'server:\n  interface: 127.0.53.2\n  chroot: ""\n  username: ""\n  directory: "{dir}"\n' },
    works: /no errors/,
    shows: "accepts a configuration",
    packages: ["unbound"],
  },
  {
    name: "dig",
    purpose: "DNS answers checked by BIND's tools",
    argv: ["dig", "-v"],
    works: /^DiG (\S+)/m,
    packages: ["bind9-dnsutils"],
  },
  {
    name: "delv",
    purpose: "DNSSEC validation checked by BIND's validator",
    argv: ["delv", "-v"],
    works: /^delv (\S+)/m,
    packages: ["bind9-dnsutils"],
  },
  {
    name: "named-checkzone",
    purpose: "exported zone files checked by BIND's parser",
    argv: ["named-checkzone", "example", "{dir}/example.zone"],
    files: {
      "example.zone":
        "example. 300 IN SOA ns.example. admin.example. 1 3600 900 86400 300\n" +
        "example. 300 IN NS ns.example.\nns.example. 300 IN A 127.0.0.1\n",
    },
    works: /^OK$/m,
    shows: "accepts a zone",
    packages: ["bind9-utils"],
  },
  {
    name: "ldns-verify-zone",
    purpose: "DNSSEC signatures checked by an independent implementation",
    argv: ["ldns-verify-zone", "-v"],
    works: /verify-zone version (\S+)/,
    packages: ["ldnsutils"],
  },
  {
    name: "ldns-signzone",
    purpose: "the benchmark's shell-way zone signing",
    argv: ["ldns-signzone", "-v"],
    works: /zone signer version (\S+)/,
    packages: ["ldnsutils"],
  },
  {
    name: "dnsperf",
    purpose: "DNS load tests and `npm run bench`",
    argv: ["dnsperf", "-h"],
    works: /^Usage: dnsperf/m,
    shows: "runs",
    anyExitStatus: true,
    packages: ["dnsperf"],
  },
  {
    name: "nsd",
    purpose: "the benchmark's DNS peer and the zone-export tests",
    argv: ["nsd", "-v"],
    works: /^NSD version (\S+)/m,
    anyExitStatus: true,
    packages: ["nsd"],
  },
  {
    name: "nsd-checkconf",
    purpose: "checks the NSD configuration the tests write",
    argv: ["nsd-checkconf", "{dir}/nsd.conf"],
    files: { "nsd.conf": 'server:\n  zonesdir: "{dir}"\n' },
    works: /^$/,
    shows: "accepts a configuration",
    packages: ["nsd"],
  },
  {
    name: "ss",
    purpose: "names the process holding port 25/53 when the lab cannot bind",
    argv: ["ss", "-V"],
    works: /iproute2-(\S+)/,
    packages: ["iproute2"],
  },
  {
    name: "pgrep",
    purpose: "the tests find the daemons they started",
    argv: ["pgrep", "-V"],
    works: /procps-ng (\S+)/,
    packages: ["procps"],
  },
  {
    name: "chromium headless",
    purpose: "the web UI tests",
    // A throw-away profile, configuration and cache: nothing is written to the user's ~/.config or ~/.cache.
    argv: [
      "chromium",
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--user-data-dir={dir}/profile",
      "--dump-dom",
      "data:text/html,<p>danelab-ok</p>",
    ],
    files: {},
    env: { XDG_CONFIG_HOME: "{dir}/config", XDG_CACHE_HOME: "{dir}/cache" },
    works: /<p>danelab-ok<\/p>/,
    shows: "renders a page",
    packages: ["chromium"],
    optional: true,
    timeoutMs: 30_000,
  },
];

/** Host-only tools: needed to build the client images, not by the lab itself. */
export const IMAGE_TOOL_CHECKS: readonly ToolCheck[] = [
  {
    name: "debootstrap",
    purpose: "builds the client images from Debian packages",
    argv: ["debootstrap", "--version"],
    works: /^debootstrap (\S+)/m,
    packages: ["debootstrap"],
  },
];

/** localhost/danelab-<name>:latest, as scripts/setup-host.sh builds them. */
export const CLIENT_IMAGES = [
  "exim",
  "postfix",
  "probe",
  "exim-heavy",
  "exim-trixie",
  "postfix-trixie",
  "probe-bookworm",
  "exim-openssl-bookworm",
] as const;

const SETUP = "sudo bash scripts/setup-host.sh";

export function installFix(packages: readonly string[]): string {
  return `apt-get install --no-install-recommends ${packages.join(" ")} (as root; or: ${SETUP})`;
}

/** How one run of a tool ended. `error` is the spawn error code (ENOENT: not installed) or "timeout". */
export interface ToolRun {
  status: number | null;
  output: string;
  error?: string;
}

/** The verdict on one tool check from what its command did. Pure: the tests feed it real and recorded outputs. */
export function judgeTool(check: ToolCheck, run: ToolRun): CheckResult {
  const bad: Level = check.optional ? "warn" : "FAIL";
  const tool = check.argv[0]!;
  if (run.error === "ENOENT") {
    return { name: check.name, level: bad, detail: `${tool} not found`, fix: installFix(check.packages) };
  }
  if (run.error === "timeout") {
    return {
      name: check.name,
      level: bad,
      detail: `${tool} did not finish within ${(check.timeoutMs ?? DEFAULT_TIMEOUT_MS) / 1000} s`,
      fix: `run '${check.argv.join(" ")}' by hand to see where it hangs`,
    };
  }
  if (run.error) {
    return {
      name: check.name,
      level: bad,
      detail: `${tool} could not run (${run.error})`,
      fix: installFix(check.packages),
    };
  }
  const m = check.works.exec(run.output.trim());
  if (m && (run.status === 0 || check.anyExitStatus)) {
    return { name: check.name, level: "ok", detail: check.shows ?? m[1] ?? "works" };
  }
  const why = failureLine(run.output, check.explains) ?? `exit status ${run.status}, no output`;
  return {
    name: check.name,
    level: bad,
    detail: `runs but does not work: ${why}${run.status ? ` (exit ${run.status})` : ""}`,
    fix: `${check.hint ? `${check.hint}: ` : ""}${installFix(check.packages)}`,
  };
}

/**
 * The most telling line of a failed tool's output: the one `explains` matches, else one that sounds like an error,
 * else the first one.
 */
export function failureLine(output: string, explains?: RegExp): string | null {
  const lines = output
    .split("\n")
    .map((l) => l.replace(/^[*=\s]+/, "").trim())
    .filter(Boolean);
  const telling = (re: RegExp) => lines.find((l) => re.test(l));
  return (
    (explains && telling(explains)) ??
    telling(/not available|requires|error|not found|cannot|unable|fail/i) ??
    lines[0] ??
    null
  );
}

const DEFAULT_TIMEOUT_MS = 15_000;

/** Runs one tool check for real: temporary files in a private directory, a timeout, no shell. */
export async function runToolCheck(check: ToolCheck): Promise<CheckResult> {
  const dir = check.files ? mkdtempSync(join(tmpdir(), "danelab-doctor-")) : "";
  const fill = (s: string) => s.replaceAll("{dir}", dir);
  try {
    for (const [name, text] of Object.entries(check.files ?? {})) writeFileSync(join(dir, name), fill(text));
    const env = Object.fromEntries(Object.entries(check.env ?? {}).map(([k, v]) => [k, fill(v)]));
    const run = await runCommand(check.argv.map(fill), check.timeoutMs ?? DEFAULT_TIMEOUT_MS, env);
    return judgeTool(check, run);
  } finally {
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}

function runCommand(argv: string[], timeoutMs: number, env: Record<string, string> = {}): Promise<ToolRun> {
  return new Promise((done) => {
    // Its own process group, so a timeout also ends what the tool started (chromium's helper processes).
    const child = spawn(argv[0]!, argv.slice(1), {
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
      env: { ...process.env, ...env },
    });
    let output = "";
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        if (child.pid) process.kill(-child.pid, "SIGKILL");
      } catch {}
    }, timeoutMs);
    const take = (b: Buffer) => {
      if (output.length < 100_000) output += b.toString("utf8");
    };
    child.stdout.on("data", take);
    child.stderr.on("data", take);
    child.on("error", (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      done({ status: null, output, error: err.code ?? err.message });
    });
    child.on("close", (status) => {
      clearTimeout(timer);
      done(timedOut ? { status, output, error: "timeout" } : { status, output });
    });
  });
}

// --- checks of the machine itself ------------------------------------------------------------------------------------

/** Node 20 is the oldest the lab supports (package.json engines). */
export function judgeNode(version: string): CheckResult {
  const major = Number(/^v?(\d+)/.exec(version)?.[1] ?? 0);
  if (major >= 20) return { name: "node", level: "ok", detail: version };
  return {
    name: "node",
    level: "FAIL",
    detail: `${version}: danelab needs Node.js 20 or newer`,
    fix: "Debian 13: apt-get install nodejs (20.19); Debian 12 ships Node 18: install Node 20+ from nodejs.org or NodeSource",
  };
}

/** What `docker info --format {{.ServerVersion}}` said about the engine. */
export function judgeDocker(run: ToolRun): CheckResult {
  const name = "docker engine";
  if (run.error === "ENOENT") {
    return {
      name,
      level: "FAIL",
      detail: "no docker command",
      fix: `${SETUP} (installs docker.io without bridge or iptables)`,
    };
  }
  if (run.status === 0 && /\d/.test(run.output))
    return { name, level: "ok", detail: `reachable, ${run.output.trim()}` };
  const why = failureLine(run.output) ?? run.error ?? `exit ${run.status}`;
  const fix = /permission denied/i.test(run.output)
    ? "run as root, or add your user to the docker group (usermod -aG docker $USER, then log in again)"
    : `start the engine: ${SETUP} --no-images (or systemctl start docker)`;
  return { name, level: "FAIL", detail: `not reachable: ${why}`, fix };
}

export function judgeImage(name: string, run: ToolRun, engineOk: boolean): CheckResult {
  const tag = `localhost/danelab-${name}:latest`;
  if (!engineOk) return { name: `image ${name}`, level: "FAIL", detail: `${tag}: engine not reachable`, fix: SETUP };
  if (run.status === 0)
    return { name: `image ${name}`, level: "ok", detail: `${tag} ${run.output.trim().slice(7, 19)}` };
  return {
    name: `image ${name}`,
    level: "FAIL",
    detail: `${tag} is missing`,
    fix: `${SETUP} (builds it from Debian packages, about a minute)`,
  };
}

/** What binding a port told us: nothing (free), EACCES (no privilege) or EADDRINUSE (held by another process). */
export function judgePort(
  what: string,
  address: string,
  port: number,
  code: string | null,
  owner: string | null,
): CheckResult {
  const name = `port ${what}`;
  const where = `${address}:${port}`;
  if (!code) return { name, level: "ok", detail: `${where} can be bound` };
  if (code === "EACCES" || code === "EPERM") {
    return {
      name,
      level: "FAIL",
      detail: `${where}: no permission to bind a port below 1024`,
      fix:
        'run danelab as root; or setcap cap_net_bind_service=+ep "$(readlink -f "$(which node)")"; ' +
        "or sysctl net.ipv4.ip_unprivileged_port_start=25",
    };
  }
  if (code === "EADDRINUSE") {
    return {
      name,
      level: "FAIL",
      detail: `${where} is in use${owner ? `, held by ${owner}` : ""}`,
      fix: owner
        ? `stop that process if it is not a lab you started, or give danelab up another ${what.startsWith("dns") ? "--dns-address" : "--smtp-address"}`
        : "find the holder with ss -lnp (as root) and stop it, or give danelab up another address",
    };
  }
  if (code === "EADDRNOTAVAIL") {
    return {
      name,
      level: "FAIL",
      detail: `${where}: no such local address`,
      fix: "use a 127.x.y.z address (loopback)",
    };
  }
  return { name, level: "FAIL", detail: `${where}: ${code}`, fix: "see the error above" };
}

/** resolv.conf: information for the user's own MTA, never a failure (the lab and its tests do not read it). */
export function judgeResolvConf(text: string | null, dnsAddress: string): CheckResult {
  const name = "resolv.conf";
  const need = `an MTA on this host that is to use the lab needs 'nameserver ${dnsAddress}' and 'options trust-ad edns0' (glibc strips the DNSSEC AD bit without trust-ad, and the MTA then silently skips DANE); containers of 'danelab check' get their own`;
  if (text === null) return { name, level: "info", detail: `no /etc/resolv.conf; ${need}` };
  const servers = [...text.matchAll(/^\s*nameserver\s+(\S+)/gm)].map((m) => m[1]);
  const trustAd = /^\s*options\s.*\btrust-ad\b/m.test(text);
  const pointsAtLab = servers[0] === dnsAddress;
  const now = `nameserver ${servers.join(", ") || "(none)"}, ${trustAd ? "trust-ad set" : "no trust-ad"}`;
  if (pointsAtLab && trustAd)
    return { name, level: "ok", detail: `${now}: this host's MTA asks the lab and trusts AD` };
  return { name, level: "info", detail: `${now}; ${need}` };
}

/** The state directory: missing is fine (danelab up creates it 0700), present must be 0700 and writable. */
export function judgeStateDir(
  dir: string,
  stat: { mode: number; isDirectory: boolean } | null,
  writable: boolean,
  parentWritable: boolean,
): CheckResult {
  const name = "state directory";
  if (!stat) {
    return parentWritable
      ? { name, level: "ok", detail: `${dir} does not exist yet; danelab up creates it (0700)` }
      : {
          name,
          level: "FAIL",
          detail: `${dir} does not exist and ${dirname(dir)} is not writable`,
          fix: `mkdir -m 0700 ${dir} as a user who can, or pass --state-dir`,
        };
  }
  if (!stat.isDirectory)
    return { name, level: "FAIL", detail: `${dir} is not a directory`, fix: `remove it or pass --state-dir` };
  const mode = stat.mode & 0o777;
  if (!writable)
    return {
      name,
      level: "FAIL",
      detail: `${dir} is not writable by this user`,
      fix: `run as its owner, or chown -R $USER ${dir}`,
    };
  if (mode !== 0o700) {
    return {
      name,
      level: "FAIL",
      detail: `${dir} has mode 0${mode.toString(8)}; it holds private keys, so only its owner may read it`,
      fix: `chmod 700 ${dir}`,
    };
  }
  return { name, level: "ok", detail: `${dir} exists, mode 0700, writable` };
}

// --- running everything ---------------------------------------------------------------------------------------------

export interface DoctorOptions {
  toolsOnly: boolean;
  stateDir: string;
  dnsAddress: string;
  smtpAddress: string;
}

export async function runDoctor(o: DoctorOptions): Promise<CheckResult[]> {
  const tools = [...TOOL_CHECKS, ...(o.toolsOnly ? [] : IMAGE_TOOL_CHECKS)];
  const results = [judgeNode(process.version), ...(await Promise.all(tools.map(runToolCheck)))];
  if (o.toolsOnly) return results;

  const docker = judgeDocker(await runCommand(["docker", "info", "--format", "{{.ServerVersion}}"], 15_000));
  results.push(docker);
  for (const name of CLIENT_IMAGES) {
    const run =
      docker.level === "ok"
        ? await runCommand(
            ["docker", "image", "inspect", "--format", "{{.Id}}", `localhost/danelab-${name}:latest`],
            15_000,
          )
        : { status: null, output: "" };
    results.push(judgeImage(name, run, docker.level === "ok"));
  }
  results.push(await checkPort("smtp", o.smtpAddress, 25, "tcp"));
  results.push(await checkPort("dns", o.dnsAddress, 53, "udp"));
  results.push(await checkPort("dns", o.dnsAddress, 53, "tcp"));
  let resolv: string | null = null;
  try {
    resolv = readFileSync("/etc/resolv.conf", "utf8");
  } catch {}
  results.push(judgeResolvConf(resolv, o.dnsAddress));
  results.push(stateDirCheck(resolve(o.stateDir)));
  return results;
}

async function checkPort(what: string, address: string, port: number, transport: "udp" | "tcp"): Promise<CheckResult> {
  const code = await tryBind(address, port, transport);
  const owner = code === "EADDRINUSE" ? portOwner(address, port, transport) : null;
  const r = judgePort(`${what} ${transport}`, address, port, code, owner);
  return r;
}

async function tryBind(address: string, port: number, transport: "udp" | "tcp"): Promise<string | null> {
  if (transport === "udp") {
    const { createSocket } = await import("node:dgram");
    return new Promise((done) => {
      const s = createSocket("udp4");
      s.once("error", (err: NodeJS.ErrnoException) => {
        s.close();
        done(err.code ?? "error");
      });
      s.bind(port, address, () => s.close(() => done(null)));
    });
  }
  const { createServer } = await import("node:net");
  return new Promise((done) => {
    const s = createServer();
    s.once("error", (err: NodeJS.ErrnoException) => done(err.code ?? "error"));
    s.listen({ port, host: address, exclusive: true }, () => s.close(() => done(null)));
  });
}

function stateDirCheck(dir: string): CheckResult {
  const writable = (p: string) => {
    try {
      accessSync(p, constants.W_OK | constants.X_OK);
      return true;
    } catch {
      return false;
    }
  };
  let stat: { mode: number; isDirectory: boolean } | null = null;
  try {
    const s = statSync(dir);
    stat = { mode: s.mode, isDirectory: s.isDirectory() };
  } catch {}
  return judgeStateDir(dir, stat, stat ? writable(dir) : false, writable(dirname(dir)));
}

// --- output ----------------------------------------------------------------------------------------------------------

export function formatResults(results: readonly CheckResult[]): string {
  const width = Math.max(...results.map((r) => r.name.length));
  const lines = results.map((r) => {
    const head = `${r.level.padEnd(4)}  ${r.name.padEnd(width)}  ${r.detail}`;
    return r.fix ? `${head}\n${" ".repeat(width + 8)}fix: ${r.fix}` : head;
  });
  const failed = results.filter((r) => r.level === "FAIL").length;
  const warned = results.filter((r) => r.level === "warn").length;
  lines.push(
    failed
      ? `doctor: ${failed} check(s) failed${warned ? `, ${warned} warning(s)` : ""}; each 'fix:' line says what to do`
      : `doctor: all ${results.length} checks passed${warned ? ` (${warned} warning(s))` : ""}`,
  );
  return lines.join("\n");
}

export function doctorExitCode(results: readonly CheckResult[]): number {
  return results.some((r) => r.level === "FAIL") ? 1 : 0;
}
