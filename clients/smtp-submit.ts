// Message submission over SMTP to a client MTA's own listener (`danelab check --submit smtp://127.0.0.1:PORT`): the
// smallest RFC 5321 client that hands one message to one recipient — EHLO, MAIL, RCPT, DATA, QUIT — with a deadline
// on every step, so an MTA that never answers costs seconds, not the whole check.
import { connect, type Socket } from "node:net";

/** The MTA's listener could not be reached or refused the message: the text names the step and the reply. */
export class SubmitError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SubmitError";
  }
}

/** `smtp://HOST:PORT` → host and port; only loopback hosts (the lab and its clients stay on 127/8). */
export function parseSmtpUrl(url: string): { host: string; port: number } {
  const m = /^smtp:\/\/(127(?:\.\d{1,3}){3}|localhost):(\d{1,5})\/?$/.exec(url.trim());
  const port = Number(m?.[2]);
  if (!m || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new SubmitError(
      `--submit ${url}: give \`sendmail\` (the MTA's sendmail binary in the container) or ` +
        "`smtp://127.0.0.1:PORT` (its SMTP listener on a loopback address; the container shares the host's network).",
    );
  }
  return { host: m[1] === "localhost" ? "127.0.0.1" : m[1]!, port };
}

/** Connects once; resolves when the TCP handshake completes. */
function connectOnce(host: string, port: number, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host, port });
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`no answer within ${timeoutMs / 1000} s`));
    }, timeoutMs);
    s.once("connect", () => {
      clearTimeout(timer);
      resolve(s);
    });
    s.once("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/** Waits until something accepts TCP connections on host:port, or throws after `timeoutMs`. */
export async function waitForListener(host: string, port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  while (Date.now() < deadline) {
    try {
      (await connectOnce(host, port, 2_000)).destroy();
      return;
    } catch (err) {
      last = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      await new Promise((r) => setTimeout(r, 300));
    }
  }
  throw new SubmitError(
    `Nothing accepts connections on ${host}:${port} (${last}) within ${timeoutMs / 1000} s of the container's start. ` +
      "Check that the MTA in the image listens there (the container shares the host's network: its listener must " +
      "use that loopback address and port, not port 25, which the lab's servers use), or give --start the command " +
      "that starts it, or submit with --submit sendmail.",
  );
}

/** Reads SMTP replies (RFC 5321 §4.2: `code-text` lines continue, `code text` ends a reply). */
function replyReader(s: Socket): (timeoutMs: number) => Promise<{ code: number; text: string }> {
  let buffer = "";
  const waiting: (() => void)[] = [];
  s.setEncoding("utf8");
  s.on("data", (d: string) => {
    buffer += d;
    for (const w of waiting.splice(0)) w();
  });
  s.on("close", () => {
    for (const w of waiting.splice(0)) w();
  });
  return async (timeoutMs) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const lines = buffer.split("\r\n");
      const end = lines.findIndex((l) => /^\d{3}(?: |$)/.test(l));
      if (end >= 0 && end < lines.length - 1) {
        buffer = lines.slice(end + 1).join("\r\n");
        return { code: Number(lines[end]!.slice(0, 3)), text: lines.slice(0, end + 1).join(" / ") };
      }
      if (s.destroyed || Date.now() > deadline) {
        throw new Error(s.destroyed ? "connection closed" : `no reply within ${timeoutMs / 1000} s`);
      }
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.max(10, deadline - Date.now()));
        waiting.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  };
}

/** Hands one message to the MTA: RFC 5321 §3.3 mail transaction, §4.5.2 dot-stuffing, CRLF line ends. */
export async function submitOverSmtp(
  target: { host: string; port: number },
  from: string,
  to: string,
  message: string,
  timeoutMs = 30_000,
): Promise<void> {
  const s = await connectOnce(target.host, target.port, timeoutMs).catch((err: Error) => {
    throw new SubmitError(`cannot connect to ${target.host}:${target.port}: ${err.message}`);
  });
  const read = replyReader(s);
  const step = async (what: string, line: string | null, want: number) => {
    if (line !== null) s.write(`${line}\r\n`);
    const r = await read(timeoutMs).catch((err: Error) => {
      throw new SubmitError(`${target.host}:${target.port} ${what}: ${err.message}`);
    });
    if (Math.floor(r.code / 100) !== want) throw new SubmitError(`${target.host}:${target.port} ${what}: ${r.text}`);
  };
  try {
    await step("greeting", null, 2);
    await step("EHLO", "EHLO danelab-check.invalid", 2);
    await step("MAIL FROM", `MAIL FROM:<${from}>`, 2);
    await step("RCPT TO", `RCPT TO:<${to}>`, 2);
    await step("DATA", "DATA", 3);
    const body = message
      .replace(/\r?\n/g, "\r\n")
      .replace(/\r\n$/, "")
      .split("\r\n")
      .map((l) => (l.startsWith(".") ? `.${l}` : l))
      .join("\r\n");
    await step("end of data", `${body}\r\n.`, 2);
    s.write("QUIT\r\n");
  } finally {
    s.end();
    setTimeout(() => s.destroy(), 1_000).unref();
  }
}
