// An SMTP load generator for the benchmark: `concurrency` clients, each delivering small messages over STARTTLS
// (TLS 1.3) back to back, one connection per message, for a fixed time. A delivery's latency runs from the TCP connect
// to the 250 reply after the final dot. The same generator drives the lab and the peer (Postfix's smtpd), so the ratio
// compares servers, not clients.
import { type Socket, connect as tcpConnect } from "node:net";
import { type TLSSocket, connect as tlsConnect } from "node:tls";
import { percentile } from "./stats.js";

export interface SmtpLoadOptions {
  address: string;
  port: number;
  /** SNI and EHLO target name. */
  serverName: string;
  recipient: string;
  concurrency: number;
  seconds: number;
}

export interface SmtpLoadResult {
  deliveries: number;
  failures: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  firstError: string | null;
}

/** Reads SMTP replies (multi-line aware) from a socket. */
class ReplyReader {
  private buffer = "";
  private waiting: ((reply: { code: number; text: string }) => void) | null = null;
  private failed: ((err: Error) => void) | null = null;
  private lines: string[] = [];

  attach(socket: Socket | TLSSocket) {
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      this.buffer += chunk;
      let i = this.buffer.indexOf("\n");
      while (i >= 0) {
        const line = this.buffer.slice(0, i).replace(/\r$/, "");
        this.buffer = this.buffer.slice(i + 1);
        this.lines.push(line);
        // RFC 5321 §4.2.1: "250-" continues, "250 " ends a reply.
        if (/^\d{3}( |$)/.test(line)) {
          const text = this.lines.join("\n");
          this.lines = [];
          const w = this.waiting;
          this.waiting = null;
          this.failed = null;
          w?.({ code: Number(line.slice(0, 3)), text });
        }
        i = this.buffer.indexOf("\n");
      }
    });
    socket.on("error", (err) => this.failed?.(err));
    socket.on("close", () => this.failed?.(new Error("connection closed")));
  }

  /** Detach from the cleartext socket before STARTTLS so its bytes are not read twice. */
  detach(socket: Socket) {
    socket.removeAllListeners("data");
    socket.removeAllListeners("error");
    socket.removeAllListeners("close");
  }

  next(): Promise<{ code: number; text: string }> {
    return new Promise((res, rej) => {
      this.waiting = res;
      this.failed = rej;
    });
  }
}

async function expectCode(reader: ReplyReader, socket: Socket | TLSSocket, line: string | null, code: number) {
  const reply = reader.next();
  if (line !== null) socket.write(`${line}\r\n`);
  const r = await reply;
  if (r.code !== code) throw new Error(`${line ?? "greeting"} → ${r.text}`);
}

async function deliverOne(o: SmtpLoadOptions, n: number): Promise<void> {
  const plain = tcpConnect({ host: o.address, port: o.port });
  plain.setNoDelay(true);
  const reader = new ReplyReader();
  reader.attach(plain);
  let secure: TLSSocket | null = null;
  try {
    await new Promise<void>((res, rej) => {
      plain.once("connect", () => res());
      plain.once("error", rej);
    });
    await expectCode(reader, plain, null, 220);
    await expectCode(reader, plain, "EHLO bench.client.example", 250);
    await expectCode(reader, plain, "STARTTLS", 220);
    reader.detach(plain);
    secure = tlsConnect({
      socket: plain,
      servername: o.serverName,
      minVersion: "TLSv1.3",
      rejectUnauthorized: false,
    });
    await new Promise<void>((res, rej) => {
      secure!.once("secureConnect", () => res());
      secure!.once("error", rej);
    });
    reader.attach(secure);
    await expectCode(reader, secure, "EHLO bench.client.example", 250);
    await expectCode(reader, secure, "MAIL FROM:<bench@client.example>", 250);
    await expectCode(reader, secure, `RCPT TO:<${o.recipient}>`, 250);
    await expectCode(reader, secure, "DATA", 354);
    const body =
      `From: bench@client.example\r\nTo: ${o.recipient}\r\nSubject: bench ${n}\r\n\r\n` +
      "A small message from the danelab benchmark.\r\n.";
    await expectCode(reader, secure, body, 250);
    secure.write("QUIT\r\n");
    secure.end();
  } finally {
    (secure ?? plain).destroy();
  }
}

export async function smtpLoad(o: SmtpLoadOptions): Promise<SmtpLoadResult> {
  const latencies: number[] = [];
  let failures = 0;
  let firstError: string | null = null;
  const deadline = performance.now() + o.seconds * 1000;
  let counter = 0;
  const worker = async () => {
    while (performance.now() < deadline) {
      const t = performance.now();
      try {
        await deliverOne(o, counter++);
        latencies.push(performance.now() - t);
      } catch (err) {
        failures++;
        firstError ??= (err as Error).message;
        await new Promise((r) => setTimeout(r, 10));
      }
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: o.concurrency }, worker));
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    deliveries: latencies.length,
    failures,
    perSecond: latencies.length / elapsed,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    firstError,
  };
}
