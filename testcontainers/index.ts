// `danelab/testcontainers`: the lab as a testcontainers module, for users' integration tests of their own MTA.
//
// Shaped like testcontainers-node's own modules (@testcontainers/postgresql & co.): `DanelabContainer` extends
// `GenericContainer` (image optional, `with…` builders returning `this`), and `start()` resolves to a
// `StartedDanelabContainer` (an `AbstractStartedContainer` with getters and `stop()`).
//
// The container runs the lab image (`npm run image` builds localhost/danelab:latest) with host networking: every MX
// host needs its own loopback address, which a port mapping cannot give. The lab's state directory is a host
// directory bind-mounted at /state, so the manifest, the trust anchors and the resolv.conf an MTA container must
// bind-mount are plain host files. Errors say what to do: a missing image names the build command; a lab that exits
// before "danelab ready" (a port already taken, a bad scenario file) passes on its own message and last log lines.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Readable } from "node:stream";
import {
  AbstractStartedContainer,
  GenericContainer,
  getContainerRuntimeClient,
  ImageName,
  type StartedTestContainer,
  Wait,
} from "testcontainers";
import type { ScenarioGrade, Verdict } from "../lab/grade/index.js";
import type { Manifest } from "../lab/manifest.js";
import { withoutTrailingDot } from "../zones/names.js";

export type { ScenarioGrade, Verdict } from "../lab/grade/index.js";
export type { Manifest, ManifestScenario } from "../lab/manifest.js";

export const DANELAB_IMAGE = "localhost/danelab:latest";
/** Where the lab's state directory is mounted inside the container. */
const STATE = "/state";
const READY = /^danelab ready:/m;
/** Log lines kept for an error message. */
const TAIL = 25;

/** The lab container could not be started: one paragraph with the cause and the fix (plus its last log lines). */
export class DanelabContainerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DanelabContainerError";
  }
}

/** The report of one run, as `danelab report --format json` prints it. */
export interface DanelabReport {
  run: string | null;
  generated: string;
  summary: Record<Verdict, number> & { total: number };
  grades: ScenarioGrade[];
}

export class DanelabContainer extends GenericContainer {
  private readonly image: string;
  private readonly upArgs = new Map<string, string>();
  private stateDir: string | null = null;
  private scenariosDir: string | null = null;

  constructor(image = DANELAB_IMAGE) {
    super(image);
    this.image = image;
    this.withNetworkMode("host")
      .withWaitStrategy(Wait.forLogMessage(READY))
      .withStartupTimeout(120_000)
      .withLabels({ "org.danelab.lab": "1" });
  }

  /** Only these scenarios (`up --only`). */
  public withOnly(ids: readonly string[]): this {
    this.upArgs.set("--only", ids.join(","));
    return this;
  }

  /** Only the scenarios of these groups (`up --group`). */
  public withGroups(groups: readonly string[]): this {
    this.upArgs.set("--group", groups.join(","));
    return this;
  }

  /** A host directory of scenario files (*.yaml) added to the built-in catalogue; mounted read-only. */
  public withScenarios(dir: string): this {
    this.scenariosDir = resolve(dir);
    return this;
  }

  /** The host directory for the lab's state (keys, zones, manifest, events, mail); default: a new temporary one. */
  public withStateDir(dir: string): this {
    this.stateDir = resolve(dir);
    return this;
  }

  /** The DNS suffix of every scenario zone (default lab.example). */
  public withSuffix(suffix: string): this {
    this.upArgs.set("--suffix", suffix);
    return this;
  }

  /** Loopback address of the lab's DNS, port 53 (default 127.0.53.1). */
  public withDnsAddress(address: string): this {
    this.upArgs.set("--dns-address", address);
    return this;
  }

  /** First SMTP listener address; each MX host takes the next one, port 25 (default 127.0.25.1). */
  public withSmtpAddress(address: string): this {
    this.upArgs.set("--smtp-address", address);
    return this;
  }

  /** Address and port of the lab's HTTP API (default 127.0.0.1:8025). */
  public withHttpAddress(address: string, port = 8025): this {
    this.upArgs.set("--http-address", address);
    this.upArgs.set("--http-port", String(port));
    return this;
  }

  public override async start(): Promise<StartedDanelabContainer> {
    const client = await getContainerRuntimeClient();
    if (!(await client.image.exists(ImageName.fromString(this.image)))) {
      throw new DanelabContainerError(
        `The lab image ${this.image} is not in the local Docker engine. It is built from a danelab checkout, not ` +
          "pulled: run `npm run image` there (it builds localhost/danelab:latest from Debian packages in about two " +
          "minutes the first time, seconds when nothing changed), or `docker load` an image saved elsewhere.",
      );
    }
    const stateDir = this.stateDir ?? mkdtempSync(join(tmpdir(), "danelab-state-"));
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    const args = ["up", "--state-dir", STATE];
    for (const [flag, value] of this.upArgs) args.push(flag, value);
    const mounts: { source: string; target: string; mode: "rw" | "ro" }[] = [
      { source: stateDir, target: STATE, mode: "rw" },
    ];
    if (this.scenariosDir) {
      mounts.push({ source: this.scenariosDir, target: "/scenarios", mode: "ro" });
      args.push("--scenarios", "/scenarios");
    }
    this.withCommand(args).withBindMounts(mounts);

    const tail: string[] = [];
    let logEnded: Promise<void> = Promise.resolve();
    this.withLogConsumer((stream: Readable) => {
      let partial = "";
      stream.setEncoding("utf8");
      stream.on("data", (chunk: string) => {
        const lines = (partial + chunk).split("\n");
        partial = lines.pop() ?? "";
        for (const line of lines) tail.push(line);
        tail.splice(0, Math.max(0, tail.length - TAIL));
      });
      logEnded = new Promise((done) => {
        stream.on("end", () => {
          if (partial) tail.push(partial);
          done();
        });
        stream.on("error", () => done());
      });
    });

    let started: StartedTestContainer;
    try {
      started = await super.start();
    } catch (err) {
      // The log stream may still be delivering the lab's last words (its error paragraph) when the wait fails.
      await Promise.race([logEnded, new Promise((r) => setTimeout(r, 2_000))]);
      const why = (err as Error).message.split("\n")[0] ?? "";
      const exited = /Log stream ended/.test(why);
      // The CLI's last word before exiting is its one-paragraph error, from its last "danelab: " line to the end.
      const at = tail.findLastIndex((l) => l.startsWith("danelab: "));
      const paragraph =
        exited && at >= 0
          ? tail
              .slice(at)
              .join("\n")
              .replace(/^danelab: /, "")
              .trim()
          : "";
      const before = paragraph ? tail.slice(0, at) : tail;
      throw new DanelabContainerError(
        `${
          exited
            ? `The lab container (${this.image}) exited before it was ready${paragraph ? `:\n${paragraph}\n` : ". "}`
            : `The lab container (${this.image}) was not ready in time (${why}). `
        }Its command was \`danelab ${args.join(" ")}\`, its state directory ${stateDir}.${
          before.length
            ? ` ${paragraph ? "The log lines before that" : "Its last log lines"}:\n${before.map((l) => `  | ${l}`).join("\n")}`
            : ""
        }`,
      );
    }
    return new StartedDanelabContainer(started, stateDir, this.stateDir === null);
  }
}

export class StartedDanelabContainer extends AbstractStartedContainer {
  private readonly manifest: Manifest;

  constructor(
    startedTestContainer: StartedTestContainer,
    private readonly stateDir: string,
    private readonly temporary: boolean,
  ) {
    super(startedTestContainer);
    this.manifest = JSON.parse(readFileSync(join(stateDir, "manifest.json"), "utf8")) as Manifest;
    // RFC 6840 §5.7: a stub only trusts AD from a resolver it trusts; glibc passes it on with `trust-ad` only.
    mkdirSync(join(stateDir, "mta"), { recursive: true, mode: 0o755 });
    writeFileSync(
      this.getResolvConfPath(),
      `# the lab's DNS (danelab/testcontainers): bind-mount read-only at /etc/resolv.conf\nnameserver ${this.manifest.dns.address}\noptions trust-ad edns0 timeout:2 attempts:2\n`,
      { mode: 0o644 },
    );
  }

  /** A state directory the module made up is removed with the container; one given by `withStateDir` is kept. */
  protected override async containerStopped(): Promise<void> {
    if (this.temporary) rmSync(this.stateDir, { recursive: true, force: true });
  }

  /** The lab's manifest: scenarios (domains, recipients, MX hosts, TLSA records), DNS address, trust anchors. */
  public getManifest(): Manifest {
    return this.manifest;
  }

  /** Host directory mounted at /state in the lab container. */
  public getStateDir(): string {
    return this.stateDir;
  }

  /** A resolv.conf (`nameserver <lab DNS>`, `options trust-ad edns0`) to bind-mount at an MTA's /etc/resolv.conf. */
  public getResolvConfPath(): string {
    return join(this.stateDir, "mta", "resolv.conf");
  }

  /** The lab root's DS records (unbound `trust-anchor-file` format), for an MTA that runs its own validator. */
  public getTrustAnchorsPath(): string {
    return join(this.stateDir, "trust-anchors.txt");
  }

  /** The same anchors as a BIND/delv `trust-anchors { … };` clause. */
  public getBindTrustAnchorsPath(): string {
    return join(this.stateDir, "trust-anchors.conf");
  }

  /** The lab's HTTP API (`http://127.0.0.1:8025` by default), or null when started without it. */
  public getApiUrl(): string | null {
    return this.manifest.http?.url ?? null;
  }

  /** The recipient address for scenario `id` in run `run` (`run-<run>@<domain>`), as the grader reads it. */
  public getRecipient(id: string, run: string): string {
    const scenario = this.manifest.scenarios.find((s) => s.id === id);
    if (!scenario) throw new DanelabContainerError(`This lab has no scenario ${id}; it serves ${this.ids()}.`);
    return `run-${run}@${withoutTrailingDot(scenario.domain)}`;
  }

  /** The graded verdicts of one run (or of everything, without `run`), from `danelab report --format json`. */
  public async report(run?: string): Promise<DanelabReport> {
    return JSON.parse(await this.reportAs("json", run)) as DanelabReport;
  }

  /** The report in another format: `junit` for a CI's test view, `table` or `markdown` for people. */
  public async reportAs(format: "json" | "junit" | "table" | "markdown", run?: string): Promise<string> {
    const r = await this.exec([
      "node",
      "/opt/danelab/bin/danelab.js",
      "report",
      "--state-dir",
      STATE,
      "--format",
      format,
      ...(run ? ["--run", run] : []),
    ]);
    // Exit status 1 only says that a scenario failed; the report is on stdout all the same.
    if (r.exitCode > 1 || !r.stdout.trim()) {
      throw new DanelabContainerError(`\`danelab report\` failed in the lab container: ${r.stderr.trim() || r.output}`);
    }
    return r.stdout;
  }

  private ids(): string {
    return this.manifest.scenarios.map((s) => s.id).join(", ");
  }
}
