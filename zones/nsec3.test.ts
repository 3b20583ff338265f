// NSEC3 arithmetic against RFC 5155's own examples, and the validator's NSEC3 proofs (RFC 5155 §8) on a built tree:
// removing or altering a proof record must turn a secure denial bogus, and the RFC 9276 §3.2 limit must apply.
import { beforeAll, describe, expect, it } from "vitest";
import { proveNsec3 } from "./denial.js";
import { buildTree, resolveValidated, type SignedTree, ZoneError } from "./index.js";
import { base32hex, fromBase32hex, hashCovers, nsec3Hash, ownerHash } from "./nsec3.js";
import { mailZone, nsec3Specs, rootAndSuffix } from "./test-fixtures.js";
import { type Answer, dataOf } from "./wire.js";

describe("RFC 5155 Appendix A hashes (salt aabbccdd, 12 iterations)", () => {
  const salt = Buffer.from("aabbccdd", "hex");
  for (const [name, hash] of <[string, string][]>[
    ["example", "0p9mhaveqvm6t7vbl5lop2u3t2rp3tom"],
    ["a.example", "35mthgpgcu1qg68fab165klnsnk3dpvl"],
    ["ns1.example", "2t7b4g4vsa5smi47k61mv5bv1a22bojr"],
    ["*.w.example", "r53bq7cc2uvmubfu5ocmm6pers9tk9en"],
  ]) {
    it(`H(${name}) = ${hash}`, () => {
      expect(base32hex(nsec3Hash(name, salt, 12))).toBe(hash);
      expect(base32hex(nsec3Hash(name.toUpperCase(), salt, 12))).toBe(hash); // canonical (lower-case) form
      expect(fromBase32hex(hash)).toEqual(nsec3Hash(name, salt, 12));
    });
  }

  it("covers: inside the span, and around the wrap of the last link", () => {
    const h = (n: number) => Buffer.from([n]);
    expect(hashCovers(h(10), h(20), h(15))).toBe(true);
    expect(hashCovers(h(10), h(20), h(20))).toBe(false);
    expect(hashCovers(h(10), h(20), h(10))).toBe(false);
    expect(hashCovers(h(200), h(10), h(250))).toBe(true);
    expect(hashCovers(h(200), h(10), h(5))).toBe(true);
    expect(hashCovers(h(200), h(10), h(100))).toBe(false);
  });
});

describe("NSEC3 zones and the validator", () => {
  let tree: SignedTree;
  beforeAll(async () => {
    tree = await buildTree(nsec3Specs(), { now: new Date("2026-06-01T00:00:00Z") });
  });
  const S = "lab.example";

  it("chains every name, empty non-terminal included, and leaves the Opt-Out delegation out", () => {
    const n3 = tree.zone(`n3.${S}`)!;
    expect(n3.denial).toBe("nsec3");
    for (const name of [`n3.${S}`, `mx.${S}`.replace(S, `n3.${S}`), `deep.n3.${S}`, `_tcp.mx.n3.${S}`]) {
      expect(n3.nsec3Match(name), name).toBeDefined();
    }
    expect(n3.nsec3Match(`plain.n3.${S}`)).toBeUndefined();
    expect(dataOf<{ flags: number }>(n3.nsec3Cover(`plain.n3.${S}`)!).flags).toBe(1);
    expect(n3.rrset(`n3.${S}`, "NSEC3PARAM")).toHaveLength(1);
    expect(n3.rrset(`n3.${S}`, "NSEC")).toHaveLength(0);
    // The empty non-terminal's NSEC3 has an empty bitmap; the apex lists NSEC3PARAM.
    expect(dataOf<{ rrtypes: string[] }>(n3.nsec3Match(`deep.n3.${S}`)!).rrtypes).toEqual([]);
    expect(dataOf<{ rrtypes: string[] }>(n3.nsec3Match(`n3.${S}`)!).rrtypes).toContain("NSEC3PARAM");
  });

  it("a validated NXDOMAIN and NODATA, and bogus when a proof record is missing", () => {
    const nx = resolveValidated(tree, { name: `nope.n3salt.${S}`, type: "A" });
    expect([nx.rcode, nx.status]).toEqual(["NXDOMAIN", "secure"]);
    const proofs = nx.authorities.filter((r) => r.type === "NSEC3");
    expect(proofs).toHaveLength(3);
    for (let i = 0; i < proofs.length; i++) {
      const without = proofs.filter((_, j) => j !== i);
      expect(proveNsec3(without, `n3salt.${S}`, `nope.n3salt.${S}`, "A", "nxdomain").status).toBe("bogus");
    }
    const nodata = resolveValidated(tree, { name: `mx.n3salt.${S}`, type: "TXT" });
    expect([nodata.rcode, nodata.status]).toEqual(["NOERROR", "secure"]);
    // A NODATA proof cannot stand for a type its bitmap lists.
    const own = nodata.authorities.filter((r) => r.type === "NSEC3");
    expect(proveNsec3(own, `n3salt.${S}`, `mx.n3salt.${S}`, "A", "nodata").status).toBe("bogus");
  });

  it("Opt-Out: the NXDOMAIN is insecure, the unsigned delegation insecure; above 150 iterations insecure", () => {
    expect(resolveValidated(tree, { name: `nope.n3.${S}`, type: "A" }).status).toBe("insecure");
    expect(resolveValidated(tree, { name: `mx.plain.n3.${S}`, type: "A" }).status).toBe("insecure");
    const high = resolveValidated(tree, { name: `nope.n3high.${S}`, type: "A" });
    expect([high.rcode, high.status]).toEqual(["NXDOMAIN", "insecure"]);
    expect(high.why).toMatch(/RFC 9276 §3\.2/);
  });

  it("NSEC3 records whose spans are shrunk to nothing no longer cover: bogus", () => {
    const nx = resolveValidated(tree, { name: `nope.n3salt.${S}`, type: "A" });
    const altered = nx.authorities.map((r) => {
      if (r.type !== "NSEC3") return r;
      // next = owner + 1: the span holds no hash at all.
      const next = BigInt(`0x${ownerHash(r.name)!.toString("hex")}`) + 1n;
      const nextDomain = Buffer.from(next.toString(16).padStart(40, "0"), "hex");
      return { ...r, data: { ...dataOf<object>(r), nextDomain } } as Answer;
    });
    expect(proveNsec3(altered, `n3salt.${S}`, `nope.n3salt.${S}`, "A", "nxdomain").status).toBe("bogus");
  });

  it("wildcards (RFC 4592): expanded answers are secure only with their no-closer-match proof", () => {
    for (const zone of [`wild.${S}`, `n3wild.${S}`]) {
      const name = `_25._tcp.mx.${zone}`;
      const r = resolveValidated(tree, { name, type: "TLSA" });
      expect([r.rcode, r.status], zone).toEqual(["NOERROR", "secure"]);
      expect(r.answers.every((a) => a.name === name)).toBe(true);
      expect(r.authorities.map((a) => a.type)).toEqual([zone === `wild.${S}` ? "NSEC" : "NSEC3", "RRSIG"]);
      // An exact name wins over the wildcard; a literal "*" query is not an expansion.
      expect(dataOf<string>(resolveValidated(tree, { name: `mx.${zone}`, type: "A" }).answers[0]!)).toBe("127.0.25.3");
      expect(resolveValidated(tree, { name: `*.${zone}`, type: "A" }).status).toBe("secure");
      // Wildcard NODATA and an NXDOMAIN below a name that exists.
      expect(resolveValidated(tree, { name: `any.${zone}`, type: "TXT" }).status).toBe("secure");
      expect(resolveValidated(tree, { name: `nope.mx.${zone}`, type: "A" }).rcode).toBe("NXDOMAIN");
    }
    // The NSEC3 analogue of removing the proof: nothing covers the next closer name.
    const n3 = resolveValidated(tree, { name: `_25._tcp.mx.n3wild.${S}`, type: "TLSA" });
    expect(proveNsec3([], `n3wild.${S}`, `_25._tcp.mx.n3wild.${S}`, "TLSA", "wildcard", `_tcp.mx.n3wild.${S}`)).toEqual(
      expect.objectContaining({ status: "bogus" }),
    );
    expect(
      proveNsec3(n3.authorities, `n3wild.${S}`, `_25._tcp.mx.n3wild.${S}`, "TLSA", "wildcard", `_tcp.mx.n3wild.${S}`)
        .status,
    ).toBe("secure");
  });

  it("bad NSEC3 parameters are refused with the fix", async () => {
    const bad = (nsec3: object) => buildTree([...rootAndSuffix(), { ...mailZone("x"), denial: "nsec3", nsec3 }]);
    await expect(bad({ iterations: 70000 })).rejects.toThrow(ZoneError);
    await expect(bad({ iterations: 70000 })).rejects.toThrow(/0 to 65535/);
    await expect(bad({ salt: "xyz" })).rejects.toThrow(/hex/);
  });
});
