// SMTP limits over real sockets (listeners on 127.0.86.40-41): one recipient past maxRecipients gets 452 4.5.3 and the
// message still goes to the ones accepted; a mail store at its quota answers 452 4.3.1 at the end of DATA, never 250,
// and the lab keeps serving the next client.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MailStore } from "../lab/smtp/store.js";
import { deliverMessage, makePki, makeTestLab, SmtpTestClient, type TestLab, testMessage } from "./smtp.fixtures.js";

const dir = mkdtempSync(join(tmpdir(), "danelab-limits-"));
let lab: TestLab;

beforeAll(async () => {
  lab = makeTestLab(dir, makePki(join(dir, "pki")));
  await lab.start({ address: "127.0.86.40", limits: { maxRecipients: 3 } });
});
afterAll(async () => {
  await lab?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("maxRecipients", () => {
  it("answers 452 4.5.3 to the recipient past the limit and delivers to the accepted ones", async () => {
    const c = await SmtpTestClient.connect("127.0.86.40");
    await c.reply();
    await c.cmd("EHLO client.mta.example");
    expect((await c.cmd("MAIL FROM:<sender@mta.example>")).code).toBe(250);
    for (let i = 1; i <= 3; i++) expect((await c.cmd(`RCPT TO:<r${i}@a.lab.example>`)).code).toBe(250);
    const fourth = await c.cmd("RCPT TO:<r4@a.lab.example>");
    expect(fourth.text).toMatch(/^452 4\.5\.3 Error: too many recipients \(at most 3 per message\)/);
    expect((await c.cmd("DATA")).code).toBe(354);
    c.write(`${testMessage("limits-rcpt")}.\r\n`);
    const done = await c.reply();
    expect(done.code).toBe(250);
    c.end();
    const id = /queued as (\S+)/.exec(done.text)![1]!;
    expect(lab.store.get("a", id)?.recipients).toEqual(["r1@a.lab.example", "r2@a.lab.example", "r3@a.lab.example"]);
  });
});

describe("mail store quota", () => {
  it("answers 452 4.3.1 at the end of DATA once the quota is reached, and serves the next client", async () => {
    const store = new MailStore({ dir: join(dir, "small-mail"), quotaBytes: 6000 });
    const other = makeTestLab(join(dir, "quota"), makePki(join(dir, "pki2")));
    await other.start({ address: "127.0.86.41", store });
    try {
      const first = await deliverMessage("127.0.86.41", testMessage("quota-1", 40)); // ~3 KB
      expect(first.code).toBe(250);
      const second = await deliverMessage("127.0.86.41", testMessage("quota-2", 60)); // ~4 KB: past 6000 bytes
      expect(second.code).toBe(452);
      expect(second.text).toMatch(/^452 4\.3\.1 Insufficient system storage: the lab's mail store quota is reached/);
      expect(second.text).not.toContain(dir); // no path of this machine in a reply
      expect(store.list().map((m) => m.id)).toEqual([first.id]);
      const small = await deliverMessage("127.0.86.41", testMessage("quota-3", 5));
      expect(small.code).toBe(250);
    } finally {
      await other.close();
    }
  });
});
