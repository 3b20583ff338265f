// `danelab instructions` on stock Debian MTAs, as installed: the Exim image is exim4-daemon-light with its default
// 'local' configuration, the Postfix image postfix with Debian's "Internet Site" default (scripts/images/*.packages).
// The test does what the printed steps say and nothing else: it runs the real CLI against the image's own files
// (--root), applies the written tree with `cp -a DIR/. /` inside the image, runs the printed apply commands, hands
// the messages to the MTA's own sendmail with `danelab send`, follows them with `danelab watch` (flushing the queue
// with the command watch names), and expects ta-baseline and seed-mx06 (greylisted twice first) delivered with DANE — Exim's `CV=dane`, Postfix's "Verified TLS connection" — and
// graded pass by the lab.
// The only harness steps, each because of the container and not of the MTA: Postfix gets `maillog_file` (the image
// has no syslog daemon to read), and the init script starts it (no systemd).
// Needs root (ports 25/53), the Docker engine and the client images (scripts/setup-host.sh).
// Loopback addresses of this file: DNS 127.0.85.53, HTTP 127.0.85.80, SMTP from 127.0.85.10.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Lab, startLab } from "../lab/index.js";
import { run } from "./run.js";
import { BIN, watchAndFlush } from "./watch.helpers.js";

const IMAGES = { exim: "localhost/danelab-exim:latest", postfix: "localhost/danelab-postfix:latest" };
const ready =
  process.getuid?.() === 0 && spawnSync("docker", ["image", "inspect", IMAGES.exim, IMAGES.postfix]).status === 0;
const run$ = (...args: string[]) => run("node", [BIN, ...args], { timeoutMs: 60_000 });
const SCENARIOS = ["ta-baseline", "seed-mx06"];

describe.runIf(!ready && process.env["DANELAB_REQUIRE_CLIENTS"] === "1")("stock MTA prerequisites", () => {
  it("has root, a running Docker engine and the client images", () => {
    expect.fail("run 'sudo bash scripts/setup-host.sh': it starts the Docker engine and builds the client images.");
  });
});

/** A stock image, run as a host would be: the instructions' tree mounted read-only, nothing else changed. */
class StockHost {
  readonly id: string;
  constructor(image: string, tree: string, label: string) {
    const r = docker(
      "run",
      "-d",
      "--network",
      "host",
      "--label",
      `org.danelab.client=${label}`,
      "-v",
      `${tree}:/danelab-tree:ro`,
      image,
      "sleep",
      "infinity",
    );
    this.id = r.trim();
  }
  /** Asynchronous: the lab answers the MTA's DNS queries from this very process meanwhile. */
  async sh(script: string): Promise<{ status: number; out: string }> {
    const r = await run("docker", ["exec", this.id, "sh", "-c", script], { timeoutMs: 60_000 });
    return { status: r.code ?? -1, out: r.output };
  }
  stop(): void {
    spawnSync("docker", ["rm", "-f", this.id]);
  }
}

function docker(...args: string[]): string {
  const r = spawnSync("docker", args, { encoding: "utf8", timeout: 60_000 });
  if (r.status !== 0) throw new Error(`docker ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
}

/** The image's own files under a host directory, as `--root` reads them. */
function copyOutOfImage(image: string, paths: string[], root: string): void {
  mkdirSync(root, { recursive: true });
  const r = spawnSync("sh", [
    "-c",
    `docker run --rm ${image} tar -C / -cf - ${paths.join(" ")} | tar -C ${root} -xf -`,
  ]);
  if (r.status !== 0) throw new Error(`copying ${paths} out of ${image} failed: ${r.stderr}`);
}

describe.skipIf(!ready)("instructions applied to stock Debian MTAs deliver with DANE", () => {
  let lab: Lab;
  let work: string;
  const hosts: StockHost[] = [];

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "danelab-stock-"));
    lab = await startLab({
      stateDir: join(work, "state"),
      only: SCENARIOS,
      dnsAddress: "127.0.85.53",
      dnsPort: 53,
      smtpFirstAddress: "127.0.85.10",
      smtpPort: 25,
      httpAddress: "127.0.85.80",
      httpPort: 0,
    });
  }, 120_000);

  afterAll(async () => {
    for (const h of hosts) h.stop();
    await lab?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  /** Runs the CLI against the image's files and returns the printed text and the tree. */
  async function instructions(mta: "exim" | "postfix", paths: string[]) {
    const root = join(work, `${mta}-root`);
    copyOutOfImage(IMAGES[mta], paths, root);
    const tree = join(work, `${mta}-tree`);
    const r = await run$(
      "instructions",
      "--mta",
      mta,
      "--root",
      root,
      "--out",
      tree,
      "--state-dir",
      dirname(lab.manifestPath),
    );
    expect(r.code, r.stderr).toBe(0);
    return { text: r.stdout, tree };
  }

  /**
   * What the printed steps say next: `danelab send --via sendmail` into the MTA (here its sendmail, reached through
   * `docker exec`), then `danelab watch`, running the flush command each time watch names a message in the queue.
   */
  async function sendAndWatch(host: StockHost, mta: "exim" | "postfix", runId: string, flush: string[]) {
    const state = dirname(lab.manifestPath);
    const sent = await run$(
      "send",
      "--run",
      runId,
      "--via",
      "sendmail",
      "--sendmail",
      `docker exec -i ${host.id} /usr/sbin/sendmail`,
      "--mta",
      mta,
      "--state-dir",
      state,
    );
    expect(sent.code, sent.output).toBe(0);
    expect(sent.stdout).toContain(`your MTA accepted 2 of 2 message(s) for run ${runId}`);
    const watched = await watchAndFlush(
      ["--run", runId, "--state-dir", state, "--timeout", "120", "--settle", "3", "--mta", mta],
      flush.join(" "),
      () => run("docker", ["exec", host.id, ...flush]),
      150_000,
    );
    expect(watched.stderr).toContain("watch: every verdict is final: 2/2 final · pass 2 · fail 0");
    expect(watched.code).toBe(0);
  }

  it("Exim (exim4-daemon-light, default 'local' config): the printed files and commands, then CV=dane", async () => {
    const { text, tree } = await instructions("exim", ["etc/exim4", "etc/resolv.conf"]);
    expect(text).toContain("dc_eximconfig_configtype 'local' → 'internet'");
    expect(text).toMatch(/cp -a \S+\/\. \//);
    expect(statSync(tree).mode & 0o777).toBe(0o755);

    const host = new StockHost(IMAGES.exim, tree, "stock-exim");
    hosts.push(host);
    // Without the files, the stock config bounces every remote domain (the reason for the instructions).
    const before = await host.sh("exim4 -bt run-x@ta-baseline.lab.example");
    expect(before.out).toMatch(/Unrouteable|remote domains not supported/i);

    const applied = await host.sh("cp -a /danelab-tree/. / && update-exim4.conf && stat -c %a /");
    expect(applied).toEqual({ status: 0, out: "755\n" });
    const routed = await host.sh("exim4 -bt run-x@ta-baseline.lab.example");
    expect(routed.out).toMatch(/host mx\.ta-baseline\.lab\.example \[127\.0\.85\.\d+\]/);

    await sendAndWatch(host, "exim", "stock-exim", ["exim", "-qff"]);
    const log = (await host.sh("cat /var/log/exim4/mainlog")).out;
    for (const s of SCENARIOS) {
      expect(log).toMatch(new RegExp(`=> run-stock-exim@${s}\\.lab\\.example .* CV=dane`));
      expect(lab.report("stock-exim").find((g) => g.scenario === s)?.verdict).toBe("pass");
    }
    // seed-mx06 was refused twice (greylisting) before it went through.
    expect(log).toMatch(/== run-stock-exim@seed-mx06\.lab\.example/);
  }, 180_000);

  it("Postfix (Debian's 'Internet Site' default): the printed files and commands, then Verified TLS", async () => {
    const { text, tree } = await instructions("postfix", ["etc/postfix", "etc/resolv.conf"]);
    expect(text).toContain("smtp_tls_security_level = dane");
    expect(text).toContain("inet_interfaces = loopback-only");

    const host = new StockHost(IMAGES.postfix, tree, "stock-postfix");
    hosts.push(host);
    const applied = await host.sh(
      "cp -a /danelab-tree/. / && postfix check && postconf -e maillog_file=/var/log/postfix.log && /etc/init.d/postfix start",
    );
    expect(applied.status, applied.out).toBe(0);

    await sendAndWatch(host, "postfix", "stock-postfix", ["postqueue", "-f"]);
    const log = (await host.sh("cat /var/log/postfix.log")).out;
    for (const s of SCENARIOS) {
      expect(log).toMatch(new RegExp(`Verified TLS connection established to \\S*\\.${s}\\.lab\\.example`));
      expect(log).toMatch(new RegExp(`to=<run-stock-postfix@${s}\\.lab\\.example>.*status=sent`));
      expect(lab.report("stock-postfix").find((g) => g.scenario === s)?.verdict).toBe("pass");
    }
  }, 180_000);
});
