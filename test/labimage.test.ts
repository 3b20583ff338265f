// The lab as a container image for users' CI (issue 18): `scripts/images/build-lab.sh` builds localhost/danelab
// (cached by the hash of its inputs), the testcontainers module `danelab/testcontainers` starts it, and both examples
// run exactly as written in examples/ — a vitest file with a Postfix container and a plain shell CI job — against it.
// Also the module's failure paths: a missing image names the build command, a lab that exits before it is ready
// passes on its last log lines, and a port already taken on the host reaches the caller as the lab's own paragraph.
// Needs root (ports 25/53), the Docker engine, debootstrap and the Postfix image: `sudo bash scripts/setup-host.sh`.
// Loopback addresses of this file: 127.0.88.0/24 (vitest example .53/.100+/.1, shell example .54/.110+/.2,
// failure paths .60/.120+/.3).
import { spawnSync } from "node:child_process";
import { createSocket, type Socket } from "node:dgram";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { run } from "./run.js";

const POSTFIX = "localhost/danelab-postfix:latest";
const ready =
  process.getuid?.() === 0 &&
  spawnSync("docker", ["image", "inspect", POSTFIX]).status === 0 &&
  spawnSync("debootstrap", ["--version"]).status === 0;

// What a CI job on this machine sets for testcontainers (no Ryuk image to pull; /.dockerenv is present).
const CONTAINER_ENV = { TESTCONTAINERS_RYUK_DISABLED: "true", TESTCONTAINERS_HOST_OVERRIDE: "127.0.0.1" };

describe.runIf(!ready && process.env["DANELAB_REQUIRE_CLIENTS"] === "1")("lab image prerequisites", () => {
  it("has root, a running Docker engine, debootstrap and the Postfix image", () => {
    expect.fail(
      `the lab image test needs root, a running Docker engine, debootstrap and ${POSTFIX}: run ` +
        "'sudo bash scripts/setup-host.sh' (it installs and builds them).",
    );
  });
});

describe.skipIf(!ready)("the lab as an image, its testcontainers module and the CI examples", () => {
  let tag = "";
  let work: string;
  /** Image builds, containers and the examples take minutes, not the usual 20 s. */
  const LONG = { timeoutMs: 240_000 };

  beforeAll(async () => {
    Object.assign(process.env, CONTAINER_ENV);
    work = mkdtempSync(join(tmpdir(), "danelab-labimage-"));
    // Built from nothing: about 2.5 minutes (debootstrap of the base); the base cached: seconds; all cached: <1 s.
    const r = await run("bash", ["scripts/images/build-lab.sh"], { timeoutMs: 600_000 });
    expect(r.code, r.stderr).toBe(0);
    tag = r.stdout.trim().split(" ")[0] ?? "";
    expect(tag).toMatch(/^localhost\/danelab:[0-9a-f]{12}$/);
  }, 600_000);

  afterAll(() => {
    spawnSync("sh", ["-c", "docker rm -f $(docker ps -aq --filter label=org.danelab.lab) 2>/dev/null"]);
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it("is cached by its inputs and holds the lab with production dependencies only", async () => {
    const again = await run("bash", ["scripts/images/build-lab.sh"], LONG);
    expect(again.stdout.trim()).toBe(`${tag} present`);
    const ids = await run("docker", ["image", "inspect", "--format", "{{.Id}}", tag, "localhost/danelab:latest"], LONG);
    const [a, b] = ids.stdout.trim().split("\n");
    expect(a).toBe(b);
    const inside = await run(
      "docker",
      [
        "run",
        "--rm",
        "--network",
        "none",
        "--entrypoint",
        "sh",
        tag,
        "-c",
        "node --version; ls /opt/danelab/node_modules",
      ],
      LONG,
    );
    expect(inside.code, inside.stderr).toBe(0);
    const [version, ...modules] = inside.stdout.trim().split("\n");
    expect(Number(/^v(\d+)\./.exec(version ?? "")?.[1])).toBeGreaterThanOrEqual(20);
    expect(modules).toEqual(expect.arrayContaining(["smtp-server", "dns-packet", "yaml", "zod"]));
    for (const dev of ["typescript", "vitest", "vite", "testcontainers", "@biomejs"])
      expect(modules).not.toContain(dev);
    const help = await run("docker", ["run", "--rm", "--network", "none", tag, "report", "--help"], LONG);
    expect(help.stdout).toMatch(/--format <f>/);
  });

  it("examples/vitest-postfix: Postfix with the user's main.cf delivers with DANE to ta-baseline, not to ee-mismatch", async () => {
    const r = await run("npx", ["vitest", "run", "--root", "examples/vitest-postfix"], {
      ...LONG,
      env: {
        ...CONTAINER_ENV,
        NO_COLOR: "1",
        LAB_DNS_ADDRESS: "127.0.88.53",
        LAB_SMTP_ADDRESS: "127.0.88.100",
        LAB_HTTP_ADDRESS: "127.0.88.1",
      },
    });
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toMatch(/Tests\s+1 passed \(1\)/);
    expect(r.stdout).toMatch(/delivers with DANE where it must/);
  });

  it("examples/shell-ci: docker run + curl + danelab report --format junit > report.xml", async () => {
    const report = join(work, "report.xml");
    const r = await run("bash", ["examples/shell-ci/ci.sh"], {
      ...LONG,
      env: {
        LAB_DNS_ADDRESS: "127.0.88.54",
        LAB_SMTP_ADDRESS: "127.0.88.110",
        LAB_HTTP_ADDRESS: "127.0.88.2",
        REPORT: report,
      },
    });
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    const xml = readFileSync(report, "utf8");
    expect(xml).toMatch(/<testsuites name="danelab run ci1" tests="3" failures="0" errors="0" skipped="0">/);
    expect(xml).toMatch(/name="ta-baseline">\s*<system-out>expect: deliver\nverdict: pass\nreason: delivered over TLS/);
    expect(xml).toMatch(/name="ee-mismatch">\s*<system-out>expect: no-delivery\nverdict: pass\nreason: connected/);
  });

  describe("DanelabContainer failure paths", () => {
    // A lab that never got ready keeps its state directory for inspection: here one under `work`, removed afterwards.
    const addresses = (c: import("../testcontainers/index.js").DanelabContainer) =>
      c
        .withDnsAddress("127.0.88.60")
        .withSmtpAddress("127.0.88.120")
        .withHttpAddress("127.0.88.3")
        .withStateDir(mkdtempSync(join(work, "state-")));

    it("a missing image: the message names the build command", async () => {
      const { DanelabContainer } = await import("../testcontainers/index.js");
      await expect(new DanelabContainer("localhost/danelab-missing:none").start()).rejects.toThrow(
        /localhost\/danelab-missing:none is not in the local Docker engine.*run `npm run image`/,
      );
    });

    it("a lab that exits before it is ready: its error and last log lines are in the message", async () => {
      const { DanelabContainer } = await import("../testcontainers/index.js");
      const scenarios = join(work, "bad-scenarios");
      mkdirSync(scenarios, { recursive: true });
      writeFileSync(join(scenarios, "broken.yaml"), "id: broken\ntitle: [unclosed\n");
      const started = Date.now();
      const err = await addresses(new DanelabContainer(tag).withOnly(["ta-baseline"]).withScenarios(scenarios))
        .start()
        .then(
          () => null,
          (e: Error) => e,
        );
      expect(err?.name).toBe("DanelabContainerError");
      // The lab's own paragraph (the cause, the file and line, the fix), then the command and the state directory.
      expect(err?.message).toMatch(
        /^The lab container \(localhost\/danelab:\w+\) exited before it was ready:\nThe scenario catalogue has 1 problem:\n.*\/scenarios\/broken\.yaml:3: YAML syntax: .*\nFix the file.*\nIts command was/,
      );
      expect(err?.message).toMatch(
        /Its command was `danelab up --state-dir \/state --only ta-baseline .*--scenarios \/scenarios`/,
      );
      expect(Date.now() - started).toBeLessThan(30_000); // the exit is noticed, not waited out
    });

    it("ports taken on the host: the lab's own one-paragraph error reaches the caller", async () => {
      const { DanelabContainer } = await import("../testcontainers/index.js");
      const udp: Socket = createSocket("udp4");
      await new Promise<void>((ok, fail) => udp.once("error", fail).bind(53, "127.0.88.60", ok));
      const tcp: Server = createServer();
      await new Promise<void>((ok, fail) => tcp.once("error", fail).listen(53, "127.0.88.60", ok));
      try {
        const err = await addresses(new DanelabContainer(tag).withOnly(["ta-baseline"]))
          .start()
          .then(
            () => null,
            (e: Error) => e,
          );
        expect(err?.message).toMatch(/exited before it was ready:\n.*127\.0\.88\.60.*53/);
        // The lab's paragraph is one line in the log and is not a stack trace.
        expect(err?.message).not.toMatch(/\n\s+at /);
      } finally {
        udp.close();
        await new Promise((r) => tcp.close(r));
      }
    });
  });
});
