// The benchmark's peers (scripts/bench/peers.ts) on this machine, as `npm run bench` starts them: Postfix's smtpd in
// the Postfix client image takes STARTTLS deliveries on its own loopback address and discards them, NSD answers from
// its own configuration as our own process, and afterwards the host is as it was (scripts/host-state.sh: no package
// installed or removed, /etc/exim4, /etc/postfix, /etc/nsd ... unchanged) and no container is left behind.
// Addresses: 127.0.84.1 (Postfix), 127.0.84.2 (NSD).
import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startNsd, startPostfix } from "../scripts/bench/peers.js";
import { smtpLoad } from "../scripts/bench/smtp-load.js";
import { run } from "./run.js";

const POSTFIX = "127.0.84.1";
const NSD = "127.0.84.2";
const HOST_STATE = join(import.meta.dirname, "..", "scripts", "host-state.sh");
const ready =
  process.getuid?.() === 0 &&
  spawnSync("docker", ["image", "inspect", "localhost/danelab-postfix:latest"]).status === 0 &&
  spawnSync("sh", ["-c", "command -v nsd"]).status === 0;

describe.runIf(!ready && process.env["DANELAB_REQUIRE_CLIENTS"] === "1")("benchmark peer prerequisites", () => {
  it("has root, NSD, a running Docker engine and the Postfix client image", () => {
    expect.fail(
      "run 'sudo bash scripts/setup-host.sh': it installs nsd, starts the Docker engine and builds the images.",
    );
  });
});

describe.skipIf(!ready)("benchmark peers", () => {
  let work: string;
  const snapshot = () => join(work, "host-state.before");

  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), "danelab-bench-peers-"));
    chmodSync(work, 0o755); // the container's postfix user walks down to its queue
    const r = spawnSync("bash", [HOST_STATE, "snapshot", snapshot()], { encoding: "utf8" });
    expect(r.status, r.stderr).toBe(0);
  });

  afterAll(() => {
    rmSync(work, { recursive: true, force: true });
  });

  it("Postfix in its container takes STARTTLS deliveries on its own address and discards them", async () => {
    const tls = join(work, "tls");
    mkdirSync(tls);
    const key = join(tls, "leaf.key");
    const cert = join(tls, "chain.pem");
    const gen = await run("openssl", [
      ...["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"],
      ...["-keyout", key, "-out", cert, "-subj", "/CN=mx.peer.lab.example", "-days", "2"],
    ]);
    expect(gen.code, gen.stderr).toBe(0);
    const postfix = await startPostfix({
      workDir: join(work, "postfix-peer"),
      address: POSTFIX,
      keyFile: key,
      chainFile: cert,
      domain: "lab.example",
    });
    let load: Awaited<ReturnType<typeof smtpLoad>>;
    try {
      load = await smtpLoad({
        address: POSTFIX,
        port: 25,
        serverName: "mx.peer.lab.example",
        recipient: "run-bench@peer.lab.example",
        concurrency: 2,
        seconds: 1,
      });
    } finally {
      await postfix.close();
    }
    expect(load.firstError).toBeNull();
    expect(load.deliveries).toBeGreaterThan(0);
    // The peer's log is on the host (the work directory is bind-mounted): each delivery went to the discard transport.
    const log = readFileSync(join(work, "postfix-peer", "postfix.log"), "utf8");
    expect(log).toMatch(/to=<run-bench@peer\.lab\.example>, relay=none, .*status=sent \(peer\.lab\.example\)/);
    const left = spawnSync("docker", ["ps", "-aq", "--filter", `name=danelab-bench-postfix-${POSTFIX}`], {
      encoding: "utf8",
    });
    expect(left.stdout.trim()).toBe("");
  });

  it("NSD answers from our own configuration, as our own process", async () => {
    const zones = join(work, "zones");
    mkdirSync(zones);
    writeFileSync(
      join(zones, "root.zone"),
      [". 300 IN SOA ns.peer. hostmaster.peer. 1 300 300 3600 300", ". 300 IN NS ns.peer.", ""].join("\n"),
    );
    const nsd = await startNsd(zones, join(work, "nsd"), NSD);
    try {
      const cmdline = readFileSync(`/proc/${nsd.pid}/cmdline`, "utf8").split("\0");
      expect(cmdline).toEqual(["nsd", "-d", "-c", join(work, "nsd", "nsd.conf"), ""]);
      const dig = await run("dig", [`@${NSD}`, "+norec", "+time=2", "+tries=1", ".", "SOA"]);
      expect(dig.stdout).toMatch(/status: NOERROR/);
      expect(dig.stdout).toMatch(/flags: qr aa;/);
    } finally {
      await nsd.close();
    }
  });

  it("left the host as it was: packages and service configuration compare clean", () => {
    const r = spawnSync("bash", [HOST_STATE, "compare", snapshot()], { encoding: "utf8" });
    expect(r.stderr).toMatch(/unchanged since the snapshot/);
    expect(r.status).toBe(0);
  });
});
