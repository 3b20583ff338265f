// Unit tests for the DNSSEC primitives against the RFCs' own examples: canonical name order (RFC 4034 §6.1), key tag
// (RFC 4034 Appendix B) and SHA-256 DS digest (RFC 4509 §2.3), canonical RRset order for signing (RFC 4034 §6.3), and
// sign → verify round trips for algorithms 8, 13 and 15.
import { generateKeyPairSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import { dnskeyPublicKey, dsDigest, keyTag, type ZoneKey } from "./keys.js";
import { signedData, signRRset, verifyRrsig } from "./sign.js";
import { type Answer, compareNames, nameWire } from "./wire.js";

// RFC 4509 §2.3 (the DNSKEY of RFC 4034 §5.4).
// biome-ignore lint/suspicious/noExplicitAny: test access to record data of any type
const d = <T = any>(r: Answer | undefined): T => (r as unknown as { data: T }).data;

const rfcKey = {
  flags: 256,
  algorithm: 5,
  key: Buffer.from(
    "AQOeiiR0GOMYkDshWoSKz9XzfwJr1AYtsmx3TGkJaNXVbfi/2pHm822aJ5iI9BMzNXxeYCmZDRD99WYwYqUSdjMmmAphXdvxegXd/M5+X7OrzKBaMbCVdFLUUh6DhweJBjEVv5f2wwjM9XzcnOf+EPbtG9DMBmADjFDc2w/rljwvFw==",
    "base64",
  ),
};

describe("canonical name order (RFC 4034 §6.1)", () => {
  it("sorts the RFC's example names", () => {
    const expected = [
      "example",
      "a.example",
      "yljkjljk.a.example",
      "Z.a.example",
      "zABC.a.EXAMPLE",
      "z.example",
      "*.z.example",
    ];
    const shuffled = [...expected].reverse();
    expect(shuffled.sort(compareNames)).toEqual(expected);
  });
  it("puts the root first and a name after its ancestors", () => {
    expect(["b.a", "", "a", "c"].sort(compareNames)).toEqual(["", "a", "b.a", "c"]);
  });
  it("encodes the root as a single zero octet", () => {
    expect(nameWire("")).toEqual(Buffer.from([0]));
    expect(nameWire("A.b")).toEqual(Buffer.from([1, 0x61, 1, 0x62, 0]));
  });
});

describe("key tag and DS digest", () => {
  it("computes key tag 60485 for the RFC 4034 §5.4 key", () => {
    expect(keyTag(rfcKey)).toBe(60485);
  });
  it("computes the RFC 4509 §2.3 SHA-256 digest", () => {
    expect(dsDigest("dskey.example.com", rfcKey).toString("hex").toUpperCase()).toBe(
      "D4B7D520E7BB5F0F67674A0CCEB1E3E0614B93C4F9E99B8383F6A1E4469DA50A",
    );
  });
});

function key(algorithm: 8 | 13 | 15): ZoneKey {
  const pair =
    algorithm === 13
      ? generateKeyPairSync("ec", { namedCurve: "P-256" })
      : algorithm === 15
        ? generateKeyPairSync("ed25519")
        : generateKeyPairSync("rsa", { modulusLength: 2048 });
  const dnskey = { flags: 256, algorithm, key: dnskeyPublicKey(algorithm, pair.publicKey) };
  return { flags: 256, algorithm, privateKey: pair.privateKey, dnskey, keyTag: keyTag(dnskey) };
}

const rrs: Answer[] = [
  { name: "x.example", type: "MX", ttl: 300, class: "IN", data: { preference: 20, exchange: "B.example" } },
  { name: "x.example", type: "MX", ttl: 300, class: "IN", data: { preference: 10, exchange: "a.example" } },
];
const window = { inception: 1_700_000_000, expiration: 1_800_000_000 };

describe("RRSIG", () => {
  it("signs the RRset in canonical order, whatever order it is given in (RFC 4034 §6.3)", () => {
    const sig = {
      typeCovered: "MX",
      algorithm: 13,
      labels: 2,
      originalTTL: 300,
      ...window,
      keyTag: 1,
      signersName: "example",
    };
    expect(signedData(sig, rrs)).toEqual(signedData(sig, [...rrs].reverse()));
    // Names inside MX RDATA are lower-cased (RFC 4034 §6.2): "B.example" signs like "b.example".
    const lower = rrs.map((r) =>
      r.type === "MX" ? { ...r, data: { ...r.data, exchange: r.data.exchange.toLowerCase() } } : r,
    );
    expect(signedData(sig, rrs)).toEqual(signedData(sig, lower));
  });

  for (const algorithm of [8, 13, 15] as const) {
    it(`algorithm ${algorithm}: a signature verifies, a flipped octet or another RRset does not`, () => {
      const k = key(algorithm);
      const rrsig = signRRset(rrs, k, "example", window);
      expect(verifyRrsig(rrsig, rrs, k.dnskey)).toBe(true);
      expect(verifyRrsig(rrsig, [...rrs].reverse(), k.dnskey)).toBe(true);
      const data = d<{ signature: Buffer; labels: number }>(rrsig);
      expect(data.labels).toBe(2);
      if (algorithm === 13) expect(data.signature.length).toBe(64); // RFC 6605 §4: r | s
      if (algorithm === 15) expect(data.signature.length).toBe(64); // RFC 8080 §4
      const bad = { ...rrsig, data: { ...data, signature: Buffer.from(data.signature) } } as Answer;
      d<{ signature: Buffer }>(bad).signature[5]! ^= 1;
      expect(verifyRrsig(bad, rrs, k.dnskey)).toBe(false);
      expect(verifyRrsig(rrsig, rrs.slice(0, 1), k.dnskey)).toBe(false);
    });
  }
});
