// A small SMTP client (RFC 5321) that hands messages to the user's own MTA — its port-25 listener on loopback, where
// local relaying is allowed — for `danelab send --via smtp://HOST:PORT`. No TLS, no AUTH: it talks to the user's MTA
// on their own machine, and that MTA (not this client) is what the lab grades. One connection carries every message,
// one transaction each (RSET after a refusal); every wait is bounded.
import { connect, type Socket } from "node:net";

/** A reply: the three-digit code and its text lines (RFC 5321 §4.2). */
export interface SmtpReply {
  code: number;
  lines: string[];
}

export const replyText = (r: SmtpReply) => `${r.code} ${r.lines.join(" / ")}`.trim();

/** Why the connection itself failed (no listener, timeout, a 4xx/5xx greeting): the run cannot go on. */
export class SmtpConnectionError extends Error {
  constructor(
    message: string,
    readonly stage: "connect" | "greeting" | "ehlo" | "io",
  ) {
    super(message);
    this.name = "SmtpConnectionError";
  }
}

/** The outcome of one message: accepted (2xx after the final dot), or refused at a stage with the MTA's reply. */
export type SubmitOutcome =
  | { accepted: true; reply: SmtpReply }
  | { accepted: false; stage: "MAIL" | "RCPT" | "DATA" | "message"; reply: SmtpReply };

export interface SmtpTarget {
  host: string;
  port: number;
}

/** Reads replies off a socket: complete multi-line replies ("250-…" lines, then "250 …"), in order. */
class ReplyReader {
  private buffer = "";
  private lines: string[] = [];
  private readonly ready: SmtpReply[] = [];
  private waiter: { resolve: (r: SmtpReply) => void; reject: (e: Error) => void; timer: NodeJS.Timeout } | null = null;
  private failure: Error | null = null;

  constructor(socket: Socket) {
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => this.feed(chunk));
    socket.on("error", (err) => this.fail(err));
    socket.on("close", () => this.fail(new Error("the MTA closed the connection")));
  }

  private feed(chunk: string): void {
    this.buffer += chunk;
    let nl = this.buffer.indexOf("\n");
    while (nl >= 0) {
      const line = this.buffer.slice(0, nl).replace(/\r$/, "");
      this.buffer = this.buffer.slice(nl + 1);
      nl = this.buffer.indexOf("\n");
      const m = /^(\d{3})([ -]?)(.*)$/.exec(line);
      if (!m) {
        this.fail(new Error(`the MTA sent a line that is not an SMTP reply: ${JSON.stringify(line.slice(0, 100))}`));
        return;
      }
      this.lines.push(m[3]!);
      // RFC 5321 §4.2.1: "250-" continues a reply, "250 " (or a bare code) ends it.
      if (m[2] !== "-") {
        this.push({ code: Number(m[1]), lines: this.lines });
        this.lines = [];
      }
    }
  }

  private push(reply: SmtpReply): void {
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = null;
      clearTimeout(w.timer);
      w.resolve(reply);
    } else {
      this.ready.push(reply);
    }
  }

  private fail(err: Error): void {
    this.failure ??= err;
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = null;
      clearTimeout(w.timer);
      w.reject(err);
    }
  }

  next(timeoutMs: number, waitingFor: string): Promise<SmtpReply> {
    const queued = this.ready.shift();
    if (queued) return Promise.resolve(queued);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = null;
        reject(new Error(`no reply to ${waitingFor} within ${Math.round(timeoutMs / 1000)} s`));
      }, timeoutMs);
      this.waiter = { resolve, reject, timer };
    });
  }
}

/**
 * Message content for DATA (RFC 5321 §4.5.2): CRLF line ends, a line starting with "." gets a second one, and the
 * content ends with CRLF before the terminating ".".
 */
export function dataBlock(content: string): string {
  const lines = content.replace(/\r\n/g, "\n").replace(/\n$/, "").split("\n");
  return `${lines.map((l) => (l.startsWith(".") ? `.${l}` : l)).join("\r\n")}\r\n.\r\n`;
}

export interface SmtpSession {
  /** The MTA's greeting and EHLO reply, for progress lines. */
  banner: string;
  send(from: string, recipient: string, content: string): Promise<SubmitOutcome>;
  close(): Promise<void>;
}

/**
 * Opens a session: connect (bounded by `connectTimeoutMs`), read the 220 greeting, EHLO (HELO when EHLO is refused,
 * RFC 5321 §4.1.4). Each reply is awaited at most `replyTimeoutMs` (RFC 5321 §4.5.3.2 suggests minutes; a local MTA
 * answers in milliseconds, so the default is 60 s).
 */
export async function openSmtpSession(
  target: SmtpTarget,
  opts: { connectTimeoutMs?: number; replyTimeoutMs?: number } = {},
): Promise<SmtpSession> {
  const connectTimeoutMs = opts.connectTimeoutMs ?? 10_000;
  const replyTimeoutMs = opts.replyTimeoutMs ?? 60_000;
  const where = `${target.host}:${target.port}`;
  const socket = await new Promise<Socket>((resolve, reject) => {
    const s = connect({ host: target.host, port: target.port });
    const timer = setTimeout(() => {
      s.destroy();
      reject(new SmtpConnectionError(`no connection to ${where} within ${connectTimeoutMs / 1000} s`, "connect"));
    }, connectTimeoutMs);
    s.once("connect", () => {
      clearTimeout(timer);
      resolve(s);
    });
    s.once("error", (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new SmtpConnectionError(`cannot connect to ${where} (${err.code ?? err.message})`, "connect"));
    });
  });
  const reader = new ReplyReader(socket);
  const write = (line: string) => socket.write(line);
  const command = async (line: string, what = line.split(" ")[0]!): Promise<SmtpReply> => {
    write(`${line}\r\n`);
    return reader.next(replyTimeoutMs, what);
  };
  const ioError = (err: unknown, stage: SmtpConnectionError["stage"]) =>
    err instanceof SmtpConnectionError ? err : new SmtpConnectionError(`${where}: ${(err as Error).message}`, stage);

  try {
    const greeting = await reader.next(replyTimeoutMs, "the connection (the MTA's 220 greeting)");
    if (greeting.code !== 220) {
      throw new SmtpConnectionError(`${where} greeted with "${replyText(greeting)}" instead of 220`, "greeting");
    }
    // RFC 5321 §4.1.1.1: the client's name, or an address literal when it has none that resolves.
    const me = `[${socket.localAddress?.replace(/^::ffff:/, "") ?? "127.0.0.1"}]`;
    let hello = await command(`EHLO ${me}`);
    if (hello.code >= 500) hello = await command(`HELO ${me}`);
    if (hello.code !== 250) {
      throw new SmtpConnectionError(`${where} answered "${replyText(hello)}" to EHLO and HELO`, "ehlo");
    }
    return {
      banner: replyText(greeting),
      async send(from, recipient, content) {
        try {
          const mail = await command(`MAIL FROM:<${from}>`, "MAIL FROM");
          if (mail.code !== 250) return await refused("MAIL", mail);
          const rcpt = await command(`RCPT TO:<${recipient}>`, "RCPT TO");
          if (rcpt.code !== 250 && rcpt.code !== 251) return await refused("RCPT", rcpt);
          const data = await command("DATA");
          if (data.code !== 354) return await refused("DATA", data);
          write(dataBlock(content));
          const done = await reader.next(replyTimeoutMs, "the end of the message");
          if (done.code >= 200 && done.code < 300) return { accepted: true, reply: done };
          return await refused("message", done);
        } catch (err) {
          throw ioError(err, "io");
        }
        async function refused(stage: "MAIL" | "RCPT" | "DATA" | "message", reply: SmtpReply): Promise<SubmitOutcome> {
          // RFC 5321 §4.1.1.5: RSET aborts the transaction; the session stays usable for the next message.
          if (stage !== "message") await command("RSET");
          return { accepted: false, stage, reply };
        }
      },
      async close() {
        await command("QUIT").catch(() => {});
        socket.destroy();
      },
    };
  } catch (err) {
    socket.destroy();
    throw ioError(err, "greeting");
  }
}

/**
 * One message in a session of its own (`danelab check --image … --submit smtp://`, where messages go out in
 * parallel): resolves when the MTA accepted it, throws an error naming the step and the reply otherwise.
 */
export async function submitOne(
  target: SmtpTarget,
  from: string,
  recipient: string,
  content: string,
  timeoutMs: number,
): Promise<void> {
  const session = await openSmtpSession(target, { connectTimeoutMs: timeoutMs, replyTimeoutMs: timeoutMs });
  try {
    const r = await session.send(from, recipient, content);
    if (!r.accepted) throw new Error(`${target.host}:${target.port} refused at ${r.stage}: ${replyText(r.reply)}`);
  } finally {
    await session.close();
  }
}
