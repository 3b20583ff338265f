#!/usr/bin/env node
// `npm run test:fresh-host`: does a fresh Debian machine pass? For Debian 12 (bookworm) and 13 (trixie) it starts a
// container of a bare minbase installation (debootstrap + `docker import`, cached by a hash of its recipe), runs the
// package step of scripts/setup-host.sh there with the repository mounted read-only, and then the doctor's tool checks
// (`danelab doctor --tools-only`, this host's node binary mounted in), so the list in scripts/host.packages is proven
// to make every tool *work* on both releases.
//
// It also proves that it would notice a missing package: the first package step runs with a copy of the list that
// leaves out libnet-ssleay-perl, and the doctor must then fail swaks STARTTLS and nothing else. The second package
// step, with the real list, must install exactly that package, the doctor must pass every check, and a third run
// must find nothing to do. Downloaded .debs are kept per release under /var/cache/danelab/fresh-host (root only), so
// a second run does not download them again. Closing line: "fresh-host: bookworm ok, trixie ok"; exit 1 otherwise.
//
//   node dist/scripts/fresh-host/run.js [--release bookworm|trixie]... [--keep]
import { spawn } from "node:child_process";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import {
  baseImageTag,
  closingLine,
  DROPPED_PACKAGE,
  hostMirrors,
  judgeComplete,
  judgeWithoutDropped,
  type Mirrors,
  parseDoctor,
  RELEASES,
  type Release,
  type ReleaseOutcome,
  sourcesList,
  withoutPackage,
} from "./plan.js";

const repo = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
const CACHE = "/var/cache/danelab/fresh-host";
const LABEL = "org.danelab.fresh-host";
/** What baseImage() builds; part of the image tag, so change it whenever baseImage() changes what it produces. */
const RECIPE =
  "minbase/1: debootstrap --variant=minbase; sources.list: release, -updates, -security; no .debs; no lists";

const USAGE = `usage: npm run test:fresh-host [-- --release bookworm|trixie ... --keep]
Runs the package step of scripts/setup-host.sh and \`danelab doctor --tools-only\` in fresh minbase containers of
Debian 12 (bookworm) and 13 (trixie); fails when scripts/host.packages does not make every tool work there.
  --release R   only this release (repeatable; default: ${RELEASES.join(", ")})
  --keep        leave the containers running for a look inside (docker exec -it <name> bash)`;

class StepError extends Error {}

/** Base image build directories in use, removed on Ctrl-C too. */
const workDirs = new Set<string>();

interface Ran {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command without a shell; output is collected, stdin is `input` (or nothing). */
function run(argv: string[], opts: { input?: string | Buffer; timeoutMs?: number } = {}): Promise<Ran> {
  return new Promise((done, fail) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ["pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => err.push(b));
    const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 120_000);
    child.on("error", (e) => {
      clearTimeout(timer);
      fail(new StepError(`${argv[0]} could not run: ${e.message}`));
    });
    child.on("close", (status) => {
      clearTimeout(timer);
      done({ status, stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(err).toString("utf8") });
    });
    child.stdin.end(opts.input ?? "");
  });
}

const tail = (text: string, n = 15) => text.trimEnd().split("\n").slice(-n).join("\n");
const seconds = (t0: number) => `${((performance.now() - t0) / 1000).toFixed(1)} s`;
const say = (line: string) => process.stdout.write(`fresh-host: ${line}\n`);

/** One timed step; its line says what it did and how long it took. */
async function step<T>(release: Release, what: string, body: () => Promise<{ value: T; note?: string }>): Promise<T> {
  const t0 = performance.now();
  const { value, note } = await body();
  say(`${release}: ${what}${note ? `: ${note}` : ""} (${seconds(t0)})`);
  return value;
}

/** The bare minbase image of a release, built once per recipe with debootstrap + `docker import`. */
async function baseImage(release: Release, mirrors: Mirrors): Promise<{ value: string; note: string }> {
  const tag = baseImageTag(release, RECIPE, mirrors);
  if ((await run(["docker", "image", "inspect", tag])).status === 0) return { value: tag, note: `${tag} cached` };
  const work = mkdtempSync("/var/tmp/danelab-fresh-");
  workDirs.add(work);
  try {
    chmodSync(work, 0o755); // package scripts in the chroot need a 0755 root (a mktemp directory is 0700)
    const root = join(work, "root");
    mkdirSync(root, { mode: 0o755 });
    const boot = await run(["debootstrap", "--variant=minbase", release, root, mirrors.archive], {
      timeoutMs: 900_000,
    });
    if (boot.status !== 0) {
      throw new StepError(
        `debootstrap of ${release} from ${mirrors.archive} failed (check that apt-get update works here):\n${tail(boot.stdout + boot.stderr)}`,
      );
    }
    writeFileSync(join(root, "etc/apt/sources.list"), sourcesList(release, mirrors));
    // A fresh machine: no downloaded .debs, no package lists (setup-host.sh must run apt-get update itself).
    rmSync(join(root, "var/cache/apt/archives"), { recursive: true, force: true });
    mkdirSync(join(root, "var/cache/apt/archives/partial"), { recursive: true });
    rmSync(join(root, "var/lib/apt/lists"), { recursive: true, force: true });
    mkdirSync(join(root, "var/lib/apt/lists/partial"), { recursive: true });
    const tar = spawn("tar", ["-C", root, "--numeric-owner", "-c", "."], { stdio: ["ignore", "pipe", "inherit"] });
    const imported = await new Promise<Ran>((done) => {
      const child = spawn(
        "docker",
        [
          "import",
          "--change",
          'CMD ["/bin/bash"]',
          "--change",
          "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
          "--change",
          `LABEL ${LABEL}=base org.danelab.suite=${release}`,
          "-",
          tag,
        ],
        { stdio: [tar.stdout, "pipe", "pipe"] },
      );
      let stderr = "";
      child.stderr.on("data", (b: Buffer) => {
        stderr += b.toString();
      });
      child.on("close", (status) => done({ status, stdout: "", stderr }));
    });
    if (imported.status !== 0) throw new StepError(`docker import of ${release} failed: ${tail(imported.stderr)}`);
    // Older recipes' images of this release are no longer used.
    const old = await run([
      "docker",
      "image",
      "ls",
      "--format",
      "{{.Repository}}:{{.Tag}}",
      `localhost/danelab-fresh-${release}`,
    ]);
    const stale = old.stdout.split("\n").filter((t) => t && t !== tag);
    if (stale.length) await run(["docker", "image", "rm", ...stale]);
    return { value: tag, note: `${tag} built` };
  } finally {
    rmSync(work, { recursive: true, force: true });
    workDirs.delete(work);
  }
}

async function inContainer(name: string, argv: string[], input?: string, timeoutMs = 1_800_000): Promise<Ran> {
  return run(["docker", "exec", ...(input === undefined ? [] : ["-i"]), name, ...argv], { input, timeoutMs });
}

const SETUP = ["bash", "/danelab/scripts/setup-host.sh", "--packages-only"];
const DOCTOR = ["node", "/danelab/dist/cli/main.js", "doctor", "--tools-only", "--json"];

async function checkRelease(release: Release, mirrors: Mirrors, keep: boolean): Promise<ReleaseOutcome> {
  const name = `danelab-fresh-${release}-${process.pid}`;
  let started = false;
  try {
    const image = await step(release, "base image", () => baseImage(release, mirrors));
    // The .debs this release downloaded before: kept by apt-get (it does not clean its archive) between runs.
    const archives = join(CACHE, release, "archives");
    mkdirSync(archives, { recursive: true });
    chmodSync(CACHE, 0o700);
    await step(release, "container", async () => {
      // biome-ignore format: one docker option and its value per pair
      const r = await run([
        "docker", "run", "-d", "--rm", "--network", "host", "--label", `${LABEL}=run`, "--name", name,
        "-v", `${repo}:/danelab:ro`,
        "-v", `${realpathSync(process.execPath)}:/usr/local/bin/node:ro`,
        "-v", `${archives}:/var/cache/apt/archives`,
        image, "sleep", "infinity",
      ]);
      if (r.status !== 0) throw new StepError(`docker run failed: ${tail(r.stderr)}`);
      started = true;
      // apt downloads as the user _apt; the cache directory comes from the host.
      await inContainer(name, [
        "sh",
        "-c",
        "mkdir -p /var/cache/apt/archives/partial && chown _apt /var/cache/apt/archives/partial || true",
      ]);
      return { value: undefined, note: name };
    });

    const listPath = "/tmp/host.packages.without";
    const reduced = withoutPackage(readFileSync(join(repo, "scripts/host.packages"), "utf8"), DROPPED_PACKAGE);
    await inContainer(name, ["sh", "-c", `cat > ${listPath}`], reduced);
    await step(release, `package step without ${DROPPED_PACKAGE}`, async () => {
      const r = await inContainer(name, [...SETUP, "--quiet", "--packages-file", listPath]);
      if (r.status !== 0) throw new StepError(`setup-host.sh --packages-only failed:\n${tail(r.stdout + r.stderr)}`);
      return { value: undefined, note: `installed ${countInstalled(r.stderr)} packages and their dependencies` };
    });
    await step(release, "doctor must fail swaks STARTTLS", async () => {
      const r = await inContainer(name, DOCTOR);
      const why = r.status === 1 ? judgeWithoutDropped(parseDoctor(r.stdout)) : `the doctor exited ${r.status}, not 1`;
      if (why) throw new StepError(`proof failed: ${why}\n${tail(r.stderr)}`);
      return { value: undefined, note: "it did, and nothing else" };
    });
    await step(release, "package step with the full list", async () => {
      const r = await inContainer(name, [...SETUP, "--quiet"]);
      if (r.status !== 0) throw new StepError(`setup-host.sh --packages-only failed:\n${tail(r.stdout + r.stderr)}`);
      if (!r.stderr.includes(`installing 1 Debian package(s): ${DROPPED_PACKAGE}:`)) {
        throw new StepError(`expected it to install exactly ${DROPPED_PACKAGE}; it said:\n${tail(r.stderr)}`);
      }
      return { value: undefined, note: `installed ${DROPPED_PACKAGE}` };
    });
    const checks = await step(release, "doctor --tools-only", async () => {
      const r = await inContainer(name, DOCTOR);
      const checks = parseDoctor(r.stdout);
      const why = judgeComplete(checks);
      if (why || r.status !== 0)
        throw new StepError(`the doctor failed on a fresh ${release}: ${why ?? `exit ${r.status}`}`);
      return { value: checks, note: `${checks.length} checks ok` };
    });
    say(`${release}: ${checks.map((c) => `${c.name} ${c.detail}`).join("; ")}`);
    await step(release, "package step again", async () => {
      const r = await inContainer(name, SETUP);
      if (r.status !== 0 || /installing/.test(r.stderr) || !/packages: all \d+ installed/.test(r.stderr)) {
        throw new StepError(`a second run was not a quiet no-op (exit ${r.status}):\n${tail(r.stderr)}`);
      }
      return { value: undefined, note: "nothing to do" };
    });
    // The .deb cache keeps only what the archive still serves, so it does not grow with every point release.
    await inContainer(name, ["apt-get", "-qq", "autoclean"]);
    return { release, failure: null };
  } catch (err) {
    // A step's failure (StepError), or output the steps could not read (the doctor printed no JSON): this release
    // fails with the reason, and the other release still runs to its end.
    const message = (err instanceof Error ? err.message : String(err)).trimEnd();
    say(`${release}: FAIL: ${message}`);
    return { release, failure: message.split("\n")[0]! };
  } finally {
    if (started && !keep) await run(["docker", "rm", "-f", name]);
    if (started && keep) say(`${release}: container ${name} kept (docker rm -f ${name} removes it)`);
  }
}

/** "installing 31 Debian package(s): …" from setup-host.sh's change lines. */
function countInstalled(stderr: string): string {
  return /installing (\d+) Debian package/.exec(stderr)?.[1] ?? "0";
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  if (args.includes("-h") || args.includes("--help")) {
    console.log(USAGE);
    return 0;
  }
  const releases: Release[] = [];
  let keep = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === "--keep") keep = true;
    else if (a === "--release" && (RELEASES as readonly string[]).includes(args[i + 1] ?? ""))
      releases.push(args[++i] as Release);
    else if (a === "--release") {
      console.error(`fresh-host: --release takes ${RELEASES.join(" or ")}, not '${args[i + 1] ?? ""}'`);
      return 2;
    } else {
      console.error(`fresh-host: unknown argument '${a}'\n${USAGE}`);
      return 2;
    }
  }
  const preflight = [
    [
      process.getuid?.() === 0,
      "must run as root (it builds images with debootstrap and starts containers): sudo npm run test:fresh-host",
    ],
    [
      (await run(["docker", "info"]).catch(() => ({ status: 1 }))).status === 0,
      "the Docker engine is not reachable: sudo bash scripts/setup-host.sh --no-images starts it",
    ],
    [
      (await run(["debootstrap", "--version"]).catch(() => ({ status: 1 }))).status === 0,
      "debootstrap is missing: apt-get install debootstrap",
    ],
    [existsSync(join(repo, "dist/cli/main.js")), "the lab is not built: npm run build"],
  ] as const;
  for (const [ok, why] of preflight) {
    if (!ok) {
      console.error(`fresh-host: ${why}`);
      return 1;
    }
  }
  const read = (p: string) => (existsSync(p) ? readFileSync(p, "utf8") : null);
  const mirrors = hostMirrors(read("/etc/apt/sources.list.d/debian.sources"), read("/etc/apt/sources.list"));
  const t0 = performance.now();
  // The releases run side by side: each step is mostly dpkg unpacking, and two of them share 2 cores better than one.
  const outcomes: ReleaseOutcome[] = await Promise.all(
    (releases.length ? releases : RELEASES).map((release) => checkRelease(release, mirrors, keep)),
  );
  say(`done in ${seconds(t0)}`);
  console.log(closingLine(outcomes));
  return outcomes.some((o) => o.failure) ? 1 : 0;
}

// Ctrl-C: remove this run's containers and build directories before leaving.
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    for (const dir of workDirs) rmSync(dir, { recursive: true, force: true });
    const names = RELEASES.map((r) => `danelab-fresh-${r}-${process.pid}`);
    spawn("docker", ["rm", "-f", ...names], { stdio: "ignore" }).on("close", () => process.exit(130));
  });
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`fresh-host: internal error: ${(err as Error)?.stack ?? err}`);
    console.log("fresh-host: FAIL (internal error)");
    process.exit(1);
  },
);
