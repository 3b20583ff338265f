// The doctor's verdicts, pure: from what a tool printed, what `docker info` said, what binding a port returned or what
// the state directory looks like, to one CheckResult — a level, the line that shows it and the fix for a mail admin
// (the Debian packages to install or the command to run). The tests feed these real and recorded outputs; doctor.ts
// gathers the inputs on the machine.
import { dirname } from "node:path";
import type { ToolCheck } from "./doctor-tools.js";

export type Level = "ok" | "warn" | "FAIL" | "info";

export interface CheckResult {
  name: string;
  level: Level;
  /** What was seen: a version, the feature found, or the line that shows what is wrong. */
  detail: string;
  /** What to do about a warn/FAIL: the Debian packages to install, or the command to run. */
  fix?: string;
}

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

export const DEFAULT_TIMEOUT_MS = 15_000;

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

/** The `danelab up` option that moves a listener elsewhere. */
function addressOption(what: string): string {
  if (what.startsWith("dns")) return "--dns-address";
  if (what.startsWith("mta-sts")) return "--sts-address or --sts-port";
  return "--smtp-address";
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
        ? `stop that process if it is not a lab you started, or give danelab up another ${addressOption(what)}`
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
