// The SMTP listener against real clients (swaks, openssl s_client, gnutls-cli) and a node:net/tls client: delivery
// over STARTTLS with the TLS facts in the event log and in the stored Received header, greylisting at the greeting
// and at RCPT, the STARTTLS behaviours, TLS quirks (key usage, static-RSA-only TLS 1.2, client certificates), relay
// refusal and the limits. Loopback addresses of this file: 127.0.12.1–127.0.12.39, port 25.
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LabEvent } from "../lab/events.js";
import { splitStored } from "../lab/smtp/store.js";
import { run } from "./run.js";
import { makePki, makeTestLab, SmtpTestClient, type TestLab, type TestPki, until } from "./smtp.fixtures.js";

const swaks = (args: string[]) => run("swaks", ["--timeout", "10", "--from", "sender@mta.example", ...args]);

let dir: string;
let pki: TestPki;
let lab: TestLab;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "danelab-smtp-"));
  pki = makePki(join(dir, "pki"));
  lab = makeTestLab(dir, pki);
});

afterAll(async () => {
  await lab?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const kinds = (evs: LabEvent[]) => evs.map((e) => e.kind);
const sessionsOf = (evs: LabEvent[]) => [...new Set(evs.map((e) => e.session as string))];
const closed = (address: string, n: number) => () =>
  lab.eventsAt(address).filter((e) => e.kind === "close").length >= n;

describe("delivery over STARTTLS", () => {
  it("swaks --tls delivers; events show TLS 1.3 and the SNI; the stored file carries the Received header", async () => {
    await lab.start({ address: "127.0.12.1" });
    const r = await swaks([
      "--server",
      "127.0.12.1",
      "--tls",
      "--tls-sni",
      "mx.a.lab.example",
      "--to",
      "run-7@a.lab.example",
      "--header",
      "Subject: probe",
    ]);
    expect(r.output).toContain("250 2.0.0 Ok: queued as");
    expect(r.code).toBe(0);
    await until(closed("127.0.12.1", 1), 5000, "close event");
    const evs = lab.eventsAt("127.0.12.1");
    expect(kinds(evs)).toEqual([
      "connect",
      "greeting",
      "command",
      "ehlo",
      "command",
      "tls",
      "command",
      "ehlo",
      "command",
      "command",
      "rcpt",
      "command",
      "message",
      "command",
      "command",
      "close",
    ]);
    const ehlo1 = evs.find((e) => e.kind === "ehlo")!;
    expect(ehlo1.starttlsOffered).toBe(true);
    const tls = evs.find((e) => e.kind === "tls")!;
    expect(tls.version).toBe("TLSv1.3");
    expect(tls.sni).toBe("mx.a.lab.example");
    expect(tls.clientCertificate).toBeNull();
    const rcpt = evs.find((e) => e.kind === "rcpt")!;
    expect(rcpt).toMatchObject({ recipient: "run-7@a.lab.example", code: 250, run: "7" });
    const msg = evs.find((e) => e.kind === "message")!;
    expect(msg).toMatchObject({ tls: true, recipients: ["run-7@a.lab.example"], run: "7" });
    expect(evs.at(-1)).toMatchObject({ kind: "close", reason: "quit", starttlsUsed: true, messages: 1 });

    const path = msg.path as string;
    expect(path).toContain(join("mail", "a", "new"));
    const file = readFileSync(path);
    const { trace, content } = splitStored(file);
    expect(trace).toMatch(/^Return-Path: <sender@mta\.example>\r\n/);
    expect(trace).toContain("with ESMTPS");
    expect(trace).toMatch(/\(using TLSv1\.3 with cipher TLS_AES_\d+_GCM_SHA\d+; SNI mx\.a\.lab\.example\)/);
    expect(trace).toContain("for <run-7@a.lab.example>;");
    expect(content.toString()).toContain("Subject: probe");
    expect(msg.size).toBe(content.length);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, "mail")).mode & 0o777).toBe(0o700);
    expect(lab.store.list({ scenario: "a" }).map((m) => m.id)).toContain(msg.id);
  });

  it("refuses recipients outside the lab suffix with 550 5.7.1 (never a relay)", async () => {
    const r = await swaks(["--server", "127.0.12.1", "--tls", "--to", "someone@gmail.example"]);
    expect(r.output).toMatch(/<~\*?\s+550 5\.7\.1 /);
    expect(r.code).not.toBe(0);
    await until(() => lab.eventsAt("127.0.12.1").some((e) => e.kind === "rcpt" && e.code === 550), 5000, "rcpt 550");
  });
});

describe("greeting", () => {
  it("comes at once: a client that sends EHLO before the 220 gets the 220, then its 250, not 421", async () => {
    // smtp-server alone would hold the 220 back 100 ms and answer such a client "421 You talk too soon".
    await lab.start({ address: "127.0.12.23" });
    const c = await SmtpTestClient.connect("127.0.12.23");
    c.socket.write("EHLO early.example\r\n");
    expect((await c.reply()).code).toBe(220);
    const ehlo = await c.reply();
    expect(ehlo.code).toBe(250);
    expect(ehlo.text).toContain("STARTTLS");
    c.end();
    await until(closed("127.0.12.23", 1), 5000, "close event");
    expect(kinds(lab.eventsAt("127.0.12.23")).slice(0, 4)).toEqual(["connect", "greeting", "command", "ehlo"]);
  });
});

describe("greylisting", () => {
  it("connection level: two 421 4.7.0 greetings without delivery, the third connection delivers", async () => {
    await lab.start({ address: "127.0.12.2", greylist: { connections: 2 } });
    const args = ["--server", "127.0.12.2", "--tls", "--to", "probe@a.lab.example"];
    const first = await swaks(args);
    const second = await swaks(args);
    expect(first.output).toMatch(/<\*\*\s+421 4\.7\.0 /);
    expect(second.output).toMatch(/<\*\*\s+421 4\.7\.0 /);
    expect(first.output).not.toContain("STARTTLS");
    const third = await swaks(args);
    expect(third.code).toBe(0);
    expect(third.output).toContain("250 2.0.0 Ok: queued as");
    await until(closed("127.0.12.2", 3), 5000, "three closes");
    const evs = lab.eventsAt("127.0.12.2");
    const greetings = evs.filter((e) => e.kind === "greeting");
    expect(greetings.map((g) => [g.code, g.greylisted])).toEqual([
      [421, true],
      [421, true],
      [220, false],
    ]);
    expect(evs.filter((e) => e.kind === "message")).toHaveLength(1);
    expect(evs.filter((e) => e.kind === "close").map((e) => e.reason)).toEqual([
      "server-closed",
      "server-closed",
      "quit",
    ]);
  });

  it("an allow-listed client address delivers on its first connection", async () => {
    await lab.start({ address: "127.0.12.3", greylist: { connections: 2, rcptSeconds: 60 } });
    lab.allowList.add("127.0.12.201");
    const r = await swaks([
      "--server",
      "127.0.12.3",
      "--local-interface",
      "127.0.12.201",
      "--tls",
      "--to",
      "probe@a.lab.example",
    ]);
    expect(r.code).toBe(0);
    expect(r.output).toContain("250 2.0.0 Ok: queued as");
    // a client not on the list is still greylisted at the same listener
    const other = await swaks([
      "--server",
      "127.0.12.3",
      "--local-interface",
      "127.0.12.202",
      "--to",
      "probe@a.lab.example",
    ]);
    expect(other.output).toMatch(/421 4\.7\.0 /);
  });

  it("RCPT level: 451 4.7.1 on the first attempt, accepted after S seconds", async () => {
    await lab.start({ address: "127.0.12.4", greylist: { rcptSeconds: 1 } });
    const args = ["--server", "127.0.12.4", "--tls", "--to", "run-gl@a.lab.example"];
    const first = await swaks(args);
    expect(first.output).toMatch(/<~\*?\s+451 4\.7\.1 /);
    expect(first.code).not.toBe(0);
    const tooSoon = await swaks(args);
    expect(tooSoon.output).toMatch(/451 4\.7\.1 /);
    await new Promise((r) => setTimeout(r, 1100));
    const later = await swaks(args);
    expect(later.code).toBe(0);
    expect(later.output).toContain("250 2.0.0 Ok: queued as");
    await until(closed("127.0.12.4", 3), 5000, "three closes");
    const rcpts = lab.eventsAt("127.0.12.4").filter((e) => e.kind === "rcpt");
    expect(rcpts.map((e) => e.code)).toEqual([451, 451, 250]);
    expect(rcpts.every((e) => e.run === "gl")).toBe(true);
  });
});

describe("STARTTLS behaviours", () => {
  it("absent: EHLO never offers STARTTLS and the verb is refused", async () => {
    await lab.start({ address: "127.0.12.5", starttls: "absent" });
    const r = await swaks(["--server", "127.0.12.5", "--tls", "--to", "probe@a.lab.example"]);
    expect(r.code).not.toBe(0);
    expect(r.output).not.toMatch(/250[- ]STARTTLS/);
    const c = await SmtpTestClient.connect("127.0.12.5");
    expect((await c.reply()).code).toBe(220);
    const ehlo = await c.cmd("EHLO client.example");
    expect(ehlo.code).toBe(250);
    expect(ehlo.text).not.toContain("STARTTLS");
    const st = await c.cmd("STARTTLS");
    expect(st.code).toBe(500);
    c.end();
    await until(closed("127.0.12.5", 2), 5000, "closes");
    const ehlos = lab.eventsAt("127.0.12.5").filter((e) => e.kind === "ehlo");
    expect(ehlos.length).toBeGreaterThan(0);
    expect(ehlos.every((e) => e.starttlsOffered === false)).toBe(true);
  });

  it("refused: STARTTLS is advertised, then answered 454 4.7.0", async () => {
    await lab.start({ address: "127.0.12.6", starttls: "refused" });
    const r = await swaks(["--server", "127.0.12.6", "--tls", "--to", "probe@a.lab.example"]);
    expect(r.output).toMatch(/250[- ]STARTTLS/);
    expect(r.output).toMatch(/454 4\.7\.0 /);
    expect(r.code).not.toBe(0);
    await until(closed("127.0.12.6", 1), 5000, "close");
    const evs = lab.eventsAt("127.0.12.6");
    expect(evs.find((e) => e.kind === "tls-error")).toMatchObject({ stage: "refused" });
    expect(evs.find((e) => e.kind === "command" && e.command === "STARTTLS")).toMatchObject({ code: 454 });
  });

  it("abort: the server cuts the handshake after the ClientHello; openssl s_client fails; the SNI is recorded", async () => {
    await lab.start({ address: "127.0.12.7", starttls: "abort" });
    const r = await run(
      "openssl",
      ["s_client", "-starttls", "smtp", "-connect", "127.0.12.7:25", "-servername", "mx.a.lab.example"],
      { input: "QUIT\n" },
    );
    expect(r.code).not.toBe(0);
    expect(r.output).not.toMatch(/Cipher is (?!\(NONE\))/);
    await until(closed("127.0.12.7", 1), 5000, "close");
    const evs = lab.eventsAt("127.0.12.7");
    expect(evs.find((e) => e.kind === "tls-error")).toMatchObject({
      stage: "aborted-by-server",
      sni: "mx.a.lab.example",
    });
    expect((evs.find((e) => e.kind === "tls-error")!.clientHello as { versions: string[] }).versions).toContain(
      "TLSv1.3",
    );
    expect(evs.some((e) => e.kind === "tls")).toBe(false);
  });

  it("a client that completes the handshake and leaves without a command is recorded as such", async () => {
    await lab.start({ address: "127.0.12.16" });
    const seen = new Set(lab.eventsAt("127.0.12.16").map((e) => e.session));
    const c = await SmtpTestClient.connect("127.0.12.16");
    await c.reply();
    await c.cmd("EHLO quiet.example");
    expect((await c.cmd("STARTTLS")).code).toBe(220);
    const t = await c.startTls("mx.a.lab.example");
    const session = () => lab.eventsAt("127.0.12.16").find((e) => e.kind === "tls" && !seen.has(e.session))?.session;
    await until(() => session() !== undefined, 5000, "tls event");
    t.end();
    await until(
      () => lab.eventsAt("127.0.12.16").some((e) => e.kind === "close" && e.session === session()),
      5000,
      "close",
    );
    const close = lab.eventsAt("127.0.12.16").find((e) => e.kind === "close" && e.session === session())!;
    expect(close.reason).toBe("closed-after-handshake-without-command");
  });
});

describe("TLS quirks", () => {
  it("gnutls-cli refuses a keyEncipherment-only RSA leaf in TLS 1.3 (Key usage violation); the event log records what the server saw", async () => {
    await lab.start({
      address: "127.0.12.8",
      host: "mx.ku.lab.example",
      credentials: [{ key: pki.rsaKeyEnciphermentOnly.key, cert: pki.rsaKeyEnciphermentOnly.cert }],
    });
    const r = await run(
      "gnutls-cli",
      [
        "--starttls-proto=smtp",
        "--port",
        "25",
        "--sni-hostname",
        "mx.ku.lab.example",
        "--no-ca-verification",
        "127.0.12.8",
      ],
      { input: "" },
    );
    expect(r.code).not.toBe(0);
    expect(r.output).toMatch(/Key usage violation/i);
    await until(closed("127.0.12.8", 1), 5000, "close");
    const evs = lab.eventsAt("127.0.12.8");
    const err = evs.find((e) => e.kind === "tls-error")!;
    expect(err).toBeDefined();
    expect(err.stage).toBe("handshake");
    expect(err.sni).toBe("mx.ku.lab.example");
    // GnuTLS 3.7.9 rejects the server's CertificateVerify and sends a fatal internal_error(80) alert — recorded as
    // the server saw it (OpenSSL: "tlsv1 alert internal error ... SSL alert number 80")
    expect(err.alert).toBe("internal_error");
    expect(err.alertNumber).toBe(80);
    expect(String(err.error)).toContain("ERR_SSL_TLSV1_ALERT_INTERNAL_ERROR");
    expect(evs.some((e) => e.kind === "tls")).toBe(false);
    console.log(
      `[smtp] gnutls key-usage violation, server side: ${JSON.stringify({ alert: err.alert, error: err.error })}`,
    );
  });

  it("a client that refuses the certificate: the alert it sent is recorded (openssl: unknown_ca)", async () => {
    await lab.start({ address: "127.0.12.17" });
    const r = await run(
      "openssl",
      [
        "s_client",
        "-starttls",
        "smtp",
        "-connect",
        "127.0.12.17:25",
        "-servername",
        "mx.a.lab.example",
        "-CAfile",
        pki.client.certPath,
        "-verify_return_error",
      ],
      { input: "QUIT\n" },
    );
    expect(r.code).not.toBe(0);
    await until(closed("127.0.12.17", 1), 5000, "close");
    const evs = lab.eventsAt("127.0.12.17");
    expect(evs.find((e) => e.kind === "tls-error")).toMatchObject({
      stage: "handshake",
      alert: "unknown_ca",
      alertNumber: 48,
      sni: "mx.a.lab.example",
    });
    expect(evs.at(-1)).toMatchObject({ kind: "close", reason: "error", starttlsUsed: false });
  });

  it("TLS 1.2 static-RSA only: AES128-GCM-SHA256 works, ECDHE is refused", async () => {
    await lab.start({ address: "127.0.12.9", tls: { maxVersion: "TLSv1.2", ciphers: "AES128-GCM-SHA256" } });
    const ok = await run(
      "openssl",
      ["s_client", "-starttls", "smtp", "-connect", "127.0.12.9:25", "-tls1_2", "-cipher", "AES128-GCM-SHA256"],
      { input: "QUIT\n" },
    );
    expect(ok.output).toMatch(/Cipher is AES128-GCM-SHA256/);
    const ecdhe = await run(
      "openssl",
      [
        "s_client",
        "-starttls",
        "smtp",
        "-connect",
        "127.0.12.9:25",
        "-tls1_2",
        "-cipher",
        "ECDHE-RSA-AES128-GCM-SHA256",
      ],
      { input: "QUIT\n" },
    );
    expect(ecdhe.code).not.toBe(0);
    expect(ecdhe.output).not.toMatch(/Cipher is ECDHE/);
    await until(closed("127.0.12.9", 2), 5000, "closes");
    const evs = lab.eventsAt("127.0.12.9");
    expect(evs.find((e) => e.kind === "tls")).toMatchObject({ version: "TLSv1.2", cipher: "AES128-GCM-SHA256" });
    const err = evs.find((e) => e.kind === "tls-error")!;
    expect(err.stage).toBe("handshake");
    expect(String(err.error)).toMatch(/no shared cipher/i);
  });

  it("TLS 1.3 only: a TLS 1.2-only client is refused (its ClientHello recorded), a TLS 1.3 client gets in", async () => {
    await lab.start({ address: "127.0.12.18", tls: { minVersion: "TLSv1.3" } });
    const old = await run("openssl", ["s_client", "-starttls", "smtp", "-connect", "127.0.12.18:25", "-tls1_2"], {
      input: "QUIT\n",
    });
    expect(old.code).not.toBe(0);
    const ok = await run("openssl", ["s_client", "-starttls", "smtp", "-connect", "127.0.12.18:25"], {
      input: "QUIT\n",
    });
    expect(ok.output).toMatch(/New, TLSv1\.3/);
    await until(closed("127.0.12.18", 2), 5000, "closes");
    const evs = lab.eventsAt("127.0.12.18");
    const err = evs.find((e) => e.kind === "tls-error")!;
    expect(String(err.error)).toMatch(/unsupported protocol|version/i);
    expect((err.clientHello as { versions: string[] }).versions).toEqual(["TLSv1.2"]);
    expect(evs.find((e) => e.kind === "tls")).toMatchObject({ version: "TLSv1.3" });
  });

  it("client certificate requested (not required): openssl s_client -cert shows up in the tls event", async () => {
    await lab.start({ address: "127.0.12.10", tls: { requestClientCert: true } });
    const withCert = await run(
      "openssl",
      [
        "s_client",
        "-starttls",
        "smtp",
        "-connect",
        "127.0.12.10:25",
        "-cert",
        pki.client.certPath,
        "-key",
        pki.client.keyPath,
      ],
      { input: "QUIT\n" },
    );
    expect(withCert.output).toMatch(/Cipher is/);
    const without = await run("openssl", ["s_client", "-starttls", "smtp", "-connect", "127.0.12.10:25"], {
      input: "QUIT\n",
    });
    expect(without.output).toMatch(/Cipher is/);
    await until(closed("127.0.12.10", 2), 5000, "closes");
    const tlsEvents = lab.eventsAt("127.0.12.10").filter((e) => e.kind === "tls");
    expect(tlsEvents[0]!.clientCertificate).toBe("CN=client.mta.example");
    expect(tlsEvents[0]!.clientCertificateError).toBeTruthy(); // not verified against any CA: recorded, not refused
    expect(tlsEvents[1]!.clientCertificate).toBeNull();
  });

  it("RSA + ECDSA at once, and a certificate chosen by SNI", async () => {
    await lab.start({
      address: "127.0.12.11",
      credentials: [
        { key: pki.rsa.key, cert: pki.rsa.cert },
        { key: pki.ecdsa.key, cert: pki.ecdsa.cert },
      ],
      sni: [{ names: ["sni.other.lab.example"], credentials: [{ key: pki.sniOther.key, cert: pki.sniOther.cert }] }],
    });
    const sclient = (extra: string[]) =>
      run("openssl", ["s_client", "-starttls", "smtp", "-connect", "127.0.12.11:25", ...extra], { input: "QUIT\n" });
    const ec = await sclient(["-servername", "mx.a.lab.example", "-sigalgs", "ECDSA+SHA256"]);
    const rsa = await sclient(["-servername", "mx.a.lab.example", "-sigalgs", "rsa_pss_rsae_sha256"]);
    const other = await sclient(["-servername", "sni.other.lab.example"]);
    expect(ec.output).toMatch(/Peer signature type: ECDSA/);
    expect(rsa.output).toMatch(/Peer signature type: RSA-PSS/);
    expect(other.output).toMatch(/subject=CN ?= ?sni\.other\.lab\.example/);
    await until(closed("127.0.12.11", 3), 5000, "closes");
    const tlsEvents = lab.eventsAt("127.0.12.11").filter((e) => e.kind === "tls");
    const subjects = tlsEvents.map((e) => (e.serverCertificate as { subject: string }).subject);
    expect(subjects).toEqual(["CN=mx.a.lab.example", "CN=mx.a.lab.example", "CN=sni.other.lab.example"]);
    const digests = new Set(tlsEvents.map((e) => (e.serverCertificate as { sha256: string }).sha256));
    expect(digests.size).toBe(3);
    expect(tlsEvents.map((e) => e.sni)).toEqual(["mx.a.lab.example", "mx.a.lab.example", "sni.other.lab.example"]);
  });
});

describe("limits", () => {
  it("SIZE is advertised and a bigger message gets 552 5.3.4 and is not stored", async () => {
    await lab.start({ address: "127.0.12.12", limits: { maxMessageSize: 2000 } });
    const before = lab.store.list().length;
    const r = await swaks([
      "--server",
      "127.0.12.12",
      "--tls",
      "--to",
      "probe@a.lab.example",
      "--body",
      "x".repeat(5000),
    ]);
    expect(r.output).toMatch(/250[- ]SIZE 2000/);
    expect(r.output).toMatch(/552 5\.3\.4 /);
    expect(lab.store.list().length).toBe(before);
    const tmp = join(dir, "mail", "a", "tmp");
    await until(() => readdirSync(tmp).length === 0, 5000, "tmp/ empty");
  });

  it("a command line above the limit gets 500 5.5.2 and the connection is closed", async () => {
    await lab.start({ address: "127.0.12.13", limits: { maxLineLength: 200 } });
    const c = await SmtpTestClient.connect("127.0.12.13");
    await c.reply();
    c.write(`EHLO ${"a".repeat(1000)}\r\n`);
    const r = await c.reply();
    expect(r.text).toMatch(/^500 5\.5\.2 /);
    await until(() => c.closed, 7000, "server closes");
    await until(closed("127.0.12.13", 1), 5000, "close event");
    expect(lab.eventsAt("127.0.12.13").at(-1)).toMatchObject({ kind: "close", reason: "server-closed" });
  });

  it("connections per client address: the one above the limit gets 421 4.7.0", async () => {
    await lab.start({ address: "127.0.12.14", limits: { maxConnectionsPerAddress: 2 } });
    const a = await SmtpTestClient.connect("127.0.12.14");
    const b = await SmtpTestClient.connect("127.0.12.14");
    expect((await a.reply()).code).toBe(220);
    expect((await b.reply()).code).toBe(220);
    const c = await SmtpTestClient.connect("127.0.12.14");
    const r = await c.reply();
    expect(r.text).toMatch(/^421 4\.7\.0 .*too many connections/);
    a.end();
    b.end();
    await until(() => lab.eventsAt("127.0.12.14").filter((e) => e.kind === "close").length === 3, 5000, "closes");
    const d = await SmtpTestClient.connect("127.0.12.14");
    expect((await d.reply()).code).toBe(220);
    d.end();
  });

  it("per session: the 101st NOOP, the 21st error and a command past the overall cap get 421 4.7.0 and a close", async () => {
    await lab.start({ address: "127.0.12.21" });
    const junk = await SmtpTestClient.connect("127.0.12.21");
    await junk.reply();
    await junk.cmd("EHLO client.example");
    for (let i = 0; i < 100; i++) expect((await junk.cmd("NOOP")).code).toBe(250);
    expect((await junk.cmd("NOOP")).text).toMatch(/^421 4\.7\.0 .*too many NOOP\/RSET\/VRFY\/EXPN\/HELP commands/);
    await until(() => junk.closed, 5000, "server closes after junk");

    const errors = await SmtpTestClient.connect("127.0.12.21");
    await errors.reply();
    await errors.cmd("EHLO client.example");
    // RCPT before MAIL is a 503 sequence error, each one a 5xx reply.
    for (let i = 0; i < 20; i++) expect((await errors.cmd("RCPT TO:<x@a.lab.example>")).code).toBe(503);
    expect((await errors.cmd("RCPT TO:<x@a.lab.example>")).code).toBe(503);
    expect((await errors.reply()).text).toMatch(/^421 4\.7\.0 .*too many errors \(limit 20\)/);
    await until(() => errors.closed, 5000, "server closes after errors");

    await lab.start({ address: "127.0.12.22", limits: { maxCommands: 5 } });
    const many = await SmtpTestClient.connect("127.0.12.22");
    await many.reply();
    for (let i = 0; i < 5; i++) expect((await many.cmd("EHLO client.example")).code).toBe(250);
    expect((await many.cmd("EHLO client.example")).text).toMatch(/^421 4\.7\.0 .*too many commands in one session/);
    await until(closed("127.0.12.21", 2), 5000, "close events");
    await until(closed("127.0.12.22", 1), 5000, "close event");
    for (const address of ["127.0.12.21", "127.0.12.22"]) {
      const closes = lab.eventsAt(address).filter((e) => e.kind === "close");
      expect(closes.map((e) => e.reason)).toEqual(closes.map(() => "server-closed"));
    }
  });

  it("idle timeout: 421 4.4.2 and the close reason says timeout", async () => {
    await lab.start({ address: "127.0.12.15", limits: { idleTimeoutMs: 500 } });
    const c = await SmtpTestClient.connect("127.0.12.15");
    await c.reply();
    const r = await c.reply(5000);
    expect(r.text).toMatch(/^421 4\.4\.2 /);
    await until(closed("127.0.12.15", 1), 7000, "close event");
    const evs = lab.eventsAt("127.0.12.15");
    expect(evs.find((e) => e.kind === "reply")).toMatchObject({ code: 421 });
    expect(evs.at(-1)).toMatchObject({ kind: "close", reason: "timeout" });
  });
});

it("the event log file holds one JSON object per line, the same events as memory", () => {
  const lines = readFileSync(join(dir, "events.jsonl"), "utf8").trim().split("\n");
  const parsed = lines.map((l) => JSON.parse(l) as LabEvent);
  expect(parsed.map((e) => e.seq)).toEqual(lab.events.all().map((e) => e.seq));
  expect(sessionsOf(parsed).length).toBeGreaterThan(10);
});

describe("start-up errors speak to a mail admin", () => {
  it("a taken address/port and a key that does not match its certificate", async () => {
    await lab.start({ address: "127.0.12.19" });
    await expect(lab.start({ address: "127.0.12.19" })).rejects.toThrow(
      /127\.0\.12\.19:25: that address and port are already in use/,
    );
    await expect(
      lab.start({ address: "127.0.12.20", credentials: [{ key: pki.ecdsa.key, cert: pki.rsa.cert }] }),
    ).rejects.toThrow(/mx\.a\.lab\.example \(scenario a\): the default certificate\/key pairs could not be loaded/);
    await expect(
      lab.start({ address: "127.0.12.20", credentials: [{ key: pki.rsa.key, cert: "not a certificate" }] }),
    ).rejects.toThrow(/\(scenario a\): the default certificate\/key pairs could not be loaded into TLS/);
    // Settings OpenSSL refuses surface from the one place the default context is made, named the same way.
    await expect(lab.start({ address: "127.0.12.20", tls: { ciphers: "NO-SUCH-CIPHER" } })).rejects.toThrow(
      /\(scenario a\): the TLS settings \(versions, ciphers\) with the default certificate\/key pairs could not be loaded into TLS \(.*no cipher match/i,
    );
  });
});
