// buildTree: what goes into each zone (SOA, NS, glue, DS, DNSKEY, NSEC chain with the right bitmaps, RRSIGs), faults
// as data, the key cache (0700/0600, warm start generates no keys) and errors a mail admin can act on.
import { createPrivateKey } from "node:crypto";
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dsDigest } from "./keys.js";
import { a, labSpecs, mailZone, rootAndSuffix } from "./test-fixtures.js";
import { buildTree } from "./tree.js";
import { type Answer, type SignedTree, ZoneError } from "./types.js";
import { compareNames } from "./wire.js";

// biome-ignore lint/suspicious/noExplicitAny: test access to record data of any type
const d = <T = any>(r: Answer | undefined): T => (r as unknown as { data: T }).data;

let tree: SignedTree;
beforeAll(async () => {
  tree = await buildTree(labSpecs(), { now: new Date() });
});

const nsecTypes = (zone: string, name: string) =>
  d<{ rrtypes: string[] } | undefined>(tree.zone(zone)!.rrset(name, "NSEC")[0])?.rrtypes;

describe("zone contents", () => {
  it("links each zone to its closest enclosing origin", () => {
    expect(tree.zone("")!.parent).toBeUndefined();
    expect(tree.zone("lab.example")!.parent).toBe("");
    expect(tree.zone("good.lab.example")!.parent).toBe("lab.example");
    expect(tree.zone("lab.example")!.cuts).toContain("plain.lab.example");
    expect(tree.zoneFor("_25._tcp.mx.good.lab.example")!.origin).toBe("good.lab.example");
    expect(tree.zoneFor("com")!.origin).toBe("");
  });

  it("puts NS, glue and a DS matching the child's KSK at a signed cut", () => {
    const parent = tree.zone("lab.example")!;
    const child = tree.zone("good.lab.example")!;
    expect(parent.rrset("good.lab.example", "NS").map((r) => d(r))).toEqual(["ns1.good.lab.example"]);
    expect(parent.rrset("ns1.good.lab.example", "A").map((r) => d(r))).toEqual(["127.0.53.1"]);
    const ds = d<{
      keyTag: number;
      digest: Buffer;
      digestType: number;
    }>(parent.rrset("good.lab.example", "DS")[0]);
    const ksk = child.rrset("good.lab.example", "DNSKEY").find((r) => d<{ flags: number }>(r).flags === 257)!;
    expect(ds.keyTag).toBe(child.keys.find((k) => k.flags === 257)!.keyTag);
    expect(ds.digestType).toBe(2);
    expect(ds.digest).toEqual(dsDigest("good.lab.example", d(ksk)));
  });

  it("publishes a DS that matches no key for ds: wrong", () => {
    const child = tree.zone("wrongds.lab.example")!;
    const ksk = child.rrset("wrongds.lab.example", "DNSKEY").find((r) => d<{ flags: number }>(r).flags === 257)!;
    const ds = d<{ digest: Buffer }>(tree.zone("lab.example")!.rrset("wrongds.lab.example", "DS")[0]);
    expect(ds.digest).not.toEqual(dsDigest("wrongds.lab.example", d(ksk)));
  });

  it("gives an unsigned child no DS, no DNSKEY, no NSEC, no RRSIG", () => {
    const plain = tree.zone("plain.lab.example")!;
    expect(tree.zone("lab.example")!.rrset("plain.lab.example", "DS")).toEqual([]);
    expect(plain.records().map((r) => r.type)).not.toContain("RRSIG");
    expect(plain.rrset("plain.lab.example", "DNSKEY")).toEqual([]);
    expect(plain.rrset("plain.lab.example", "SOA")).toHaveLength(1);
  });
});

describe("NSEC chain (RFC 4034 §4, RFC 4035 §2.3)", () => {
  it("type bitmaps: apex, data name, signed cut, unsigned cut", () => {
    expect(nsecTypes("good.lab.example", "good.lab.example")).toEqual(["NS", "SOA", "MX", "RRSIG", "NSEC", "DNSKEY"]);
    expect(nsecTypes("good.lab.example", "_25._tcp.mx.good.lab.example")).toEqual(["RRSIG", "NSEC", "TLSA"]);
    expect(nsecTypes("lab.example", "good.lab.example")).toEqual(["NS", "DS", "RRSIG", "NSEC"]);
    // The parent's proof that an unsigned child has no DS: NS and NSEC in the bitmap, no DS.
    expect(nsecTypes("lab.example", "plain.lab.example")).toEqual(["NS", "RRSIG", "NSEC"]);
  });

  it("links the owner names in canonical order and closes the loop at the origin; glue gets no NSEC", () => {
    const zone = tree.zone("lab.example")!;
    const nsecs = zone.records().filter((r) => r.type === "NSEC");
    const owners = nsecs.map((r) => r.name);
    expect([...owners].sort(compareNames)).toEqual(owners);
    expect(owners[0]).toBe("lab.example");
    nsecs.forEach((r, i) => {
      expect(d<{ nextDomain: string }>(r).nextDomain).toBe(owners[(i + 1) % owners.length]);
    });
    expect(owners).not.toContain("ns1.good.lab.example");
    expect(nsecs[0]!.ttl).toBe(300); // RFC 4034 §4: the SOA minimum
  });

  it("signs every authoritative RRset, and at a cut only DS and NSEC", () => {
    const zone = tree.zone("lab.example")!;
    expect(zone.signatures("good.lab.example", "DS")).toHaveLength(1);
    expect(zone.signatures("good.lab.example", "NSEC")).toHaveLength(1);
    expect(zone.signatures("good.lab.example", "NS")).toEqual([]);
    expect(zone.signatures("ns1.good.lab.example", "A")).toEqual([]);
    const dnskeySig = d<{ keyTag: number }>(zone.signatures("lab.example", "DNSKEY")[0]);
    expect(dnskeySig.keyTag).toBe(zone.keys.find((k) => k.flags === 257)!.keyTag);
  });

  it("dates signatures from a little before `now` to days ahead, expired ones in the past", () => {
    const now = Math.floor(Date.now() / 1000);
    const good = d<{
      inception: number;
      expiration: number;
    }>(tree.zone("good.lab.example")!.signatures("_25._tcp.mx.good.lab.example", "TLSA")[0]);
    expect(good.inception).toBeLessThan(now);
    expect(good.expiration).toBeGreaterThan(now + 3 * 86400);
    const old = d<{
      expiration: number;
    }>(tree.zone("expired.lab.example")!.signatures("_25._tcp.mx.expired.lab.example", "TLSA")[0]);
    expect(old.expiration).toBeLessThan(now);
  });
});

describe("zone file", () => {
  it("writes fully-qualified names with the SOA first", () => {
    const text = tree.zone("good.lab.example")!.toZoneFile();
    const lines = text.split("\n").filter((l) => l && !l.startsWith(";") && !l.startsWith("$"));
    expect(lines[0]).toMatch(
      /^good\.lab\.example\.\t3600\tIN\tSOA\tns1\.good\.lab\.example\. hostmaster\.good\.lab\.example\. /,
    );
    expect(text).toMatch(/^_25\._tcp\.mx\.good\.lab\.example\.\t300\tIN\tTLSA\t3 1 1 0101/m);
    expect(text).toMatch(/^good\.lab\.example\.\t300\tIN\tMX\t10 mx\.good\.lab\.example\.$/m);
    expect(text).toMatch(/\tRRSIG\tTLSA 13 6 300 \d{14} \d{14} \d+ good\.lab\.example\. /);
    expect(tree.zone("")!.toZoneFile()).toMatch(/^ns\.lab-root\.\t300\tIN\tNSEC\t\. A RRSIG NSEC$/m);
  });
});

describe("key cache", () => {
  let dir: string;
  beforeAll(() => {
    dir = join(mkdtempSync(join(tmpdir(), "zones-keys-")), "dnssec");
  });
  afterAll(() => rmSync(join(dir, ".."), { recursive: true, force: true }));

  it("generates keys once (0700 dir, 0600 files); a warm start loads them and keeps the key tags", async () => {
    const specs = [...rootAndSuffix(), mailZone("one"), mailZone("two", { algorithm: 15 })];
    const cold = await buildTree(specs, { dir });
    expect(cold.stats.keysGenerated).toBe(8);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    for (const f of readdirSync(dir)) expect(statSync(join(dir, f)).mode & 0o777).toBe(0o600);
    const first = readdirSync(dir)[0]!;
    chmodSync(join(dir, first), 0o644);
    const warm = await buildTree(specs, { dir });
    expect(statSync(join(dir, first)).mode & 0o777).toBe(0o600);
    expect(warm.stats.keysGenerated).toBe(0);
    expect(warm.stats.keysLoaded).toBe(8);
    expect(warm.trustAnchors).toEqual(cold.trustAnchors);
    expect(warm.zone("two.lab.example")!.keys).toEqual(cold.zone("two.lab.example")!.keys);
  });

  it("keys written as PEM by earlier versions are read, kept (same trust anchor) and converted to JWK", async () => {
    const specs = [...rootAndSuffix(), mailZone("one"), mailZone("two", { algorithm: 15 })];
    const cold = await buildTree(specs, { dir });
    // What an earlier version left: the same keys as PKCS#8 PEM files with the same stem.
    for (const f of readdirSync(dir).filter((n) => n.endsWith(".jwk"))) {
      const key = createPrivateKey({ key: JSON.parse(readFileSync(join(dir, f), "utf8")), format: "jwk" });
      writeFileSync(join(dir, f.replace(/\.jwk$/, ".pem")), key.export({ format: "pem", type: "pkcs8" }), {
        mode: 0o600,
      });
      rmSync(join(dir, f));
    }
    const upgraded = await buildTree(specs, { dir });
    expect(upgraded.stats.keysGenerated).toBe(0);
    expect(upgraded.trustAnchors).toEqual(cold.trustAnchors);
    expect(readdirSync(dir).filter((n) => n.endsWith(".pem"))).toEqual([]);
    for (const f of readdirSync(dir)) expect(statSync(join(dir, f)).mode & 0o777).toBe(0o600);
    expect((await buildTree(specs, { dir })).trustAnchors).toEqual(cold.trustAnchors);
  });
});

describe("bad input", () => {
  it("needs the root zone", async () => {
    await expect(buildTree([mailZone("x")], {})).rejects.toThrow(/no root zone/);
  });
  it("rejects a record outside its zone, naming both", async () => {
    const specs = [...rootAndSuffix(), mailZone("x", { extra: [a("mx.other.example", "127.0.0.9")] })];
    await expect(buildTree(specs, {})).rejects.toThrow(ZoneError);
    await expect(buildTree(specs, {})).rejects.toThrow(
      /zone x\.lab\.example: the A record at mx\.other\.example lies outside/,
    );
  });
  it("rejects a record that belongs in a delegated child", async () => {
    const specs = [...rootAndSuffix(), mailZone("x")];
    specs[1]!.records.push(a("mx.x.lab.example", "127.0.0.9"));
    await expect(buildTree(specs, {})).rejects.toThrow(/lies in the delegated zone x\.lab\.example/);
  });
  it("rejects a signature fault on an RRset that does not exist", async () => {
    const specs = [
      ...rootAndSuffix(),
      mailZone("x", { faults: [{ kind: "bad-signature", name: "nope.x.lab.example", type: "TLSA" }] }),
    ];
    await expect(buildTree(specs, {})).rejects.toThrow(/fault bad-signature names TLSA at nope\.x\.lab\.example/);
  });
  it("rejects CNAME plus other data", async () => {
    const specs = [
      ...rootAndSuffix(),
      mailZone("x", { extra: [{ name: "mx.x.lab.example", type: "CNAME", ttl: 300, class: "IN", data: "y.example" }] }),
    ];
    await expect(buildTree(specs, {})).rejects.toThrow(/has a CNAME and also A/);
  });
});
