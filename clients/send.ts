// `danelab send`: hands one message per selected scenario to the user's own MTA — through its `sendmail` command or
// its SMTP listener — addressed to `run-<id>@<scenario domain>`, so the lab grades what that MTA then does. The lab is
// read through its manifest or HTTP API only; what was handed over is recorded in `<state-dir>/runs/<id>/sent.json`
// for `danelab watch`.
//
// Being accepted by the user's MTA is only the start: the MTA then looks up the scenario's MX and TLSA records at the
// lab and delivers (or, rightly, refuses to). `danelab watch --run <id>` follows that.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { accessSync, constants, existsSync } from "node:fs";
import { hostname } from "node:os";
import { delimiter, join } from "node:path";
import { LabAccessError } from "./lab-api.js";
import {
  checkRunId,
  findLab,
  type LabScenario,
  listOption,
  RunInputError,
  recipientFor,
  recordSent,
  type SentScenario,
  selectScenarios,
} from "./runs.js";
import { openSmtpSession, replyText, SmtpConnectionError, type SmtpTarget, type SubmitOutcome } from "./smtp-submit.js";

/** Where Exim's and Postfix's Debian packages put the command (and the traditional second place). */
const SENDMAIL_PLACES = ["/usr/sbin/sendmail", "/usr/lib/sendmail"];
const SENDMAIL_TIMEOUT_MS = 60_000;

export interface SendOptions {
  run?: string;
  /** "sendmail" or "smtp://HOST[:PORT]". */
  via?: string;
  only?: string | string[];
  group?: string | string[];
  /** A sendmail binary, or a whole command ("docker exec -i exim /usr/sbin/sendmail"). */
  sendmail?: string;
  /** Envelope sender and From: (default danelab@<this host's name>). */
  from?: string;
  /** exim | postfix: recorded so `watch` names the one flush command. */
  mta?: string;
  stateDir?: string;
  labUrl?: string;
  /** Progress lines (default stderr). */
  log?: (line: string) => void;
  /** The summary and failure paragraphs (default stdout). */
  out?: (line: string) => void;
}

export type Via = { kind: "sendmail" } | { kind: "smtp"; target: SmtpTarget };

export function parseVia(via: string | undefined): Via {
  const fix =
    "Use --via sendmail (the local sendmail command your MTA provides) or --via smtp://HOST:PORT (your MTA's SMTP " +
    "listener, e.g. smtp://127.0.0.1:25).";
  if (via === undefined) throw new RunInputError(`--via is required. ${fix}`);
  if (via === "sendmail") return { kind: "sendmail" };
  const m = /^smtp:\/\/(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(?::(\d{1,5}))?\/?$/.exec(via);
  if (!m) throw new RunInputError(`--via "${via}" is neither "sendmail" nor smtp://HOST:PORT. ${fix}`);
  const port = m[2] === undefined ? 25 : Number(m[2]);
  if (port < 1 || port > 65535) throw new RunInputError(`--via "${via}": port ${port} is not 1-65535. ${fix}`);
  return { kind: "smtp", target: { host: m[1]!.replace(/^\[|\]$/g, ""), port } };
}

/** How to run sendmail: argv[0..] before the per-message arguments, and what to call it in messages. */
export interface SendmailCommand {
  argv: string[];
  label: string;
}

/** Thrown when no sendmail command can be found or run: names the packages that provide one. */
export class SendmailMissingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SendmailMissingError";
  }
}

const missingFix =
  "Exim and Postfix both provide /usr/sbin/sendmail (Debian: `apt-get install exim4-daemon-light`, or `postfix`). " +
  "If your MTA runs in a container, give a command: --sendmail 'docker exec -i CONTAINER /usr/sbin/sendmail'. Or " +
  "hand the messages to its SMTP listener instead: --via smtp://127.0.0.1:25.";

const executable = (path: string) => {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

/** --sendmail: a path, a name on PATH, or a command with arguments (run by sh); default /usr/sbin/sendmail. */
export function resolveSendmail(spec: string | undefined, path = process.env["PATH"] ?? ""): SendmailCommand {
  if (spec !== undefined && /\s/.test(spec.trim())) {
    // A whole command: sh appends the per-message arguments ("$@").
    return { argv: ["sh", "-c", `${spec.trim()} "$@"`, "sh"], label: spec.trim() };
  }
  const name = spec?.trim() || undefined;
  const candidates =
    name === undefined
      ? [...SENDMAIL_PLACES, ...path.split(delimiter).map((d) => join(d, "sendmail"))]
      : name.includes("/")
        ? [name]
        : path.split(delimiter).map((d) => join(d, name));
  const found = candidates.find((c) => c !== "" && existsSync(c) && executable(c));
  if (!found) {
    throw new SendmailMissingError(
      name === undefined
        ? `No sendmail command on this machine: neither ${SENDMAIL_PLACES.join(" nor ")} nor a sendmail on PATH ` +
            `exists. ${missingFix}`
        : `--sendmail "${name}" ${name.includes("/") ? "does not exist or is not executable" : "is not on PATH"}. ${missingFix}`,
    );
  }
  return { argv: [found], label: found };
}

/**
 * Quoted-printable (RFC 2045 §6.7) for the body: scenario titles hold characters such as "≠", and a message handed
 * over SMTP without BODY=8BITMIME must stay 7-bit (RFC 6152).
 */
export function quotedPrintable(text: string): string {
  const out: string[] = [];
  for (const line of text.split("\n")) {
    let encoded = "";
    for (const byte of Buffer.from(line, "utf8")) {
      const ch = String.fromCharCode(byte);
      encoded +=
        byte > 126 || ch === "=" || (byte < 32 && ch !== "\t")
          ? `=${byte.toString(16).toUpperCase().padStart(2, "0")}`
          : ch;
    }
    // Soft line breaks keep every line within 76 characters, never splitting an =XX triplet.
    while (encoded.length > 76) {
      let cut = 75;
      const eq = encoded.lastIndexOf("=", cut - 1);
      if (eq > cut - 3) cut = eq;
      out.push(`${encoded.slice(0, cut)}=`);
      encoded = encoded.slice(cut);
    }
    out.push(encoded.replace(/[ \t]$/, (c) => `=${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, "0")}`));
  }
  return out.join("\n");
}

/** RFC 5322 §3.3 date-time, "Mon, 07 Dec 2026 00:47:49 +0000". */
const mailDate = (d: Date) => d.toUTCString().replace(/GMT$/, "+0000");

/** The test message for one scenario: the subject names the scenario and run (ASCII: RFC 5322 §2.2 header fields). */
export function scenarioMessage(o: { runId: string; scenario: LabScenario; from: string; date?: Date }): string {
  const { runId, scenario } = o;
  const to = recipientFor(runId, scenario);
  const body =
    `danelab run ${runId}, scenario ${scenario.id} (expect: ${scenario.expect}).\n` +
    `${scenario.title}\n\n` +
    `Sent to ${to} through your MTA by \`danelab send\`. The lab grades how your MTA delivered it;\n` +
    `\`danelab watch --run ${runId}\` or \`danelab report --run ${runId}\` shows the verdict.\n`;
  return [
    `From: danelab <${o.from}>`,
    `To: <${to}>`,
    `Subject: danelab run ${runId}: ${scenario.id} (expect ${scenario.expect})`,
    `Date: ${mailDate(o.date ?? new Date())}`,
    `Message-ID: <danelab.${runId}.${scenario.id}.${randomBytes(6).toString("hex")}@danelab.invalid>`,
    `X-Danelab-Run: ${runId}`,
    `X-Danelab-Scenario: ${scenario.id}`,
    "MIME-Version: 1.0",
    "Content-Type: text/plain; charset=utf-8",
    "Content-Transfer-Encoding: quoted-printable",
    "",
    quotedPrintable(body),
  ].join("\n");
}

interface SendmailResult {
  code: number | null;
  output: string;
  missing: boolean;
}

function runSendmail(cmd: SendmailCommand, args: string[], input: string): Promise<SendmailResult> {
  return new Promise((resolve) => {
    const child = spawn(cmd.argv[0]!, [...cmd.argv.slice(1), ...args], { stdio: ["pipe", "pipe", "pipe"] });
    const chunks: Buffer[] = [];
    child.stdout.on("data", (b: Buffer) => chunks.push(b));
    child.stderr.on("data", (b: Buffer) => chunks.push(b));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, SENDMAIL_TIMEOUT_MS);
    child.on("error", (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve({ code: null, output: err.code ?? err.message, missing: err.code === "ENOENT" });
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      const output = Buffer.concat(chunks).toString("utf8").trim();
      resolve({
        code,
        output: timedOut
          ? `no exit within ${SENDMAIL_TIMEOUT_MS / 1000} s (killed)${output ? `; ${output}` : ""}`
          : output,
        // sh's "command not found" is exit 127 (POSIX, XCU 2.8.2).
        missing: code === 127,
      });
    });
    child.stdin.on("error", () => {}); // it may exit before reading the message
    child.stdin.end(input);
  });
}

/** Nothing could be handed over (no connection to the MTA): the paragraph says what to check. */
class SendStopped extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SendStopped";
  }
}

/** One failed hand-over, explained for a mail admin; identical explanations are reported once. */
interface Failure {
  scenario: string;
  explanation: string;
}

function explainRefusal(o: SubmitOutcome & { accepted: false }, ctx: { where: string; from: string }): string {
  const said = `Your MTA at ${ctx.where} answered "${replyText(o.reply)}"`;
  const temporary = o.reply.code >= 400 && o.reply.code < 500;
  if (temporary) {
    return (
      `${said} to ${o.stage === "message" ? "the message" : o.stage}: a temporary refusal (4xx). Its log says why ` +
      "(Exim: /var/log/exim4/mainlog, Postfix: /var/log/mail.log); send again when it is resolved."
    );
  }
  switch (o.stage) {
    case "MAIL":
      return (
        `${said} to MAIL FROM:<${ctx.from}>: it does not accept this sender. Give one it accepts with ` +
        "--from ADDRESS (a local user's address usually works)."
      );
    case "RCPT":
      return (
        `${said} to the recipient: it does not relay mail from this client to other domains. Allow relaying from ` +
        "this host (Exim: relay_from_hosts, on Debian dc_relay_nets in /etc/exim4/update-exim4.conf.conf, plus " +
        "dc_eximconfig_configtype='internet'; Postfix: mynetworks), or hand the messages over with --via sendmail."
      );
    default:
      return `${said} to the message content. Its log says why (Exim: /var/log/exim4/mainlog, Postfix: /var/log/mail.log).`;
  }
}

function explainConnection(err: SmtpConnectionError, where: string): string {
  if (err.stage === "connect") {
    return (
      `Cannot hand the messages to your MTA: ${err.message}. Nothing was sent. Check that the MTA runs and listens ` +
      `on ${where} (\`ss -ltn\` lists listening sockets): Exim's daemon_smtp_ports and local_interfaces (Debian: ` +
      "dc_local_interfaces in /etc/exim4/update-exim4.conf.conf), Postfix's inet_interfaces and the smtp service in " +
      "master.cf. Or use --via sendmail."
    );
  }
  return (
    `Your MTA at ${where} did not take the messages: ${err.message}. Its log says why (Exim: ` +
    "/var/log/exim4/mainlog, Postfix: /var/log/mail.log)."
  );
}

/**
 * The whole `danelab send`: returns the exit code — 0 every message was accepted, 1 the MTA refused some, 2 nothing
 * could be sent (bad input, no lab, no sendmail, no connection).
 */
export async function sendCommand(o: SendOptions): Promise<number> {
  const log = o.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const out = o.out ?? ((line: string) => process.stdout.write(`${line}\n`));
  try {
    return await send(o, log, out);
  } catch (err) {
    if (
      err instanceof RunInputError ||
      err instanceof LabAccessError ||
      err instanceof SendmailMissingError ||
      err instanceof SendStopped
    ) {
      log(`danelab send: ${err.message}`);
      return 2;
    }
    throw err;
  }
}

async function send(o: SendOptions, log: (l: string) => void, out: (l: string) => void): Promise<number> {
  const runId = checkRunId(o.run);
  const via = parseVia(o.via);
  if (o.mta !== undefined && o.mta !== "exim" && o.mta !== "postfix") {
    throw new RunInputError(`--mta "${o.mta}": choose exim or postfix (it only picks the queue-flush command named).`);
  }
  const from = o.from ?? `danelab@${hostname()}`;
  if (!/^[^\s<>@]+@[^\s<>@]+$/.test(from)) {
    throw new RunInputError(`--from "${from}" is not a mail address (local-part@domain).`);
  }
  const stateDir = o.stateDir ?? ".lab";
  const lab = await findLab({ stateDir, labUrl: o.labUrl });
  const scenarios = selectScenarios(lab.manifest, { only: listOption(o.only), group: listOption(o.group) });
  if (via.kind === "smtp" && o.sendmail !== undefined) {
    throw new RunInputError(
      "--sendmail goes with --via sendmail; with --via smtp://… the messages go to the listener.",
    );
  }
  const sendmail = via.kind === "sendmail" ? resolveSendmail(o.sendmail) : null;
  const where = via.kind === "smtp" ? `${via.target.host}:${via.target.port}` : "";
  const viaText = sendmail ? `sendmail (${sendmail.label})` : `smtp://${where}`;
  log(`send: run ${runId}, ${scenarios.length} scenario(s) from ${lab.source}, via ${viaText}`);

  const sent: SentScenario[] = [];
  const failures: Failure[] = [];
  let session: Awaited<ReturnType<typeof openSmtpSession>> | null = null;
  if (via.kind === "smtp") {
    try {
      session = await openSmtpSession(via.target);
    } catch (err) {
      if (err instanceof SmtpConnectionError) throw new SendStopped(explainConnection(err, where));
      throw err;
    }
    log(`send: ${where} greeted: ${session.banner}`);
  }
  /** Set when the connection broke off: the messages before it are still recorded. */
  let stopped: string | null = null;
  try {
    for (const [i, scenario] of scenarios.entries()) {
      const recipient = recipientFor(runId, scenario);
      const content = scenarioMessage({ runId, scenario, from });
      const prefix = `send: [${i + 1}/${scenarios.length}] ${scenario.id} → ${recipient}:`;
      let accepted: boolean;
      let detail: string;
      if (session) {
        let r: SubmitOutcome;
        try {
          r = await session.send(from, recipient, content);
        } catch (err) {
          if (!(err instanceof SmtpConnectionError)) throw err;
          stopped = explainConnection(err, where);
          log(`${prefix} connection lost (${err.message})`);
          break;
        }
        accepted = r.accepted;
        detail = r.accepted ? replyText(r.reply) : `${r.stage}: ${replyText(r.reply)}`;
        if (!r.accepted) failures.push({ scenario: scenario.id, explanation: explainRefusal(r, { where, from }) });
      } else {
        // -i: a line with a single "." does not end the message; "--" ends the options before the recipient.
        const args = [...(o.from ? ["-f", from] : []), "-i", "--", recipient];
        const r = await runSendmail(sendmail!, args, content);
        if (r.missing) {
          throw new SendmailMissingError(
            `\`${sendmail!.label}\` could not be run (${r.output.split("\n")[0] || `exit ${r.code}`}). ${missingFix}`,
          );
        }
        accepted = r.code === 0;
        detail = accepted ? r.output || "exit 0" : `exit ${r.code ?? "?"}: ${r.output}`;
        if (!accepted) {
          failures.push({
            scenario: scenario.id,
            explanation:
              `\`${sendmail!.label}\` did not take the message (exit ${r.code ?? "none"}${r.output ? `: ${r.output.split("\n").slice(0, 3).join(" / ")}` : ""}). ` +
              `Try it by hand: printf 'Subject: test\\n\\ntest\\n' | ${sendmail!.label} -i -- ${recipient}; the MTA's ` +
              "log (Exim: /var/log/exim4/mainlog, Postfix: /var/log/mail.log) says more.",
          });
        }
      }
      log(`${prefix} ${accepted ? "accepted" : "NOT accepted"} (${detail.split("\n")[0]})`);
      sent.push({ id: scenario.id, recipient, accepted, detail, time: new Date().toISOString() });
    }
  } finally {
    await session?.close();
  }

  const record = recordSent(stateDir, {
    run: runId,
    labUrl: lab.labUrl,
    via: viaText,
    mta: o.mta ?? null,
    scenarios: sent,
  });
  const ok = sent.filter((s) => s.accepted).length;
  out(`danelab send: your MTA accepted ${ok} of ${sent.length} message(s) for run ${runId}; recorded in ${record}.`);
  const grouped = new Map<string, string[]>();
  for (const f of failures) grouped.set(f.explanation, [...(grouped.get(f.explanation) ?? []), f.scenario]);
  for (const [explanation, ids] of grouped) out(`\nNot accepted: ${ids.join(", ")}. ${explanation}`);
  if (ok > 0) {
    out(
      `\nNext: \`danelab watch --run ${runId}\`${lab.labUrl && o.labUrl ? ` --lab-url ${lab.labUrl}` : ""} follows ` +
        "the deliveries until every scenario has its verdict.",
    );
  }
  if (stopped) out(`\n${stopped}`);
  if (stopped && ok === 0) return 2;
  return ok === sent.length && !stopped ? 0 : 1;
}
