// `danelab send` and `danelab watch` as a mail admin uses them, against a real Exim standing in for the host's MTA:
// a lab (startLab), Debian's Exim 4.96 (GnuTLS) in a container on the host network running its daemon with a
// listener, messages handed over by SMTP and by `sendmail` through `docker exec`, then `watch` as a child process
// (not a terminal) following the lab's grades until they are final — flushing Exim's queue with `exim -qff` whenever
// watch names a greylisted message as waiting there. Bad input (no listener, no sendmail, an unknown scenario, a lab
// that does not answer) gets one paragraph and a bounded exit.
// Needs root (ports 25/53), the Docker engine and localhost/danelab-exim (`sudo bash scripts/setup-host.sh`); the
// bad-input part needs neither. Loopback addresses of this file (block 127.0.82.0/24): lab DNS 127.0.82.53, HTTP
// 127.0.82.80, SMTP listeners from 127.0.82.100; Exim's listener 127.0.82.25:2525 and its outgoing address
// 127.0.82.26; the bad-input lab 127.0.82.200–.220.
import { execFile, spawn, spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ClientContainer, clientImage, resolvConfFor, startClientContainer } from "../clients/container.js";
import { eximConfig } from "../clients/exim.js";
import { type Lab, startLab } from "../lab/index.js";
import { BIN, watchAndFlush } from "./watch.helpers.js";

const execFileP = promisify(execFile);
const SCENARIOS = ["ta-baseline", "seed-mx06", "seed-mx06-ku"];
const EXIM_LISTENER = { host: "127.0.82.25", port: 2525 };
const EXIM_SOURCE = "127.0.82.26";
const SENDER = "sender@client.danelab.invalid";

const ready = process.getuid?.() === 0 && spawnSync("docker", ["image", "inspect", clientImage("exim")]).status === 0;

async function danelab(args: string[], timeoutMs = 60_000) {
  const t0 = performance.now();
  try {
    const { stdout, stderr } = await execFileP(process.execPath, [BIN, ...args], { timeout: timeoutMs });
    return { code: 0, stdout, stderr, ms: performance.now() - t0 };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, stdout: e.stdout ?? "", stderr: e.stderr ?? "", ms: performance.now() - t0 };
  }
}

/** No stack trace, no internal error: what a user sees must be the paragraph. */
function expectParagraph(output: string) {
  expect(output).not.toMatch(/\n\s+at \S+ \(|internal error/);
}

// The suite's own command (scripts/test-all.sh) sets DANELAB_REQUIRE_CLIENTS=1: there a missing image is a failure.
describe.runIf(!ready && process.env["DANELAB_REQUIRE_CLIENTS"] === "1")("send + watch prerequisites", () => {
  it("has root, a running Docker engine and the Exim image", () => {
    expect.fail(
      "send + watch against Exim needs root and localhost/danelab-exim: run 'sudo bash scripts/setup-host.sh'.",
    );
  });
});

describe.skipIf(!ready)("danelab send + watch with a real Exim (container standing in for the host's MTA)", () => {
  let lab: Lab;
  let stateDir: string;
  let exim: ClientContainer;
  let tmp: string;

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), "danelab-sendwatch-"));
    chmodSync(tmp, 0o755);
    stateDir = join(tmp, "state");
    lab = await startLab({
      stateDir,
      only: SCENARIOS,
      dnsAddress: "127.0.82.53",
      dnsPort: 53,
      smtpFirstAddress: "127.0.82.100",
      smtpPort: 25,
      httpAddress: "127.0.82.80",
      httpPort: 0,
    });
    // The matrix's own Exim configuration (clients/exim.ts, Debian's hosts_try_dane) plus what a host's Exim has: a
    // daemon listener, and relaying for local clients (Debian: dc_relay_nets / the stock ACL's "hosts = : ...").
    const conf = eximConfig({ mode: "try", sourceAddress: EXIM_SOURCE }).replace(
      "begin routers",
      `local_interfaces = ${EXIM_LISTENER.host}.${EXIM_LISTENER.port}
acl_smtp_rcpt = acl_check_rcpt
acl_smtp_mail = acl_check_mail

begin acl

acl_check_mail:
  deny senders = *@refused.invalid
    message = sender address rejected
  accept

acl_check_rcpt:
  accept hosts = 127.0.0.0/8
  deny message = relay not permitted

begin routers`,
    );
    exim = await startClientContainer({
      image: clientImage("exim"),
      label: "sendwatch-exim",
      command: ["exim", "-bdf"],
      files: [{ target: "/etc/exim4/exim4.conf", content: conf }],
      hostDir: join(tmp, "exim"),
      resolvConf: resolvConfFor(lab.manifest.dns.address),
      readyCommand: `bash -c 'exec 3<>/dev/tcp/${EXIM_LISTENER.host}/${EXIM_LISTENER.port}'`,
    });
  });

  afterAll(async () => {
    await exim?.stop();
    await lab?.stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it("send --via smtp hands over one message per scenario; watch names the greylisted one with exim -qff and ends with the report", async () => {
    const run = `smtp-${Date.now()}`;
    const sent = await danelab([
      "send",
      "--run",
      run,
      "--via",
      `smtp://${EXIM_LISTENER.host}:${EXIM_LISTENER.port}`,
      "--from",
      SENDER,
      "--mta",
      "exim",
      "--state-dir",
      stateDir,
    ]);
    expect(sent.stdout).toContain(`your MTA accepted 3 of 3 message(s) for run ${run}`);
    expect(sent.code).toBe(0);
    for (const id of SCENARIOS)
      expect(sent.stderr).toMatch(new RegExp(`${id} → run-${run}@${id}\\.lab\\.example: accepted \\(250 `));
    const record = JSON.parse(readFileSync(join(stateDir, "runs", run, "sent.json"), "utf8"));
    expect(record).toMatchObject({ run, mta: "exim", via: `smtp://${EXIM_LISTENER.host}:${EXIM_LISTENER.port}` });
    const ids = record.scenarios.map((s: { id: string; accepted: boolean }) => s.accepted && s.id);
    expect(ids.sort()).toEqual([...SCENARIOS].sort());

    const t0 = performance.now();
    const watched = await watchAndFlush(
      ["--run", run, "--state-dir", stateDir, "--timeout", "150", "--settle", "3"],
      "exim -qff",
      () => exim.exec(["exim", "-qff"]),
      170_000,
    );
    const seconds = Math.round((performance.now() - t0) / 1000);
    console.log(
      `watch (smtp run): exit ${watched.code} after ${seconds} s, ${watched.flushes} flush(es)\n${watched.stderr}`,
    );
    // Plain lines, no terminal control sequences, when stderr is not a terminal.
    expect(watched.stderr).not.toContain("\r");
    expect(watched.stderr).not.toContain("\u001b[");
    expect(watched.stderr).toContain(`watch: run ${run}, 3 scenario(s) from what \`danelab send\` recorded`);
    // seed-mx06 greets the first two connections with 421: watch named it as queued, and each flush got it further.
    expect(watched.stderr).toMatch(
      /probably waiting in your MTA's queue: seed-mx06 \(the lab refused 1 attempt \(greylisting\)\)/,
    );
    expect(watched.flushes).toBeGreaterThanOrEqual(2);
    expect(watched.stderr).toContain("watch: every verdict is final: 3/3 final · pass 3 · fail 0");
    expect(watched.code).toBe(0);
    // The report: the table of `danelab report`, for this run's scenarios.
    expect(watched.stdout).toContain(`danelab report, run ${run}`);
    expect(watched.stdout).toMatch(/ta-baseline\s+deliver\s+pass\s+delivered over TLS/);
    expect(watched.stdout).toMatch(
      /seed-mx06\s+deliver-after-retry\s+pass\s+delivered over TLS .* after the server refused 2 attempts/,
    );
    expect(watched.stdout).toMatch(/seed-mx06-ku\s+no-delivery\s+pass\s+/);
    expect(watched.stdout).toContain("3 scenarios: 3 pass");
    // Exim's own log agrees: DANE-verified deliveries, and the GnuTLS key-usage deferral of Debian bug #1075900.
    const mainlog = await exim.readFile("/var/log/exim4/mainlog");
    expect(mainlog).toMatch(new RegExp(`=> run-${run}@ta-baseline\\.lab\\.example .*CV=dane`));
    expect(mainlog).toMatch(new RegExp(`=> run-${run}@seed-mx06\\.lab\\.example .*CV=dane`));
    expect(mainlog).toMatch(/Key usage violation/);
  });

  it("send --via sendmail through `docker exec` into the MTA's container; watch follows it to the same verdicts", async () => {
    const run = `sendmail-${Date.now()}`;
    const wrapper = join(tmp, "sendmail-in-container");
    writeFileSync(wrapper, `#!/bin/sh\nexec docker exec -i ${exim.id} /usr/sbin/sendmail "$@"\n`, { mode: 0o755 });
    const sent = await danelab([
      "send",
      "--run",
      run,
      "--via",
      "sendmail",
      "--sendmail",
      wrapper,
      "--from",
      SENDER,
      "--only",
      "ta-baseline,seed-mx06-ku",
      "--state-dir",
      stateDir,
    ]);
    expect(sent.stdout).toContain(`your MTA accepted 2 of 2 message(s) for run ${run}`);
    expect(sent.code).toBe(0);

    const watched = await watchAndFlush(
      ["--run", run, "--state-dir", stateDir, "--timeout", "90", "--settle", "3", "--mta", "exim"],
      "exim -qff",
      () => exim.exec(["exim", "-qff"]),
      110_000,
    );
    console.log(`watch (sendmail run): exit ${watched.code}, ${watched.flushes} flush(es)\n${watched.stderr}`);
    expect(watched.code).toBe(0);
    expect(watched.stdout).toMatch(/ta-baseline\s+deliver\s+pass\s+delivered over TLS/);
    expect(watched.stdout).toMatch(/seed-mx06-ku\s+no-delivery\s+pass\s+/);
    expect(watched.stdout).toContain("2 scenarios: 2 pass");
    expect(watched.stdout).not.toContain("seed-mx06 "); // only what this run sent
    const mainlog = await exim.readFile("/var/log/exim4/mainlog");
    // Submitted locally (U=root, P=local), not over SMTP; then delivered with DANE.
    expect(mainlog).toMatch(new RegExp(`<= ${SENDER} U=root P=local .* id=danelab\\.${run}\\.ta-baseline\\.`));
    expect(mainlog).toMatch(new RegExp(`=> run-${run}@ta-baseline\\.lab\\.example .*CV=dane`));
  });

  it("send --via smtp: a message the MTA refuses gets its reply and what to change; the rest is recorded", async () => {
    const run = `refused-${Date.now()}`;
    const r = await danelab([
      "send",
      "--run",
      run,
      "--via",
      `smtp://${EXIM_LISTENER.host}:${EXIM_LISTENER.port}`,
      "--from",
      "someone@refused.invalid",
      "--only",
      "ta-baseline",
      "--state-dir",
      stateDir,
    ]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(
      `Not accepted: ta-baseline. Your MTA at ${EXIM_LISTENER.host}:${EXIM_LISTENER.port} answered "550 sender ` +
        'address rejected" to MAIL FROM:<someone@refused.invalid>: it does not accept this sender. Give one it ' +
        "accepts with --from ADDRESS",
    );
    expectParagraph(r.stdout + r.stderr);
    const record = JSON.parse(readFileSync(join(stateDir, "runs", run, "sent.json"), "utf8"));
    expect(record.scenarios).toMatchObject([{ id: "ta-baseline", accepted: false }]);
  });

  it("watch times out with exit 3 on a scenario whose mail never came, naming the flush command", async () => {
    // A run nobody sent, watched as from another machine (no state here, the lab by its URL): --only gives the set;
    // nothing arrives, and the timeout is short.
    const watched = await danelab(
      [
        "watch",
        "--run",
        "never-sent",
        "--lab-url",
        lab.manifest.http!.url,
        "--state-dir",
        join(tmp, "elsewhere"),
        "--only",
        "ta-baseline",
        "--timeout",
        "4",
        "--settle",
        "1",
      ],
      30_000,
    );
    expect(watched.code).toBe(3);
    expect(watched.stderr).toContain("probably waiting in your MTA's queue: ta-baseline (nothing seen yet)");
    expect(watched.stderr).toMatch(/timed out after \d+ s with 1 scenario\(s\) not final: ta-baseline \(not-tested\)/);
    expect(watched.stdout).toMatch(/ta-baseline\s+deliver\s+not-tested/);
  });
});

describe("danelab send / watch: bad input gets one paragraph and a bounded exit", () => {
  let lab: Lab;
  let tmp: string;
  let stateDir: string;

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), "danelab-sendwatch-bad-"));
    stateDir = join(tmp, "state");
    lab = await startLab({
      stateDir,
      only: ["ta-baseline"],
      dnsAddress: "127.0.82.200",
      dnsPort: 0,
      smtpFirstAddress: "127.0.82.201",
      smtpPort: 0,
      httpAddress: "127.0.82.220",
      httpPort: 0,
    });
  });

  afterAll(async () => {
    await lab?.stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it("--via smtp:// to a port nobody listens on: names the address and what to check, nothing recorded", async () => {
    const r = await danelab(["send", "--run", "1", "--via", "smtp://127.0.82.25:2599", "--state-dir", stateDir]);
    expect(r.code).toBe(2);
    expect(r.ms).toBeLessThan(10_000);
    expect(r.stderr).toContain(
      "Cannot hand the messages to your MTA: cannot connect to 127.0.82.25:2599 (ECONNREFUSED). Nothing was sent. " +
        "Check that the MTA runs and listens on 127.0.82.25:2599",
    );
    expectParagraph(r.stdout + r.stderr);
    expect(() => readFileSync(join(stateDir, "runs", "1", "sent.json"))).toThrow();
  });

  it("sendmail missing: says which packages provide it", async () => {
    const r = await danelab([
      "send",
      "--run",
      "1",
      "--via",
      "sendmail",
      "--sendmail",
      join(tmp, "no-such-sendmail"),
      "--state-dir",
      stateDir,
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("does not exist or is not executable");
    expect(r.stderr).toContain("apt-get install exim4-daemon-light");
    expectParagraph(r.stdout + r.stderr);
    // A command that is not there (sh: exit 127), e.g. a wrapper naming a missing program.
    const cmd = await danelab([
      "send",
      "--run",
      "1",
      "--via",
      "sendmail",
      "--sendmail",
      "no-such-program -x",
      "--state-dir",
      stateDir,
    ]);
    expect(cmd.code).toBe(2);
    expect(cmd.stderr).toContain("`no-such-program -x` could not be run");
    expectParagraph(cmd.stdout + cmd.stderr);
  });

  it("a sendmail that refuses: each distinct cause once, with the scenarios it hit, exit 1", async () => {
    const refusing = join(tmp, "refusing-sendmail");
    // What `docker exec -i <gone container> …` does: a message on stderr and exit status 1.
    writeFileSync(refusing, "#!/bin/sh\ncat >/dev/null\necho 'Error: No such container: mta' >&2\nexit 1\n", {
      mode: 0o755,
    });
    const r = await danelab([
      "send",
      "--run",
      "2",
      "--via",
      "sendmail",
      "--sendmail",
      refusing,
      "--state-dir",
      stateDir,
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      "ta-baseline → run-2@ta-baseline.lab.example: NOT accepted (exit 1: Error: No such container: mta)",
    );
    expect(r.stdout).toContain("your MTA accepted 0 of 1 message(s) for run 2");
    expect(r.stdout).toContain(
      `Not accepted: ta-baseline. \`${refusing}\` did not take the message (exit 1: Error: No such container: mta).`,
    );
    expect(r.stdout).not.toContain("Next:");
    expectParagraph(r.stdout + r.stderr);
    // watch then has nothing to follow for this run, and says why.
    const w = await danelab(["watch", "--run", "2", "--state-dir", stateDir]);
    expect(w.code).toBe(2);
    expect(w.stderr).toContain("not watching ta-baseline: your MTA did not accept those messages");
    expect(w.stderr).toContain("Nothing to watch for run 2");
  });

  it("an unknown scenario id and a run id the lab cannot read", async () => {
    const r = await danelab([
      "send",
      "--run",
      "1",
      "--via",
      "sendmail",
      "--only",
      "ta-basline",
      "--state-dir",
      stateDir,
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('This lab has no scenario "ta-basline". Its scenarios are: ta-baseline.');
    const w = await danelab(["watch", "--run", "1", "--only", "nope", "--state-dir", stateDir]);
    expect(w.code).toBe(2);
    expect(w.stderr).toContain('This lab has no scenario "nope"');
    const bad = await danelab(["send", "--run", "a/b", "--via", "sendmail", "--state-dir", stateDir]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--run "a/b" holds characters the lab does not read in a run id ("/")');
    expectParagraph(r.stderr + w.stderr + bad.stderr);
  });

  it("watch against a lab that is not running: one paragraph, exit 2, at once", async () => {
    const r = await danelab(["watch", "--run", "1", "--lab-url", "http://127.0.82.221:9", "--state-dir", tmp]);
    expect(r.code).toBe(2);
    expect(r.ms).toBeLessThan(10_000);
    expect(r.stderr).toContain("The lab's HTTP API at http://127.0.82.221:9/api/manifest did not answer");
    expect(r.stderr).toContain("Is the lab running (`danelab up`)");
    expectParagraph(r.stderr);
    // No manifest and no --lab-url: where to point it.
    const none = await danelab(["watch", "--run", "1", "--state-dir", join(tmp, "nowhere")]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain("give --lab-url http://HOST:PORT when the lab runs elsewhere");
  });

  it("on a terminal: one progress line redrawn in place (bar and counts), and the report after it", async () => {
    // util-linux `script` gives watch a pseudo-terminal as stdout and stderr; -e passes its exit status on.
    const cmd = [process.execPath, BIN, "watch", "--run", "1", "--lab-url", lab.manifest.http!.url, "--timeout", "2"];
    const r = await execFileP("script", ["-qec", cmd.join(" "), "/dev/null"], { timeout: 30_000 }).then(
      (ok) => ({ code: 0, out: ok.stdout }),
      (err: { code?: number; stdout?: string }) => ({ code: err.code ?? -1, out: err.stdout ?? "" }),
    );
    expect(r.code).toBe(3);
    const redraws = r.out.split(
      "\r\u001b[2K[------------------------] 0/1 final · pass 0 · fail 0 · pending 0 · not tested 1 · 0:0",
    );
    expect(redraws.length).toBeGreaterThanOrEqual(3);
    expect(r.out).toMatch(/danelab report, run 1\r?\n/);
  });

  it("Ctrl-C (SIGINT) stops the watch with the report so far, exit 130", async () => {
    const child = spawn(process.execPath, [BIN, "watch", "--run", "1", "--lab-url", lab.manifest.http!.url], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    let interrupted = false;
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
      if (stderr.includes("0/1 final") && !interrupted) interrupted = child.kill("SIGINT"); // once, as a user would
    });
    const code = await new Promise<number | null>((res) => child.on("exit", (c) => res(c)));
    expect(code).toBe(130);
    expect(stderr).toContain("watch: interrupted; 0/1 final");
    expect(stdout).toMatch(/ta-baseline\s+deliver\s+not-tested/);
  });

  it("the report endpoint narrows to the scenarios asked for, and names one it lacks", async () => {
    const url = lab.manifest.http!.url;
    const table = await (await fetch(`${url}/api/report?run=1&format=table&scenario=ta-baseline`)).text();
    expect(table).toContain("1 scenario: 1 not tested");
    const bad = await fetch(`${url}/api/report?run=1&scenario=ta-baseline,nope`);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toContain("this lab has no scenario nope");
  });
});
