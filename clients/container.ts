// Client MTAs in containers: the thin layer over testcontainers that every driver (Exim, Postfix) uses.
//
// What this machine needs (design/real-clients.md, measured):
// - No registry: images are built locally by scripts/setup-host.sh and tagged `localhost/danelab-<name>:latest`,
//   so a missing image fails fast instead of trying a pull.
// - Ryuk (testcontainers' reaper) cannot be pulled: it is disabled, and containers labelled `org.testcontainers=true`
//   are removed by us (`removeStaleContainers`, each driver's `stop`).
// - The machine has `/.dockerenv`, so testcontainers would look for a bridge network: TESTCONTAINERS_HOST_OVERRIDE.
// - `--network host` only: the MTA reaches the lab's 127.x.y.z addresses directly; no bridge, no NAT.
// - `/etc/resolv.conf` copied into a container is silently replaced by Docker's own: it is bind-mounted read-only
//   from a file we write (`nameserver <lab DNS>` + `options trust-ad edns0`, without which glibc strips the AD bit and
//   the MTA never sees DNSSEC-validated answers).
// - Every driver (Exim, Postfix, the probes, any image) holds one container per column the same way: DriverContainer.
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { StartedTestContainer } from "testcontainers";

/** Set before testcontainers is loaded: it reads these when it first talks to the engine. */
function configureTestcontainers(): void {
  process.env["TESTCONTAINERS_RYUK_DISABLED"] ??= "true";
  process.env["TESTCONTAINERS_HOST_OVERRIDE"] ??= "127.0.0.1";
}

/**
 * The image a driver runs: `DANELAB_<NAME>_IMAGE` overrides the locally built `localhost/danelab-<name>:latest`
 * ("exim", "postfix", "probe", "exim-trixie" → DANELAB_EXIM_TRIXIE_IMAGE).
 */
export function clientImage(name: string): string {
  return (
    process.env[`DANELAB_${name.toUpperCase().replace(/[^A-Z0-9]/g, "_")}_IMAGE`] ?? `localhost/danelab-${name}:latest`
  );
}

/** The container engine or an image is not usable: one paragraph with the fix. */
export class ContainerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ContainerError";
  }
}

export interface FileInContainer {
  target: string;
  content: string;
  mode?: number;
}

export interface ClientContainerSpec {
  image: string;
  /** Shown in errors and progress ("exim-strict"). */
  label: string;
  /** The container's command; omitted: the image's own entrypoint and command (an MTA image that starts itself). */
  command?: string[];
  /** Replaces the image's entrypoint (Docker then ignores the image's command too). */
  entrypoint?: string[];
  files: FileInContainer[];
  /** Host directories bind-mounted read-only (a user's configuration copy). */
  mounts?: { source: string; target: string }[];
  /** Host directory for files bind-mounted into the container (resolv.conf). */
  hostDir: string;
  /** Lines of /etc/resolv.conf. */
  resolvConf: string;
  /** Shell command that succeeds once the MTA is ready. */
  readyCommand: string;
  startupTimeoutMs?: number;
}

export interface ExecOutput {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface ClientContainer {
  id: string;
  label: string;
  exec(command: string[]): Promise<ExecOutput>;
  /** `sh -c script` with positional arguments. */
  sh(script: string, ...args: string[]): Promise<ExecOutput>;
  readFile(path: string): Promise<string>;
  stop(): Promise<void>;
}

/** The resolv.conf a client MTA needs to see the lab's DNSSEC verdicts (RFC 6840 §5.7: AD only for trusted paths). */
export function resolvConfFor(nameserver: string, opts: { timeoutSeconds?: number; attempts?: number } = {}): string {
  const t = opts.timeoutSeconds ?? 2;
  const a = opts.attempts ?? 2;
  return `# written by danelab clients/: the lab's DNS (or its validating resolver)\nnameserver ${nameserver}\noptions trust-ad edns0 timeout:${t} attempts:${a}\n`;
}

/** Is the Docker engine answering? (the set-up script starts it; nothing here starts daemons) */
export function checkEngine(): void {
  const r = spawnSync("docker", ["info", "--format", "{{.ServerVersion}}"], { encoding: "utf8", timeout: 15_000 });
  if (r.status !== 0) {
    throw new ContainerError(
      "The Docker engine is not answering (`docker info` failed: " +
        `${(r.stderr || r.error?.message || "no output").trim().split("\n")[0]}). The client MTAs run in containers. ` +
        "Run `sudo bash scripts/setup-host.sh` once: it installs docker.io, configures it without bridge or iptables, " +
        "starts dockerd and builds the client images.",
    );
  }
}

/** Is the image there? (it is never pulled here: the lab's images are built locally, a user's must be loaded) */
export function checkImage(image: string): void {
  const r = spawnSync("docker", ["image", "inspect", "--format", "{{.Id}}", image], {
    encoding: "utf8",
    timeout: 15_000,
  });
  if (r.status === 0) return;
  const ours = /^localhost\/danelab-([a-z0-9-]+)(?::[\w.-]+)?$/.exec(image);
  throw new ContainerError(
    ours
      ? `The client image ${image} is missing. The lab's images are built from Debian packages, not pulled: run ` +
          `\`sudo bash ${buildCommand(ours[1]!)}\` (a minute or two the first time), or ` +
          "`sudo bash scripts/setup-host.sh` for the default ones."
      : `The image ${image} is not in the local Docker engine (\`docker image inspect ${image}\` fails). Pull it ` +
          `(\`docker pull ${image}\`), load it (\`docker load -i FILE\`) or build it (\`docker build -t ${image} DIR\`) ` +
          "first; danelab does not pull images itself.",
  );
}

/** The script that builds `localhost/danelab-<name>`: "exim-trixie" → build.sh exim@trixie. */
export function buildCommand(name: string): string {
  if (name.startsWith("exim-openssl")) return "scripts/images/exim-openssl.sh";
  const release = /^(.+)-(bookworm|trixie|forky)$/.exec(name);
  return `scripts/images/build.sh ${release ? `${release[1]}@${release[2]}` : name}`;
}

/**
 * Removes client containers that earlier runs left behind (no Ryuk here): stopped ones, and running ones older than
 * `maxAgeMinutes` — never a young running one, which may belong to a check or test running right now.
 */
export function removeStaleContainers(maxAgeMinutes = 30): number {
  const r = spawnSync(
    "docker",
    ["ps", "-a", "--filter", "label=org.danelab.client", "--format", "{{.ID}}\t{{.State}}\t{{.CreatedAt}}"],
    { encoding: "utf8" },
  );
  const stale = (r.stdout ?? "")
    .split("\n")
    .filter(Boolean)
    .map((line) => line.split("\t"))
    .filter(([, state, created]) => {
      // CreatedAt: "2026-11-29 05:28:04 +0000 UTC"
      const t = Date.parse((created ?? "").replace(/ ([+-]\d{4}) \w+$/, "$1").replace(" ", "T"));
      return state !== "running" || !Number.isFinite(t) || Date.now() - t > maxAgeMinutes * 60_000;
    })
    .map(([id]) => id!);
  if (stale.length > 0) spawnSync("docker", ["rm", "-f", ...stale], { encoding: "utf8" });
  return stale.length;
}

/**
 * The first container start of a process runs alone. testcontainers takes a file lock (proper-lockfile, 10 s
 * staleness) while it sets up its per-process state; two first starts at once on a loaded machine (the classroom's two
 * Postfix columns) can each find the other's lock stale, and the loser's lock update then throws ECOMPROMISED as an
 * uncaught exception. Later starts find that state cached and take no lock, so they run in parallel.
 */
let firstStart: Promise<unknown> | null = null;
async function startAlone<T>(start: () => Promise<T>): Promise<T> {
  if (!firstStart) {
    const p = start();
    firstStart = p;
    return p;
  }
  await firstStart.catch(() => {});
  return start();
}

export async function startClientContainer(spec: ClientContainerSpec): Promise<ClientContainer> {
  configureTestcontainers();
  checkEngine();
  checkImage(spec.image);
  const { GenericContainer, Wait } = await import("testcontainers");
  mkdirSync(spec.hostDir, { recursive: true, mode: 0o755 });
  const resolvPath = join(spec.hostDir, "resolv.conf");
  writeFileSync(resolvPath, spec.resolvConf, { mode: 0o644 });

  let started: StartedTestContainer;
  try {
    let container = new GenericContainer(spec.image)
      .withNetworkMode("host")
      .withLabels({ "org.danelab.client": spec.label })
      .withBindMounts([
        { source: resolvPath, target: "/etc/resolv.conf", mode: "ro" },
        ...(spec.mounts ?? []).map((m) => ({ ...m, mode: "ro" as const })),
      ])
      .withCopyContentToContainer(
        spec.files.map((f) => ({ content: f.content, target: f.target, mode: f.mode ?? 0o644 })),
      )
      .withWaitStrategy(Wait.forSuccessfulCommand(spec.readyCommand))
      .withStartupTimeout(spec.startupTimeoutMs ?? 30_000);
    if (spec.entrypoint) container = container.withEntrypoint(spec.entrypoint);
    if (spec.command) container = container.withCommand(spec.command);
    started = await startAlone(() => container.start());
  } catch (err) {
    throw new ContainerError(
      `The ${spec.label} container (${spec.image}) did not become ready (${(err as Error).message.split("\n")[0]}). ` +
        `Its readiness check was \`${spec.readyCommand}\`; \`docker logs\` of the container shows why.`,
    );
  }

  const exec = async (command: string[]): Promise<ExecOutput> => {
    const r = await started.exec(command);
    return { exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr };
  };
  return {
    id: started.getId(),
    label: spec.label,
    exec,
    sh: (script, ...args) => exec(["sh", "-c", script, "sh", ...args]),
    readFile: async (path) => {
      const r = await exec(["cat", path]);
      return r.exitCode === 0 ? r.stdout : "";
    },
    stop: async () => {
      await started.stop({ timeout: 1, remove: true }).catch(() => {});
    },
  };
}

/**
 * The one container of a driver's column, as every driver holds it: started with the lab's resolv.conf and a host
 * directory named after the column (its label), reached through `need()` — an error before start() — and stopped.
 */
export class DriverContainer {
  private container: ClientContainer | null = null;

  constructor(
    readonly variant: string,
    private readonly lab: { workDir: string; nameserver: string },
  ) {}

  async start(spec: Omit<ClientContainerSpec, "label" | "hostDir" | "resolvConf">): Promise<ClientContainer> {
    this.container = await startClientContainer({
      ...spec,
      label: this.variant,
      hostDir: join(this.lab.workDir, this.variant.replace(/[^A-Za-z0-9._-]/g, "_")),
      resolvConf: resolvConfFor(this.lab.nameserver),
    });
    return this.container;
  }

  need(): ClientContainer {
    if (!this.container) throw new Error(`${this.variant}: start() first`);
    return this.container;
  }

  async stop(): Promise<void> {
    await this.container?.stop();
    this.container = null;
  }
}
