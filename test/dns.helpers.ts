// Shared by the lab/dns integration tests: dig with its output parsed, and raw UDP/TCP exchanges for what dig cannot
// send. (Tools are run with test/run.ts.)
// Loopback addresses of the DNS tests: 127.0.11.0/24 (port 53 or high ports).
import { createSocket } from "node:dgram";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import dnsPacket from "dns-packet";
import { type RunningDnsServer, startDnsServer } from "../lab/dns/server.js";
import { type Lab, startLab } from "../lab/index.js";
import { type RunningUnbound, startUnbound } from "../lab/resolver/unbound.js";
import { bindTrustAnchors, buildTree, type SignedTree, type ZoneSpec } from "../zones/index.js";
import { run } from "./run.js";

/** What the tests read off dig's output: status, header flags, record types per section, the raw text. */
export interface DigResult {
  status: string;
  flags: string[];
  /** Record types of the answer section, in order. */
  answer: string[];
  authority: string[];
  /** Answer records as "name class type rdata" (TTL left out, since caches count it down), sorted. */
  answerRecords: string[];
  text: string;
}

export async function dig(server: string, port: number, args: string[]): Promise<DigResult> {
  const r = await run("dig", [`@${server}`, "-p", String(port), "+time=2", "+tries=1", ...args]);
  const text = r.output;
  const status = /status: ([A-Z]+)/.exec(text)?.[1] ?? "NO-ANSWER";
  const flags = (/;; flags: ([a-z ]*);/.exec(text)?.[1] ?? "").split(" ").filter(Boolean);
  const lines = (title: string) => {
    const m = new RegExp(`;; ${title} SECTION:\\n([\\s\\S]*?)(?:\\n\\n|$)`).exec(text);
    return (m?.[1] ?? "")
      .split("\n")
      .filter((l) => l && !l.startsWith(";"))
      .map((l) => l.split(/\s+/));
  };
  const types = (title: string) => lines(title).map((f) => f[3] ?? "");
  const answerRecords = lines("ANSWER")
    .map((f) => [f[0], ...f.slice(2)].join(" "))
    .sort();
  return { status, flags, answer: types("ANSWER"), authority: types("AUTHORITY"), answerRecords, text };
}

/** What two validators must agree on for one question: rcode, AD, and the answer records of that type. */
export function digSummary(r: DigResult, type: string) {
  return {
    status: r.status,
    ad: r.flags.includes("ad"),
    records: r.answerRecords.filter((l) => l.split(" ")[2] === type),
  };
}

/**
 * A whole lab (`startLab`) with only `only` of the built-in scenarios and `--resolver unbound`, on the addresses
 * `<net>.11` (DNS), `.12` (unbound), `.13` (HTTP) and SMTP from `.20` (port 2525); `dir` holds its state.
 */
export async function startCatalogueLab(
  net: string,
  prefix: string,
  only: string[],
): Promise<{ lab: Lab; dir: string; close(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const lab = await startLab({
    stateDir: join(dir, "state"),
    only,
    dnsAddress: `${net}.11`,
    dnsPort: 53,
    resolver: "unbound",
    resolverAddress: `${net}.12`,
    resolverPort: 53,
    smtpFirstAddress: `${net}.20`,
    smtpPort: 2525,
    httpAddress: `${net}.13`,
    httpPort: 0,
  });
  return {
    lab,
    dir,
    close: async () => {
      await lab.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** [scenario, name relative to the scenario zone ("@" = apex), type, rcode, AD, answer records of that type] */
export type ScenarioQuestion = [string, string, string, string, boolean, number];

/**
 * Puts each question about a started lab's scenarios to unbound and to the lab's resolver mode (RD=1, UDP and TCP):
 * unbound must give the expected rcode, AD bit and record count, and the lab's answer must equal unbound's.
 */
export async function expectResolversAgree(
  o: { unbound: string; lab: string; suffix: string },
  questions: readonly ScenarioQuestion[],
  expect: (actual: unknown, message: string) => { toEqual(expected: unknown): void },
): Promise<void> {
  for (const [scenario, rel, type, status, ad, count] of questions) {
    const name = rel === "@" ? `${scenario}.${o.suffix}` : `${rel}.${scenario}.${o.suffix}`;
    const ub = digSummary(await dig(o.unbound, 53, ["+dnssec", "+time=4", name, type]), type);
    expect({ status: ub.status, ad: ub.ad, n: ub.records.length }, `${name} ${type} via unbound`).toEqual({
      status,
      ad,
      n: count,
    });
    for (const transport of ["+notcp", "+tcp"]) {
      const mine = digSummary(await dig(o.lab, 53, ["+dnssec", transport, name, type]), type);
      expect(mine, `${name} ${type} lab resolver mode ${transport}`).toEqual(ub);
    }
  }
}

export function query(
  name: string,
  type: dnsPacket.RecordType,
  o: { id?: number; rd?: boolean; do?: boolean; edns?: number | false } = {},
): Buffer {
  return dnsPacket.encode({
    type: "query",
    id: o.id ?? 4711,
    flags: o.rd ? dnsPacket.RECURSION_DESIRED : 0,
    questions: [{ type, name, class: "IN" }],
    additionals:
      o.edns === false
        ? []
        : [
            {
              type: "OPT",
              name: ".",
              udpPayloadSize: o.edns ?? 1232,
              flags: o.do ? dnsPacket.DNSSEC_OK : 0,
            } as dnsPacket.Answer,
          ],
  });
}

/** One UDP exchange; null when nothing came back within timeoutMs. */
export function udpExchange(address: string, port: number, msg: Buffer, timeoutMs = 1000): Promise<Buffer | null> {
  return new Promise((resolve) => {
    const socket = createSocket("udp4");
    const done = (reply: Buffer | null) => {
      clearTimeout(timer);
      socket.close();
      resolve(reply);
    };
    const timer = setTimeout(() => done(null), timeoutMs);
    socket.on("message", (m) => done(m));
    socket.on("error", () => done(null));
    socket.send(msg, port, address);
  });
}

/** A TCP connection that collects length-prefixed replies and notices when the server closes it. */
export class TcpClient {
  readonly socket: Socket;
  readonly replies: Buffer[] = [];
  closed = false;
  private pending = Buffer.alloc(0);
  private waiters: (() => void)[] = [];

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on("data", (chunk: Buffer) => {
      this.pending = Buffer.concat([this.pending, chunk]);
      while (this.pending.length >= 2 && this.pending.length >= 2 + this.pending.readUInt16BE(0)) {
        const len = this.pending.readUInt16BE(0);
        this.replies.push(this.pending.subarray(2, 2 + len));
        this.pending = this.pending.subarray(2 + len);
      }
      this.wake();
    });
    socket.on("close", () => {
      this.closed = true;
      this.wake();
    });
    socket.on("error", () => {});
  }

  static open(address: string, port: number): Promise<TcpClient> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: address, port }, () => resolve(new TcpClient(socket)));
      socket.once("error", reject);
    });
  }

  static frame(msg: Buffer): Buffer {
    const len = Buffer.alloc(2);
    len.writeUInt16BE(msg.length);
    return Buffer.concat([len, msg]);
  }

  write(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Resolves once `count` replies arrived or the connection closed, or after timeoutMs. */
  async waitFor(count: number, timeoutMs = 2000): Promise<Buffer[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.replies.length < count && !this.closed && Date.now() < deadline) {
      await new Promise<void>((res) => {
        const t = setTimeout(res, Math.max(1, deadline - Date.now()));
        this.waiters.push(() => {
          clearTimeout(t);
          res();
        });
      });
    }
    return this.replies;
  }

  async waitClosed(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    return this.closed;
  }

  end(): void {
    this.socket.destroy();
  }
}

/** RSS of this process in MiB. */
export function rssMiB(): number {
  return process.memoryUsage().rss / 1024 / 1024;
}

export interface LabWithUnbound {
  tree: SignedTree;
  dir: string;
  server: RunningDnsServer;
  unbound: RunningUnbound;
  /** delv's trust-anchor file. */
  anchors: string;
  /** unbound's own explanation (val-log-level 2), for assertion messages. */
  why(): string;
  /** dig +dnssec through unbound. */
  viaUnbound(name: string, type: string): Promise<DigResult>;
  /** delv through unbound, anchored at the lab's root. */
  delv(name: string, type: string): Promise<{ output: string }>;
  close(): Promise<void>;
}

/** The lab's DNS serving `tree` at `lab`:53 and the product's unbound (startUnbound) in front of it at `resolver`:53. */
export async function labWithUnbound(o: {
  /** Prefix of the temporary directory (keys, anchors, unbound's files); removed by close(). */
  prefix: string;
  lab: string;
  resolver: string;
  specs: ZoneSpec[];
  probeName: string;
}): Promise<LabWithUnbound> {
  const dir = mkdtempSync(join(tmpdir(), o.prefix));
  const tree = await buildTree(o.specs, { dir: join(dir, "keys") });
  const server = await startDnsServer({ address: o.lab, port: 53, tree });
  const anchors = join(dir, "anchors.conf");
  writeFileSync(anchors, bindTrustAnchors(tree.trustAnchors, "static-ds"));
  // The very configuration `danelab up --resolver unbound` runs, so what the tests prove is what users get.
  const unbound = await startUnbound({
    dir: join(dir, "unbound"),
    address: o.resolver,
    port: 53,
    labDns: { address: o.lab, port: 53 },
    trustAnchors: tree.trustAnchors,
    probeName: o.probeName,
  });
  const why = () => {
    try {
      return readFileSync(join(dir, "unbound", "unbound.log"), "utf8")
        .split("\n")
        .slice(-15)
        .join("\n");
    } catch {
      return "(no unbound log)";
    }
  };
  return {
    tree,
    dir,
    server,
    unbound,
    anchors,
    why,
    viaUnbound: (name, type) => dig(o.resolver, 53, ["+dnssec", "+time=4", name, type]),
    delv: (name, type) => run("delv", [`@${o.resolver}`, "-a", anchors, "+root=.", name, type], { timeoutMs: 20_000 }),
    async close() {
      await unbound.close();
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
