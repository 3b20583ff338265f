// The Maildir store: durable delivery into new/ with the trace fields, modes 0700/0600, discard, restart recovery
// (stale tmp/ removed, index rebuilt from the Received header, on first use).
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  MailStore,
  type ReceivedTrace,
  rfc5322Date,
  runOfRecipient,
  StoreFullError,
  splitStored,
  traceFields,
} from "./store.js";

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

const trace: ReceivedTrace = {
  heloName: "client.mta.example",
  clientAddress: "127.0.0.1",
  byHost: "mx.ta-baseline.lab.example",
  protocol: "ESMTPS",
  tls: { version: "TLSv1.3", cipher: "TLS_AES_256_GCM_SHA384", sni: "mx.ta-baseline.lab.example" },
  sender: "sender@mta.example",
  recipients: ["run-42@ta-baseline.lab.example"],
  date: new Date("2026-11-29T05:13:41Z"),
};

describe("MailStore", () => {
  it("stores into <scenario>/new with Return-Path, Delivered-To and a Received header naming the TLS details", async () => {
    dir = mkdtempSync(join(tmpdir(), "store-"));
    const store = new MailStore({ dir: join(dir, "mail") });
    const content = "Subject: hi\r\n\r\nbody\r\n";
    const m = await store.deliver("ta-baseline", trace, content);
    expect(m.path).toBe(join(dir, "mail", "ta-baseline", "new", m.id));
    expect(m).toMatchObject({ size: content.length, run: "42", recipients: ["run-42@ta-baseline.lab.example"] });
    const file = readFileSync(m.path);
    const { trace: t, content: c } = splitStored(file);
    expect(c.toString()).toBe(content);
    expect(t).toBe(
      "Return-Path: <sender@mta.example>\r\n" +
        "Delivered-To: run-42@ta-baseline.lab.example\r\n" +
        "Received: from client.mta.example ([127.0.0.1])\r\n" +
        "\tby mx.ta-baseline.lab.example (danelab) with ESMTPS\r\n" +
        "\t(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384; SNI mx.ta-baseline.lab.example)\r\n" +
        `\tid ${m.id}\r\n` +
        "\tfor <run-42@ta-baseline.lab.example>; Sun, 29 Nov 2026 05:13:41 +0000\r\n",
    );
    expect(statSync(join(dir, "mail")).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, "mail", "ta-baseline")).mode & 0o777).toBe(0o700);
    expect(statSync(m.path).mode & 0o777).toBe(0o600);
    expect(store.read("ta-baseline", m.id)?.equals(file)).toBe(true);
  });

  it("a discarded draft leaves nothing behind; a restart removes stale tmp/ files and re-reads new/", async () => {
    dir = mkdtempSync(join(tmpdir(), "store-"));
    const root = join(dir, "mail");
    const store = new MailStore({ dir: root });
    const draft = await store.begin("ta-baseline", trace);
    await draft.write(Buffer.from("partial"));
    await draft.discard();
    expect(readdirSync(join(root, "ta-baseline", "tmp"))).toEqual([]);
    const kept = await store.deliver(
      "ta-baseline",
      { ...trace, tls: null, protocol: "ESMTP" },
      "Subject: x\r\n\r\ny\r\n",
    );
    writeFileSync(join(root, "ta-baseline", "tmp", "1.M1P1Q1.danelab"), "cut by kill -9");
    mkdirSync(join(root, "other", "tmp"), { recursive: true });
    writeFileSync(join(root, "other", "tmp", "x"), "stale");

    const again = new MailStore({ dir: root });
    expect(readdirSync(join(root, "ta-baseline", "tmp"))).toEqual([]);
    expect(readdirSync(join(root, "other", "tmp"))).toEqual([]);
    const listed = again.list();
    expect(listed).toHaveLength(1);
    expect(listed[0]).toMatchObject({
      id: kept.id,
      scenario: "ta-baseline",
      size: kept.size,
      tls: null,
      client: "127.0.0.1",
      heloName: "client.mta.example",
      sender: "sender@mta.example",
      recipients: ["run-42@ta-baseline.lab.example"],
      run: "42",
      receivedAt: "2026-11-29T05:13:41.000Z",
    });
  });

  it("reads stored messages only when first asked; messages delivered before and after that are each listed once", async () => {
    dir = mkdtempSync(join(tmpdir(), "store-"));
    const root = join(dir, "mail");
    const first = await new MailStore({ dir: root }).deliver("ta-baseline", trace, "Subject: 1\r\n\r\n1\r\n");
    const store = new MailStore({ dir: root });
    const second = await store.deliver("ta-baseline", trace, "Subject: 2\r\n\r\n2\r\n");
    expect(store.get("ta-baseline", first.id)).toMatchObject({ id: first.id, run: "42" });
    const third = await store.deliver("no-starttls", trace, "Subject: 3\r\n\r\n3\r\n");
    expect(
      store
        .list()
        .map((m) => m.id)
        .sort(),
    ).toEqual([first.id, second.id, third.id].sort());
    expect(store.list({ scenario: "no-starttls" }).map((m) => m.id)).toEqual([third.id]);
  });

  it("refuses a scenario name that is not a safe directory name", async () => {
    dir = mkdtempSync(join(tmpdir(), "store-"));
    const store = new MailStore({ dir: join(dir, "mail") });
    await expect(store.begin("../etc", trace)).rejects.toThrow(/cannot name a Maildir/);
  });
});

describe("trace helpers", () => {
  it("run ids, dates, and several recipients without a for clause", () => {
    expect(runOfRecipient("run-7@x.lab.example")).toBe("7");
    expect(runOfRecipient("run-a.b_c+tag@x.lab.example")).toBe("a.b_c");
    expect(runOfRecipient("probe@x.lab.example")).toBeNull();
    expect(rfc5322Date(new Date("2026-01-05T01:02:03Z"))).toBe("Mon, 05 Jan 2026 01:02:03 +0000");
    const t = traceFields("ID", { ...trace, recipients: ["a@x", "b@x"] }, new Date("2026-01-05T01:02:03Z"));
    expect(t).not.toContain("for <");
    expect(t).toContain("Delivered-To: a@x\r\nDelivered-To: b@x\r\n");
  });
});

describe("quota", () => {
  it("refuses a delivery past quotaBytes with StoreFullError (quota), counting what is already stored", async () => {
    dir = mkdtempSync(join(tmpdir(), "store-"));
    const store = new MailStore({ dir: join(dir, "mail"), quotaBytes: 4000 });
    await store.deliver("ta-baseline", trace, "x".repeat(2000));
    const err = await store.deliver("ta-baseline", trace, "y".repeat(2000)).catch((e: Error) => e);
    expect(err).toBeInstanceOf(StoreFullError);
    expect((err as StoreFullError).reason).toBe("quota");
    expect(readdirSync(join(dir, "mail", "ta-baseline", "tmp"))).toEqual([]); // the refused draft is gone
    await store.deliver("ta-baseline", trace, "small"); // what fits still goes in
    // A restart counts the stored files against the quota.
    const again = new MailStore({ dir: join(dir, "mail"), quotaBytes: 4000 });
    expect(await again.deliver("ta-baseline", trace, "z".repeat(2000)).catch((e: Error) => e.name)).toBe(
      "StoreFullError",
    );
  });
});
