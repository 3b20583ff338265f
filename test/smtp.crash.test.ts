// kill -9 in the middle of DATA: a child process runs a listener; five messages are acknowledged, a sixth is cut
// mid-DATA by SIGKILL. After a restart every acknowledged message is intact in new/, the cut one is nowhere (its tmp/
// file is removed at start), the event log still parses and continues, and the listener delivers again.
// Loopback address of this file: 127.0.12.30, port 25.
import { type ChildProcess, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { EventLog } from "../lab/events.js";
import { MailStore, splitStored } from "../lab/smtp/store.js";
import { deliverMessage, makePki, SmtpTestClient, testMessage, until, writeListenerChild } from "./smtp.fixtures.js";

const ADDRESS = "127.0.12.30";
let dir: string;
let childScript: string;
let child: ChildProcess | null = null;

const sha = (b: Buffer | string) => createHash("sha256").update(b).digest("hex");
const repo = join(import.meta.dirname, "..");

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "danelab-crash-"));
  const pki = makePki(join(dir, "pki"));
  childScript = writeListenerChild(dir, pki, ADDRESS);
});

afterAll(async () => {
  child?.kill("SIGKILL");
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function startChild(): Promise<ChildProcess> {
  const c = spawn(process.execPath, [childScript], { stdio: ["ignore", "pipe", "pipe"], cwd: repo });
  let out = "";
  c.stdout!.on("data", (d) => {
    out += d;
  });
  c.stderr!.on("data", (d) => {
    out += d;
  });
  await until(() => out.includes("ready") || c.exitCode !== null, 30_000, "child listener ready");
  if (!out.includes("ready")) throw new Error(`child listener did not start: ${out}`);
  return c;
}

it("kill -9 during DATA loses nothing acknowledged and leaves no partial file", async () => {
  child = await startChild();
  const acknowledged = new Map<string, string>();
  for (let i = 0; i < 5; i++) {
    const content = testMessage(`acked-${i}`, 100);
    const r = await deliverMessage(ADDRESS, content);
    expect(r.code).toBe(250);
    acknowledged.set(r.id!, sha(content));
  }

  // a sixth message, cut in the middle of DATA
  const c = await SmtpTestClient.connect(ADDRESS);
  await c.reply();
  await c.cmd("EHLO client.mta.example");
  await c.cmd("STARTTLS");
  await c.startTls("mx.a.lab.example");
  await c.cmd("EHLO client.mta.example");
  await c.cmd("MAIL FROM:<sender@mta.example>");
  await c.cmd("RCPT TO:<cut@a.lab.example>");
  expect((await c.cmd("DATA")).code).toBe(354);
  c.write(testMessage("cut-in-the-middle", 5000)); // ~350 KB, no final "."
  const tmp = join(dir, "mail", "a", "tmp");
  await until(
    () => readdirSync(tmp).some((f) => statSync(join(tmp, f)).size > 100_000),
    10_000,
    "the partial message in tmp/",
  );
  child.kill("SIGKILL");
  await until(() => child!.exitCode !== null || child!.signalCode !== null, 10_000, "child exit");
  c.socket.destroy();
  expect(readdirSync(tmp).length).toBe(1); // the cut delivery is in tmp/, never in new/
  expect(readdirSync(join(dir, "mail", "a", "new")).sort()).toEqual([...acknowledged.keys()].sort());

  // restart
  child = await startChild();
  expect(readdirSync(tmp)).toEqual([]);
  const newDir = join(dir, "mail", "a", "new");
  expect(readdirSync(newDir).sort()).toEqual([...acknowledged.keys()].sort());
  for (const [id, digest] of acknowledged) {
    expect(sha(splitStored(readFileSync(join(newDir, id))).content)).toBe(digest);
  }
  // the store's index is rebuilt from disk, the Received header read back
  const store = new MailStore({ dir: join(dir, "mail") });
  const listed = store.list({ scenario: "a" });
  expect(listed.map((m) => m.id).sort()).toEqual([...acknowledged.keys()].sort());
  expect(listed[0]!.tls?.version).toBe("TLSv1.3");
  expect(listed[0]!.recipients).toEqual(["probe@a.lab.example"]);

  const after = testMessage("after-restart", 10);
  const r = await deliverMessage(ADDRESS, after);
  expect(r.code).toBe(250);
  expect(readdirSync(newDir)).toHaveLength(6);

  // the event log survived the kill and continues its numbering
  child.kill("SIGTERM");
  await until(() => child!.exitCode !== null || child!.signalCode !== null, 10_000, "child exit");
  const log = new EventLog({ path: join(dir, "events.jsonl") });
  const messages = log.all({ kind: "message" });
  expect(messages.map((m) => m.id)).toEqual([...acknowledged.keys(), r.id]);
  const seqs = log.all().map((e) => e.seq);
  expect(new Set(seqs).size).toBe(seqs.length);
  await log.close();
}, 120_000);
