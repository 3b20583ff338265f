// Any MTA image as a check column (`danelab check --image IMAGE --submit … --flush '…' [--log PATH] [--start '…']`):
// the lab knows nothing about the MTA inside. It runs the image with the host's network and the lab's resolv.conf
// bind-mounted (nameserver + `options trust-ad`), hands it one message per scenario (its `sendmail`, or SMTP to its
// listener), and runs the flush command between retry rounds. The verdicts are the lab's, from the server side, so
// they hold for any client; the client-side cell is the last line of --log that names the scenario's recipient.
import { connect } from "node:net";
import { ContainerError, DriverContainer } from "./container.js";
import { type DriverOptions, type MtaDriver, SENDER_DOMAIN, testMessage } from "./driver.js";
import type { ClientOutcome } from "./outcome.js";
import { submitOne } from "./smtp-submit.js";
import { CheckInputError } from "./user-config.js";

export interface GenericMta {
  image: string;
  /** "sendmail" or "smtp://127.0.0.1:PORT". */
  submit: string;
  /** Shell command (in the container) that retries the queue now: `exim -qff`, `postqueue -f`, … */
  flush: string;
  /** The MTA's log file in the container; its lines naming a recipient fill the client-side cells. */
  log?: string;
  /** Shell command that starts the MTA and returns; without it the image's own command runs (and must keep running). */
  start?: string;
  /** How long the listener of `--submit smtp://` has to come up after the container started (default 30 s). */
  listenerWaitMs?: number;
}

/** `smtp://HOST:PORT` → host and port; only loopback hosts (the lab and its clients stay on 127/8). */
export function parseSmtpUrl(url: string): { host: string; port: number } {
  const m = /^smtp:\/\/(127(?:\.\d{1,3}){3}|localhost):(\d{1,5})\/?$/.exec(url.trim());
  const port = Number(m?.[2]);
  if (!m || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new CheckInputError(
      `--submit ${url}: give \`sendmail\` (the MTA's sendmail binary in the container) or ` +
        "`smtp://127.0.0.1:PORT` (its SMTP listener on a loopback address; the container shares the host's network).",
    );
  }
  return { host: m[1] === "localhost" ? "127.0.0.1" : m[1]!, port };
}

/** Waits until something accepts TCP connections on host:port, or throws after `timeoutMs`. */
async function waitForListener(host: string, port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  while (Date.now() < deadline) {
    const error = await new Promise<string | null>((resolve) => {
      const s = connect({ host, port });
      const timer = setTimeout(() => {
        s.destroy();
        resolve("no answer within 2 s");
      }, 2_000);
      s.once("connect", () => {
        clearTimeout(timer);
        s.destroy();
        resolve(null);
      });
      s.once("error", (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        resolve(err.code ?? err.message);
      });
    });
    if (error === null) return;
    last = error;
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new CheckInputError(
    `Nothing accepts connections on ${host}:${port} (${last}) within ${timeoutMs / 1000} s of the container's start. ` +
      "Check that the MTA in the image listens there (the container shares the host's network: its listener must " +
      "use that loopback address and port, not port 25, which the lab's servers use), or give --start the command " +
      "that starts it, or submit with --submit sendmail.",
  );
}

/** Seconds a user command may take before it is stopped (`timeout` in the container). */
const START_LIMIT_S = 60;
const FLUSH_LIMIT_S = 120;
const SUBMIT_LIMIT_S = 60;
/** How long the listener of `--submit smtp://` has to come up after the container started. */
const LISTENER_WAIT_MS = 30_000;

/** Checks the options before anything starts: one paragraph per mistake. */
export function checkGenericMta(g: Partial<GenericMta>): GenericMta {
  const missing = (["submit", "flush"] as const).filter((k) => !g[k]?.trim());
  if (!g.image?.trim() || missing.length > 0) {
    throw new CheckInputError(
      `--image needs ${missing.map((k) => `--${k}`).join(" and ") || "an image name"}: ` +
        "--submit sendmail|smtp://127.0.0.1:PORT says how to hand the MTA a message, --flush 'CMD' how to retry its " +
        "queue now (e.g. 'exim -qff', 'postqueue -f'); --log PATH and --start 'CMD' are optional.",
    );
  }
  if (g.submit !== "sendmail") {
    try {
      parseSmtpUrl(g.submit!);
    } catch (err) {
      throw new CheckInputError((err as Error).message);
    }
  }
  return {
    image: g.image.trim(),
    submit: g.submit!.trim(),
    flush: g.flush!.trim(),
    ...(g.log?.trim() ? { log: g.log.trim() } : {}),
    ...(g.start?.trim() ? { start: g.start.trim() } : {}),
    ...(g.listenerWaitMs ? { listenerWaitMs: g.listenerWaitMs } : {}),
  };
}

/** The column name part: the image's repository name without registry or tag ("danelab-postfix"). */
export function imageName(image: string): string {
  return (
    (image.split("/").pop() ?? image)
      .replace(/[:@].*$/, "")
      .replace(/[^A-Za-z0-9._-]+/g, "-")
      .replace(/^[-.]+|[-.]+$/g, "") || "image"
  );
}

/** The client-side cells from the user's log: the last line naming each recipient, unparsed. */
export function genericOutcomes(log: string | null, recipients: string[]): Map<string, ClientOutcome> {
  const lines = (log ?? "").split("\n");
  const out = new Map<string, ClientOutcome>();
  for (const r of recipients) {
    const key = r.toLowerCase();
    const mine = log === null ? [] : lines.filter((l) => l.toLowerCase().includes(key));
    out.set(key, { recipient: key, status: "unparsed", attempts: mine.length, lines: mine, logged: log !== null });
  }
  return out;
}

export function genericDriver(
  g: GenericMta,
  variant: string,
  options: DriverOptions & { pending: () => Promise<number> },
): MtaDriver {
  const box = new DriverContainer(variant, options);
  const smtp = g.submit === "sendmail" ? null : parseSmtpUrl(g.submit);
  const message = testMessage(options.runId, variant);
  const sender = `sender@${SENDER_DOMAIN}`;
  return {
    variant,
    async start() {
      try {
        await box.start({
          image: g.image,
          // With --start the image's own command is replaced by a sleeper and the start command runs in it.
          ...(g.start ? { entrypoint: ["sleep", "infinity"] } : {}),
          files: [{ target: "/danelab/message", content: message }],
          readyCommand: "true",
        });
      } catch (err) {
        if (!(err instanceof ContainerError) || g.start) throw err;
        throw new ContainerError(
          `${err.message} Without --start the image's own command runs, and it must keep the MTA running in the ` +
            "foreground; if the image's command is a shell, give --start 'CMD' with the command that starts the MTA.",
        );
      }
      if (g.start) {
        const r = await box.need().sh(`timeout ${START_LIMIT_S} sh -c "$1" 2>&1`, g.start);
        if (r.exitCode !== 0) {
          throw new CheckInputError(
            `--start '${g.start}' failed in ${g.image} (exit ${r.exitCode}` +
              `${r.exitCode === 124 ? `: still running after ${START_LIMIT_S} s; --start must start the MTA and return` : ""}): ` +
              `${r.stdout.trim().split("\n").slice(-3).join(" / ") || "no output"}.`,
          );
        }
      }
      if (smtp) {
        try {
          await waitForListener(smtp.host, smtp.port, g.listenerWaitMs ?? LISTENER_WAIT_MS);
        } catch (err) {
          throw new CheckInputError((err as Error).message);
        }
      } else {
        const r = await box.need().sh("command -v sendmail || ls /usr/sbin/sendmail /usr/lib/sendmail 2>/dev/null");
        if (!r.stdout.trim()) {
          throw new CheckInputError(
            `--submit sendmail, but ${g.image} has no sendmail command. Submit over SMTP instead ` +
              "(--submit smtp://127.0.0.1:PORT, the MTA's listener) or use an image whose MTA provides sendmail.",
          );
        }
      }
    },
    async submit(recipients) {
      if (smtp) {
        const results = await Promise.allSettled(
          recipients.map((r) => submitOne(smtp, sender, r, message, SUBMIT_LIMIT_S * 1000)),
        );
        const failed = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
        if (failed.length === recipients.length) {
          throw new CheckInputError(
            `The MTA took none of the ${recipients.length} message(s) at ${g.submit}: ` +
              `${(failed[0]?.reason as Error)?.message}. Check that its listener accepts mail for relay from ` +
              "127.0.0.1 (e.g. Postfix mynetworks, Exim relay_from_hosts).",
          );
        }
        for (const f of failed) options.log?.(`${variant}: submission failed: ${(f.reason as Error).message}`);
        return;
      }
      const r = await box
        .need()
        .sh(
          `for r in "$@"; do (timeout ${SUBMIT_LIMIT_S} sendmail -f "${sender}" "$r" < /danelab/message || echo "sendmail failed for $r" >&2) & done; wait`,
          ...recipients,
        );
      if (r.stderr.trim()) options.log?.(`${variant}: ${r.stderr.trim().split("\n")[0]}`);
    },
    async retry() {
      const r = await box.need().sh(`timeout ${FLUSH_LIMIT_S} sh -c "$1" 2>&1`, g.flush);
      if (r.exitCode !== 0)
        options.log?.(`${variant}: --flush '${g.flush}' exited ${r.exitCode}: ${r.stdout.trim().split("\n")[0]}`);
      return options.pending();
    },
    // The MTA's queue is opaque here: what the lab has not decided yet stands for it.
    queued: () => options.pending(),
    async outcomes(recipients) {
      if (!g.log) return genericOutcomes(null, recipients);
      return genericOutcomes(await box.need().readFile(g.log), recipients);
    },
    async rawLog() {
      return g.log ? box.need().readFile(g.log) : "";
    },
    stop: () => box.stop(),
  };
}
