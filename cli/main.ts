#!/usr/bin/env node
// The `danelab` command line: `up` (what `npm run lab` runs), `report`, `explain`, `export`, `scenarios`, `check`,
// `instructions`, `send` and `watch` (a user's own MTA against the lab), `doctor`. It lives in cli/, beside lab/ and
// clients/ rather than in either, because it is the one place that uses both: the lab's runtime for `up`, `report`,
// `explain`, `export`, and clients/ (through the manifest and the HTTP API only) for `check`, `instructions`, `send`
// and `watch`.
// Every failure a user can cause (bad scenario file, port taken, no root for port 25/53, unwritable state directory,
// unbound missing) ends in one paragraph naming the cause and the fix, and a non-zero exit — never a stack trace.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Command, InvalidArgumentError, Option } from "commander";
import { PlanError } from "../lab/catalogue/compile.js";
import { CatalogueError } from "../lab/catalogue/select.js";
import { forEachEventInLog, type LabEvent } from "../lab/events.js";
import { exportLab } from "../lab/export.js";
import { gradeRun } from "../lab/grade/index.js";
import type { Manifest } from "../lab/manifest.js";
import { exitCodeFor, formatReport } from "../lab/report.js";
import { DEFAULTS, type LabOptions, startLab } from "../lab/up.js";
import { explainScenario } from "./explain.js";
import { clientInstructions, scenarioTable, table } from "./instructions.js";

const VERSION = (
  JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }
).version;

const port = (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError("a port number 0-65535");
  return n;
};
const ipv4Loopback = (value: string) => {
  if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(value) || value.split(".").some((n) => Number(n) > 255))
    throw new InvalidArgumentError("an IPv4 address, e.g. 127.0.53.1 (addresses outside 127/8 need --allow-remote)");
  return value;
};
const megabytes = (value: string) => {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || n > 1_048_576) throw new InvalidArgumentError("a size in MB, e.g. 1024");
  return Math.round(n * 1024 * 1024);
};
const count = (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 1000) throw new InvalidArgumentError("a whole number 0-1000");
  return n;
};
const list = (value: string) =>
  value
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);

function catalogueOptions(cmd: Command): Command {
  return cmd
    .option("--scenarios <dir>", "add the scenario files (*.yaml) of DIR to the built-in catalogue")
    .option("--only <ids>", "only these scenarios (comma-separated ids)", list)
    .option("--group <names>", "only the scenarios of these groups (comma-separated)", list)
    .option("--state-dir <dir>", "where keys, zones, the manifest, events and mail live", DEFAULTS.stateDir)
    .option("--suffix <domain>", "DNS suffix of every scenario zone", DEFAULTS.suffix);
}

const program = new Command()
  .name("danelab")
  .version(VERSION)
  .description(
    "A lab of fake DANE-protected mail servers. `danelab up` builds a PKI, DNSSEC-signed zones with TLSA records and\n" +
      "SMTP endpoints with tricky behaviour on loopback; point a client MTA at it and `danelab report` grades what it did.",
  )
  .showHelpAfterError();

catalogueOptions(
  program
    .command("up", { isDefault: true })
    .description("start the lab (DNS, one SMTP listener per MX host, HTTP API) and print how to point an MTA at it"),
)
  .option("--dns-address <ip>", "address of the lab's DNS (UDP+TCP)", ipv4Loopback, DEFAULTS.dnsAddress)
  .option("--dns-port <port>", "port of the lab's DNS", port, DEFAULTS.dnsPort)
  .option(
    "--smtp-address <ip>",
    "first SMTP listener address; each MX host gets the next one",
    ipv4Loopback,
    DEFAULTS.smtpFirstAddress,
  )
  .option(
    "--smtp-port <port>",
    "port of every SMTP listener (MX records cannot name a port: clients use 25)",
    port,
    DEFAULTS.smtpPort,
  )
  .option("--http-address <ip>", "address of the HTTP API", ipv4Loopback, DEFAULTS.httpAddress)
  .option("--http-port <port>", "port of the HTTP API", port, DEFAULTS.httpPort)
  .option("--no-http", "do not start the HTTP API")
  .option(
    "--http-allow-host <names>",
    "host names (comma-separated) the HTTP API answers besides its address and localhost, e.g. a reverse " +
      "proxy's; any other Host header is refused (DNS rebinding)",
    list,
  )
  .option(
    "--allow-remote",
    "let --http-address/--dns-address/--smtp-address/--resolver-address/--sts-address be outside 127.0.0.0/8 (the API has no " +
      "authentication and the DNS answers anyone: only on a network you trust)",
  )
  .option(
    "--allow-any-suffix",
    "let --suffix be a name outside .example/.test/.invalid/.localhost/.internal/home.arpa (a domain you own)",
  )
  .addOption(
    new Option("--resolver <kind>", "also start a real validating resolver and point the instructions at it")
      .choices(["none", "unbound"])
      .default("none"),
  )
  .option("--resolver-address <ip>", "address for --resolver unbound", ipv4Loopback, DEFAULTS.resolverAddress)
  .option(
    "--sts-address <ip>",
    "address of the MTA-STS policy server (HTTPS), where every mta-sts.<domain> points (default: the DNS address)",
    ipv4Loopback,
  )
  .option("--sts-port <port>", "port of the MTA-STS policy server; senders use 443 only (RFC 8461 §3.3)", port, 443)
  .option("--mail-quota <MB>", "most mail the store keeps; past it clients get 452 4.3.1 (default 1024)", megabytes)
  .option("--events-max-size <MB>", "rotate events.jsonl past this size (default 64)", megabytes)
  .option("--events-keep <n>", "rotated event files kept, events.jsonl.1 … .n (default 4)", count)
  .option("--quiet", "print only the ready line")
  .action(async (opts) => {
    const options: LabOptions = {
      stateDir: opts.stateDir,
      suffix: opts.suffix,
      dnsAddress: opts.dnsAddress,
      dnsPort: opts.dnsPort,
      smtpFirstAddress: opts.smtpAddress,
      smtpPort: opts.smtpPort,
      httpAddress: opts.httpAddress,
      httpPort: opts.http === false ? null : opts.httpPort,
      resolver: opts.resolver,
      resolverAddress: opts.resolverAddress,
      ...(opts.stsAddress ? { stsAddress: opts.stsAddress } : {}),
      stsPort: opts.stsPort,
      allowRemote: opts.allowRemote === true,
      ...(opts.mailQuota !== undefined ? { mailQuotaBytes: opts.mailQuota } : {}),
      ...(opts.eventsMaxSize !== undefined ? { eventsMaxFileBytes: opts.eventsMaxSize } : {}),
      ...(opts.eventsKeep !== undefined ? { eventsKeepFiles: opts.eventsKeep } : {}),
      allowAnySuffix: opts.allowAnySuffix === true,
      ...(opts.httpAllowHost ? { httpAllowedHosts: opts.httpAllowHost } : {}),
      ...(opts.scenarios ? { extraDirs: [opts.scenarios] } : {}),
      ...(opts.only ? { only: opts.only } : {}),
      ...(opts.group ? { groups: opts.group } : {}),
      log: opts.quiet ? () => {} : (line) => process.stderr.write(`danelab: ${line}\n`),
      warn: (line) => process.stderr.write(`danelab: ${line}\n`),
    };
    // Signals are caught from the start: Ctrl-C during a long cold start still closes whatever has been opened.
    let lab$: Awaited<ReturnType<typeof startLab>> | null = null;
    let stopSignal: string | null = null;
    let stopping = false;
    const shutdown = (signal: string) => {
      stopSignal = signal;
      if (!lab$ || stopping) return; // still starting: stop as soon as the lab is up
      stopping = true;
      process.stderr.write(`danelab: ${signal}, closing listeners…\n`);
      lab$.stop().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    };
    process.on("SIGINT", () => shutdown("SIGINT"));
    process.on("SIGTERM", () => shutdown("SIGTERM"));
    const lab = await startLab(options);
    if (!opts.quiet) {
      console.log(`\n${scenarioTable(lab.manifest)}\n`);
      console.log(clientInstructions(lab.manifest, process.env["npm_lifecycle_event"] ? "npx danelab" : "danelab"));
      console.log();
    }
    const http = lab.manifest.http ? `, HTTP API ${lab.manifest.http.url}` : "";
    const resolver = lab.manifest.dns.resolver ? `, unbound ${lab.manifest.dns.resolver.address}` : "";
    console.log(
      `danelab ready: ${lab.manifest.scenarios.length} scenarios, DNS ${lab.manifest.dns.address}:${lab.manifest.dns.port}${resolver}${http}, manifest ${lab.manifestPath} (started in ${lab.timings["total"]} ms; Ctrl-C stops)`,
    );
    lab$ = lab;
    if (stopSignal) shutdown(stopSignal);
  });

program
  .command("report")
  .description("grade what clients did, per scenario, from the lab's event log (works while the lab runs or after)")
  .option("--run <id>", "only the run whose recipients were run-<id>@…")
  .addOption(
    new Option("--format <f>", "output format").choices(["table", "json", "junit", "markdown"]).default("table"),
  )
  .option("--state-dir <dir>", "the lab's state directory", DEFAULTS.stateDir)
  .action((opts) => {
    const manifest = readManifest(opts.stateDir);
    const scenarioIds = new Set(manifest.scenarios.map((s) => s.id));
    // Streamed file by file (events.jsonl.N … .1, events.jsonl), keeping only what the grader reads.
    const events: LabEvent[] = [];
    forEachEventInLog(join(opts.stateDir, "events.jsonl"), (e) => {
      if (e.kind === "dns-query" || (typeof e.scenario === "string" && scenarioIds.has(e.scenario))) events.push(e);
    });
    const grades = gradeRun(events, manifest.scenarios, { now: new Date(), ...(opts.run ? { run: opts.run } : {}) });
    console.log(formatReport(grades, opts.format, opts.run ? { run: opts.run } : {}));
    process.exitCode = exitCodeFor(grades);
  });

catalogueOptions(program.command("explain").argument("<id>", "scenario id"))
  .description("what a scenario teaches, its DNS records and presented chain, and commands to inspect it by hand")
  .action(async (id: string, opts) => {
    console.log(await explainScenario(id, catalogueFrom(opts)));
  });

catalogueOptions(program.command("export"))
  .description("write signed zone files, trust anchors and certificates (PEM) for other DNS servers and tools")
  .requiredOption("--out <dir>", "directory to write into (new or empty; never through a symbolic link)")
  .option("--force", "write into a non-empty --out directory, replacing the files danelab writes")
  .option("--dns-address <ip>", "address the zones' NS glue points at", ipv4Loopback, DEFAULTS.dnsAddress)
  .action(async (opts) => {
    const written = await exportLab(opts.out, {
      ...catalogueFrom(opts),
      dnsAddress: opts.dnsAddress,
      force: opts.force === true,
    });
    console.log(`wrote ${written.length} files under ${opts.out}`);
  });

catalogueOptions(program.command("scenarios"))
  .description("list the catalogue: id, group, expected verdict, title")
  .action(async (opts) => {
    const { loadCatalogue } = await import("../lab/catalogue/load.js");
    const scenarios = loadCatalogue(catalogueFrom(opts));
    console.log(
      table(
        ["id", "group", "expect", "title"],
        scenarios.map((s) => [s.id, s.group, s.expect, s.title]),
      ),
    );
  });

const collect = (value: string, previous: string[] = []) => [...previous, value];

program
  .command("check")
  .description(
    "run MTAs in containers against a running lab and print the scenario × client matrix: the built-in Exim/GnuTLS " +
      "and Postfix/OpenSSL, your own Debian Exim or Postfix configuration (--exim-config, --postfix-config), or any " +
      "MTA image (--image)",
  )
  .option(
    "--client <names>",
    "built-in clients: exim (= exim-try, exim-strict), postfix (this host's images); per Debian release exim@bookworm, exim@trixie, postfix@bookworm, postfix@trixie, and " +
      "exim-openssl@bookworm (Debian's Exim rebuilt with OpenSSL); the DANE probes posttls-finger@bookworm, " +
      "posttls-finger@trixie and danetool (they send no mail); an unknown name lists them all. Default, unless a " +
      "user MTA is given: exim@trixie, postfix@trixie (Debian 13, today's stable) and the seed's pair exim@bookworm, " +
      "exim-openssl@bookworm",
    list,
  )
  .addOption(
    new Option("--mode <mode>", "trust mode: the lab's resolver mode or a real unbound")
      .choices(["resolver", "unbound"])
      .default("resolver"),
  )
  .option("--only <ids>", "only these scenarios", list)
  .addOption(
    new Option("--format <f>", "output format").choices(["table", "json", "junit", "markdown"]).default("table"),
  )
  .option("--state-dir <dir>", "the lab's state directory (its manifest.json is read)", DEFAULTS.stateDir)
  .option(
    "--exim-dane-ciphers <priority>",
    "Exim's dane_require_tls_ciphers (GnuTLS priority string) for the exim columns; 'NORMAL:%COMPAT' is the known " +
      "workaround for Debian bug #1075900 (Key usage violation)",
  )
  .option(
    "--exim-config <dir>",
    "a copy of your /etc/exim4 (Debian, split or not): run in the Debian Exim image with update-exim4.conf; the lab " +
      "changes only configtype 'local' → 'internet', the 127/8 MX routing macro and the source address, and prints " +
      "what it changed (repeatable; your directory is never written)",
    collect,
  )
  .option(
    "--postfix-config <dir>",
    "a copy of your /etc/postfix: run in the Debian Postfix image; the lab changes only maillog_file, " +
      "smtp_tls_loglevel 0 → 1, smtp_bind_address, relayhost and the listening services, and prints what it changed " +
      "(repeatable)",
    collect,
  )
  .option(
    "--exim-image <image>",
    "image for --exim-config (default localhost/danelab-exim; e.g. localhost/danelab-exim-heavy)",
  )
  .option("--postfix-image <image>", "image for --postfix-config (default localhost/danelab-postfix)")
  .option("--image <image>", "any MTA image (host network, the lab's resolv.conf); needs --submit and --flush")
  .option("--submit <how>", "--image: 'sendmail' (its sendmail command) or smtp://127.0.0.1:PORT (its listener)")
  .option("--flush <cmd>", "--image: shell command that retries the queue now, e.g. 'exim -qff' or 'postqueue -f'")
  .option("--log <path>", "--image: the MTA's log file in the container (its lines naming each recipient are shown)")
  .option(
    "--start <cmd>",
    "--image: shell command that starts the MTA and returns (default: the image's own command keeps it running)",
  )
  .addHelpText(
    "after",
    `
Your own MTA (with the lab running, e.g. \`danelab up\` in another terminal):
  sudo cp -a /etc/exim4 ./my-exim4 && sudo danelab check --exim-config ./my-exim4
  sudo cp -a /etc/postfix ./my-postfix && sudo danelab check --postfix-config ./my-postfix
  sudo danelab check --image my/mta:1 --start 'mtactl start' --submit smtp://127.0.0.1:2525 \\
      --flush 'mtactl flush' --log /var/log/mta.log
Each is one column of the matrix: the lab's grade (from what arrived at its servers) next to the MTA's own log line.
Results: <state-dir>/checks/<time>/ (matrix.json, matrix.md, junit.xml, each MTA's log, the edited copies).`,
  )
  .action(async (opts) => {
    const { runCheckCommand } = await import("../clients/check-command.js");
    try {
      process.exitCode = await runCheckCommand(opts);
    } catch (err) {
      // clients/ speaks to the user in these (a lab that cannot be read, a container engine or image that is not
      // there, an option that cannot be used): one paragraph, no stack.
      if (err instanceof Error && /^(LabAccessError|ContainerError|CheckInputError|SubmitError)$/.test(err.name))
        throw new UserError(err.message);
      throw err;
    }
  });

program
  .command("instructions")
  .description(
    "the exact changes that point this host's MTA (a default Debian Exim or Postfix) at a running lab, with the " +
      "commands to apply, retry and undo them; --out writes them as a tree for 'cp -a DIR/. /'",
  )
  .addOption(
    new Option("--mta <kind>", "exim (Debian's exim4), postfix, or resolver (resolv.conf only, for any other MTA)")
      .choices(["exim", "postfix", "resolver"])
      .makeOptionMandatory(),
  )
  .option("--out <dir>", "write the changed files under DIR (a new or empty directory) as they go under /")
  .option("--root <dir>", "read the MTA's current configuration under DIR instead of / (e.g. a container's files)")
  .option("--state-dir <dir>", "the lab's state directory (its manifest.json is read)", DEFAULTS.stateDir)
  .option("--lab-url <url>", "read the manifest from a lab's HTTP API instead (a lab on another host)")
  .action(async (opts) => {
    const { runInstructionsCommand } = await import("../clients/instructions.js");
    console.log(await runInstructionsCommand(opts));
  });

program
  .command("send")
  .description("hand one message per scenario to your own MTA (sendmail or SMTP), addressed to run-<id>@<scenario>")
  .option(
    "--run <id>",
    "(required) your run id: letters, digits, '.', '_', '-'; recipients are run-<id>@<scenario domain>",
  )
  .option("--via <how>", "(required) sendmail (the local sendmail command) or smtp://HOST:PORT (your MTA's listener)")
  .option("--only <ids>", "only these scenarios (comma-separated ids)", list)
  .option("--group <names>", "only the scenarios of these groups (comma-separated)", list)
  .option("--sendmail <cmd>", "sendmail path or command, e.g. 'docker exec -i CONTAINER /usr/sbin/sendmail'")
  .option("--from <address>", "envelope sender and From: (default danelab@<host name>)")
  .option("--mta <name>", "exim or postfix: your MTA, so watch names its queue-flush command")
  .option(
    "--state-dir <dir>",
    "the lab's state directory (manifest read, runs/<id>/sent.json written)",
    DEFAULTS.stateDir,
  )
  .option("--lab-url <url>", "the lab's HTTP API, when it runs elsewhere (e.g. http://127.0.0.1:8025)")
  .addHelpText(
    "after",
    "\nYour MTA then delivers each message to the lab, which grades what it did; `danelab watch --run <id>` follows\n" +
      "that. What was sent is recorded in <state-dir>/runs/<id>/sent.json, which watch reads.\n" +
      "Exit status: 0 every message accepted, 1 your MTA refused some, 2 nothing sent (bad input, no lab, no sendmail,\n" +
      "no connection).",
  )
  .action(async (opts) => {
    const { sendCommand } = await import("../clients/send.js");
    process.exitCode = await sendCommand(opts);
  });

program
  .command("watch")
  .description("follow a run at the lab until every scenario has a final verdict, then print its report")
  .option("--run <id>", "(required) the run id given to `danelab send`")
  .option("--timeout <seconds>", "give up after this long", "600")
  .option("--settle <seconds>", "how long a verdict without a delivery must hold still to be final", "10")
  .option("--only <ids>", "watch these scenarios (default: what send recorded, else the whole catalogue)", list)
  .option("--group <names>", "watch the scenarios of these groups", list)
  .option("--lab-url <url>", "the lab's HTTP API (default: the one send recorded, else the manifest's)")
  .option("--state-dir <dir>", "where send recorded the run, and the lab's manifest", DEFAULTS.stateDir)
  .option("--mta <name>", "exim or postfix: name only its queue-flush command (default: as send recorded, else both)")
  .option("--format <f>", "the final report: table, json, junit or markdown", "table")
  .addHelpText(
    "after",
    `
A verdict is final when a delivery decided it (pass, fail or observed with a message the lab accepted), or when a
pass/fail/observed without a delivery (the MTA turned the server down, or did not connect) held still for --settle
seconds after the MTA met the scenario's real server (not only the lab's greylisting); it reopens when the MTA tries
that scenario again. pending and not-tested are never final. A no-delivery pass could, in principle, still turn into a fail if the MTA delivers hours later:
\`danelab report --run <id>\` re-grades at any time.

Messages the lab expects to arrive but saw only refused (greylisted) attempts for, or nothing, are probably in your
MTA's queue; watch names them with the command that retries them now: exim -qff (Exim), postqueue -f (Postfix).

On a terminal one progress line is updated in place; otherwise a line is printed when something changes (stderr).
The final report goes to stdout.

Exit status: 0 every scenario final and none failed; 1 a scenario failed (also after a timeout); 2 could not watch
(bad input, lab not reachable); 3 timed out with scenarios not final and none failed; 130 interrupted (Ctrl-C).`,
  )
  .action(async (opts) => {
    const { watchCommand } = await import("../clients/watch.js");
    const stop = new AbortController();
    process.once("SIGINT", () => stop.abort());
    process.exitCode = await watchCommand({ ...opts, signal: stop.signal });
  });

program
  .command("doctor")
  .summary("check that this machine has what the lab and its tests need, and that each tool works")
  .description(
    "Check that this machine has what the lab and its tests need, and that each tool works, not only that it is on " +
      "PATH (swaks must have STARTTLS, openssl s_client DANE, chromium must render a page, ...); then the Docker " +
      "engine and the client images, ports 25/53 on the lab's addresses, resolv.conf and the state directory. One " +
      "line per check (ok, warn, FAIL or info) and, under each problem, the fix: the Debian package to install or " +
      "the command to run. Exit status 1 when a check FAILs.",
  )
  .option("--tools-only", "only the tool checks (what works inside a plain container: no Docker, ports or state)")
  .option("--json", "print the results as JSON: { ok, checks: [{ name, level, detail, fix? }] }")
  .option("--state-dir <dir>", "the state directory to check", DEFAULTS.stateDir)
  .option("--dns-address <ip>", "the DNS address whose port 53 must be free", ipv4Loopback, DEFAULTS.dnsAddress)
  .option(
    "--smtp-address <ip>",
    "the first SMTP address whose port 25 must be free",
    ipv4Loopback,
    DEFAULTS.smtpFirstAddress,
  )
  .action(async (opts) => {
    const { doctorExitCode, formatResults, runDoctor } = await import("./doctor.js");
    const results = await runDoctor({
      toolsOnly: Boolean(opts.toolsOnly),
      stateDir: opts.stateDir,
      dnsAddress: opts.dnsAddress,
      smtpAddress: opts.smtpAddress,
    });
    console.log(
      opts.json
        ? JSON.stringify({ ok: doctorExitCode(results) === 0, checks: results }, null, 2)
        : formatResults(results),
    );
    process.exitCode = doctorExitCode(results);
  });

function catalogueFrom(opts: {
  scenarios?: string;
  only?: string[];
  group?: string[];
  stateDir: string;
  suffix: string;
}) {
  return {
    stateDir: opts.stateDir,
    suffix: opts.suffix,
    ...(opts.scenarios ? { extraDirs: [opts.scenarios] } : {}),
    ...(opts.only ? { only: opts.only } : {}),
    ...(opts.group ? { groups: opts.group } : {}),
  };
}

function readManifest(stateDir: string): Manifest {
  const path = join(stateDir, "manifest.json");
  try {
    return JSON.parse(readFileSync(path, "utf8")) as Manifest;
  } catch (err) {
    throw new UserError(
      `danelab found no readable manifest at ${path} (${(err as NodeJS.ErrnoException).code ?? err}). ` +
        "Start the lab first with 'npm run lab' (or 'danelab up'), or point --state-dir at the lab's state directory.",
    );
  }
}

class UserError extends Error {}

/** Errors meant for the user print as their message alone; anything else is a bug and keeps its stack. */
function isUserError(err: unknown): err is Error {
  if (!(err instanceof Error)) return false;
  return (
    err instanceof UserError ||
    err instanceof CatalogueError ||
    err instanceof PlanError ||
    /^(ListenError|StateDirError|ResolverError|ProfileError|ZoneError|LabAccessError|MtaConfigError|ContainerError|ExposureError|LabRunningError|ExportError)$/.test(
      err.name,
    )
  );
}

program.parseAsync(process.argv).catch((err: unknown) => {
  if (isUserError(err)) {
    process.stderr.write(`danelab: ${err.message}\n`);
  } else {
    process.stderr.write(`danelab: internal error (please report it): ${(err as Error)?.stack ?? err}\n`);
  }
  process.exit(1);
});
