// Test fixtures for the SMTP listener tests: a small PKI made with the openssl CLI (independent of certs/), a
// listener factory with a fresh event log and mail store, and a minimal SMTP client on node:net/node:tls.
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { connect as netConnect, type Socket } from "node:net";
import { join } from "node:path";
import { type TLSSocket, connect as tlsConnect } from "node:tls";
import { EventLog, type LabEvent } from "../lab/events.js";
import { GreylistAllowList } from "../lab/smtp/greylist.js";
import { type SmtpListener, type SmtpListenerOptions, startSmtpListener } from "../lab/smtp/listener.js";
import { MailStore } from "../lab/smtp/store.js";

export const SUFFIX = "lab.example";

export interface TestCert {
  key: string;
  cert: string;
  keyPath: string;
  certPath: string;
}
export interface TestPki {
  dir: string;
  rootPath: string;
  root: string;
  rsa: TestCert;
  ecdsa: TestCert;
  rsaKeyEnciphermentOnly: TestCert;
  sniOther: TestCert;
  client: TestCert;
}

function ossl(args: string[], cwd: string): void {
  execFileSync("openssl", args, { cwd, stdio: ["ignore", "ignore", "pipe"] });
}

/** Root CA (ECDSA P-256) and leaves for mx.a.lab.example; each leaf's `cert` is leaf + root, as presented. */
export function makePki(dir: string): TestPki {
  mkdirSync(dir, { recursive: true });
  ossl(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "root.key"], dir);
  ossl(
    [
      "req",
      "-x509",
      "-new",
      "-key",
      "root.key",
      "-subj",
      "/CN=danelab test root",
      "-days",
      "30",
      "-out",
      "root.pem",
      "-addext",
      "basicConstraints=critical,CA:TRUE",
      "-addext",
      "keyUsage=critical,keyCertSign,cRLSign",
    ],
    dir,
  );
  const leaf = (name: string, keyArgs: string[], cn: string, ext: string): TestCert => {
    ossl(keyArgs.concat(["-out", `${name}.key`]), dir);
    ossl(["req", "-new", "-key", `${name}.key`, "-subj", `/CN=${cn}`, "-out", `${name}.csr`], dir);
    writeFileSync(join(dir, `${name}.ext`), ext);
    ossl(
      [
        "x509",
        "-req",
        "-in",
        `${name}.csr`,
        "-CA",
        "root.pem",
        "-CAkey",
        "root.key",
        "-CAcreateserial",
        "-days",
        "30",
        "-extfile",
        `${name}.ext`,
        "-out",
        `${name}.crt`,
      ],
      dir,
    );
    const cert = readFileSync(join(dir, `${name}.crt`), "utf8") + readFileSync(join(dir, "root.pem"), "utf8");
    writeFileSync(join(dir, `${name}.chain.pem`), cert);
    return {
      key: readFileSync(join(dir, `${name}.key`), "utf8"),
      cert,
      keyPath: join(dir, `${name}.key`),
      certPath: join(dir, `${name}.crt`),
    };
  };
  const rsaKey = ["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"];
  const ecKey = ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"];
  const server = (ku: string, san: string) =>
    `basicConstraints=critical,CA:FALSE\nkeyUsage=critical,${ku}\nextendedKeyUsage=serverAuth\nsubjectAltName=${san}\n`;
  return {
    dir,
    rootPath: join(dir, "root.pem"),
    root: readFileSync(join(dir, "root.pem"), "utf8"),
    rsa: leaf("rsa", rsaKey, "mx.a.lab.example", server("digitalSignature,keyEncipherment", "DNS:mx.a.lab.example")),
    ecdsa: leaf("ecdsa", ecKey, "mx.a.lab.example", server("digitalSignature", "DNS:mx.a.lab.example")),
    rsaKeyEnciphermentOnly: leaf(
      "rsa-ke",
      rsaKey,
      "mx.ku.lab.example",
      server("keyEncipherment", "DNS:mx.ku.lab.example"),
    ),
    sniOther: leaf(
      "sni-other",
      ecKey,
      "sni.other.lab.example",
      server("digitalSignature", "DNS:sni.other.lab.example"),
    ),
    client: leaf(
      "client",
      ecKey,
      "client.mta.example",
      "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n",
    ),
  };
}

export interface TestLab {
  events: EventLog;
  store: MailStore;
  allowList: GreylistAllowList;
  listeners: SmtpListener[];
  start(opts: Partial<SmtpListenerOptions> & { address: string }): Promise<SmtpListener>;
  close(): Promise<void>;
  /** Events of one listener address, in order. */
  eventsAt(address: string, port?: number): LabEvent[];
}

export function makeTestLab(dir: string, pki: TestPki): TestLab {
  const events = new EventLog({ path: join(dir, "events.jsonl") });
  const store = new MailStore({ dir: join(dir, "mail") });
  const allowList = new GreylistAllowList();
  const listeners: SmtpListener[] = [];
  return {
    events,
    store,
    allowList,
    listeners,
    async start(opts) {
      const l = await startSmtpListener({
        scenario: "a",
        host: "mx.a.lab.example",
        port: 25,
        credentials: [{ key: pki.rsa.key, cert: pki.rsa.cert }],
        starttls: "offered",
        acceptDomains: [SUFFIX],
        allowList,
        store,
        events,
        ...opts,
      });
      listeners.push(l);
      return l;
    },
    async close() {
      await Promise.all(listeners.splice(0).map((l) => l.close()));
      await events.close();
    },
    eventsAt(address, port = 25) {
      return events.all().filter((e) => typeof e.listener === "string" && e.listener.endsWith(` ${address}:${port}`));
    },
  };
}

/** A line-oriented SMTP client for tests: `reply()` reads one (multi-line) reply, `cmd()` sends and reads. */
export class SmtpTestClient {
  private buf = "";
  private waiters: (() => void)[] = [];
  closed = false;

  constructor(public socket: Socket | TLSSocket) {
    this.attach(socket);
  }

  static connect(host: string, port = 25, localAddress?: string): Promise<SmtpTestClient> {
    return new Promise((resolve, reject) => {
      const s = netConnect({ host, port, ...(localAddress ? { localAddress } : {}) }, () =>
        resolve(new SmtpTestClient(s)),
      );
      s.once("error", reject);
    });
  }

  private attach(s: Socket | TLSSocket) {
    s.setEncoding("latin1");
    s.on("data", (d: string) => {
      this.buf += d;
      for (const w of this.waiters.splice(0)) w();
    });
    s.on("close", () => {
      this.closed = true;
      for (const w of this.waiters.splice(0)) w();
    });
    s.on("error", () => {});
  }

  /** Next complete reply: { code, lines }; code 0 when the connection closed first. */
  async reply(timeoutMs = 10_000): Promise<{ code: number; lines: string[]; text: string }> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = /^(?:\d{3}-[^\n]*\n)*\d{3}(?: [^\n]*)?\r?\n/.exec(this.buf);
      if (m) {
        this.buf = this.buf.slice(m[0].length);
        const lines = m[0].trimEnd().split(/\r?\n/);
        return { code: Number(lines[lines.length - 1]!.slice(0, 3)), lines, text: m[0] };
      }
      if (this.closed) return { code: 0, lines: [], text: this.buf };
      if (Date.now() > deadline)
        throw new Error(`no SMTP reply within ${timeoutMs} ms (buffer: ${this.buf.slice(0, 200)})`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 200);
      });
    }
  }

  write(data: string | Buffer) {
    this.socket.write(data);
  }

  async cmd(line: string) {
    this.write(`${line}\r\n`);
    return this.reply();
  }

  /** STARTTLS upgrade of this connection (after a 220 to STARTTLS). */
  async startTls(servername?: string, extra: Record<string, unknown> = {}): Promise<TLSSocket> {
    const raw = this.socket as Socket;
    raw.removeAllListeners("data");
    const t = tlsConnect({ socket: raw, rejectUnauthorized: false, ...(servername ? { servername } : {}), ...extra });
    await new Promise<void>((resolve, reject) => {
      t.once("secureConnect", () => resolve());
      t.once("error", reject);
    });
    this.socket = t;
    this.buf = "";
    this.attach(t);
    return t;
  }

  end() {
    this.socket.end();
  }
}

/** Waits until `predicate` holds (events are appended asynchronously to socket activity). */
export async function until(predicate: () => boolean, timeoutMs = 5000, what = "condition"): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** One complete delivery over STARTTLS with the test client; returns the final reply and the id from "queued as". */
export async function deliverMessage(
  address: string,
  content: string | Buffer,
  opts: { to?: string; port?: number; tls?: boolean; servername?: string } = {},
): Promise<{ code: number; text: string; id: string | null }> {
  const c = await SmtpTestClient.connect(address, opts.port ?? 25);
  try {
    const greeting = await c.reply();
    if (greeting.code !== 220) return { code: greeting.code, text: greeting.text, id: null };
    await c.cmd("EHLO client.mta.example");
    if (opts.tls !== false) {
      const st = await c.cmd("STARTTLS");
      if (st.code !== 220) return { code: st.code, text: st.text, id: null };
      await c.startTls(opts.servername ?? "mx.a.lab.example");
      await c.cmd("EHLO client.mta.example");
    }
    for (const line of ["MAIL FROM:<sender@mta.example>", `RCPT TO:<${opts.to ?? "probe@a.lab.example"}>`, "DATA"]) {
      const r = await c.cmd(line);
      if (r.code >= 400) return { code: r.code, text: r.text, id: null };
    }
    c.write(content);
    c.write(".\r\n");
    const r = await c.reply(30_000);
    await c.cmd("QUIT").catch(() => undefined);
    return { code: r.code, text: r.text, id: /queued as (\S+)/.exec(r.text)?.[1] ?? null };
  } finally {
    c.socket.destroy();
  }
}

/** A message body with CRLF line ends and a unique marker; `lines` lines of 70 characters. */
export function testMessage(marker: string, lines = 20): string {
  const body: string[] = [`Subject: ${marker}`, `Message-ID: <${marker}@mta.example>`, ""];
  for (let i = 0; i < lines; i++) body.push(`${marker} line ${i} `.padEnd(70, "x"));
  return `${body.join("\r\n")}\r\n`;
}

/**
 * Writes a Node ESM loader into `dir` that runs this repository's TypeScript directly (transpiled with the installed
 * typescript, no type check), for child processes of the tests. Returns its file URL for `module.register`.
 */
export function writeTsLoader(dir: string): string {
  const root = join(import.meta.dirname ?? new URL(".", import.meta.url).pathname, "..");
  const tsPath = join(root, "node_modules", "typescript", "lib", "typescript.js");
  const loader = join(dir, "ts-loader.mjs");
  writeFileSync(
    loader,
    `import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import ts from ${JSON.stringify(tsPath)};
export async function resolve(specifier, context, next) {
  if (specifier.endsWith(".js") && context.parentURL && context.parentURL.endsWith(".ts")) {
    const url = new URL(specifier.replace(/\\.js$/, ".ts"), context.parentURL);
    if (url.protocol === "file:" && existsSync(fileURLToPath(url))) return { url: url.href, shortCircuit: true };
  }
  return next(specifier, context);
}
export async function load(url, context, next) {
  if (!url.endsWith(".ts")) return next(url, context);
  const source = await readFile(fileURLToPath(url), "utf8");
  const out = ts.transpileModule(source, {
    fileName: fileURLToPath(url),
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
  });
  return { format: "module", source: out.outputText, shortCircuit: true };
}
`,
  );
  return new URL(`file://${loader}`).href;
}

/** A child-process script (ESM) that runs one listener on `address`:25 with its store/events under `dir`. */
export function writeListenerChild(dir: string, pki: TestPki, address: string): string {
  const repo = join(import.meta.dirname, "..");
  const url = (p: string) => new URL(`file://${join(repo, p)}`).href;
  const loader = writeTsLoader(dir);
  const script = join(dir, `child-${address}.mjs`);
  writeFileSync(
    script,
    `import { register } from "node:module";
register(${JSON.stringify(loader)});
const { startSmtpListener } = await import(${JSON.stringify(url("lab/smtp/listener.ts"))});
const { EventLog } = await import(${JSON.stringify(url("lab/events.ts"))});
const { MailStore } = await import(${JSON.stringify(url("lab/smtp/store.ts"))});
const { GreylistAllowList } = await import(${JSON.stringify(url("lab/smtp/greylist.ts"))});
const listener = await startSmtpListener({
  scenario: "a", host: "mx.a.lab.example", address: ${JSON.stringify(address)}, port: 25,
  credentials: [{ key: ${JSON.stringify(pki.rsa.key)}, cert: ${JSON.stringify(pki.rsa.cert)} }],
  starttls: "offered", acceptDomains: ["lab.example"], allowList: new GreylistAllowList(),
  store: new MailStore({ dir: ${JSON.stringify(join(dir, "mail"))} }),
  events: new EventLog({ path: ${JSON.stringify(join(dir, "events.jsonl"))} }),
});
process.stdout.write("ready " + listener.port + "\\n");
process.on("SIGTERM", () => listener.close().then(() => process.exit(0)));
`,
  );
  return script;
}
