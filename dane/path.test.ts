// Whether a TLSA match authenticates the presented chain: DANE-EE on the leaf (RFC 7672 §3.1.1), DANE-TA on a CA the
// leaf chains up to by signature (RFC 7672 §3.1.2, RFC 7671 §5.2), and the ways that only looks right — a forged
// chain, missing intermediates, an invalid path (RFC 5280 §6.1). Chains follow danetest.in's leaf ← Issuer CA ← Root
// CA, on our own certificates.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tlsaAssociationData } from "../certs/index.js";
import { pathDefects, signaturePath, taPath } from "./path.js";
import { associationMatches, tlsaUsability } from "./records.js";
import { type TestPki, testPki } from "./test-pki.js";
import type { UsableRecord } from "./types.js";
import { recordAtDepth } from "./verify.js";

let t: TestPki;
beforeAll(async () => {
  t = await testPki();
});
afterAll(() => t.close());

const record = (usage: number, selector: 0 | 1, matching: 0 | 1 | 2, name: string): UsableRecord => {
  const hex = tlsaAssociationData(t.der(name), selector, matching);
  return { usage, selector, matching, hex, ...tlsaUsability(usage, selector, matching, hex) };
};

/** recordAtDepth for `rec` matching `presented[depth]`, with the real signature path of `presented[0]`. */
const at = (rec: UsableRecord, presented: string[], depth: number, now = Date.now()) => {
  const path = signaturePath(presented[0], t.lookup);
  return recordAtDepth(rec, 0, depth, () => taPath(presented[depth]!, presented, path, t.lookup, now));
};

describe("the leaf's signature path", () => {
  it("runs leaf first up to the self-signed root", () => {
    expect(signaturePath("leaf", t.lookup)).toEqual(["leaf", "issuer", "root"]);
    expect(signaturePath("forged-leaf", t.lookup)).toEqual(["forged-leaf", "attacker"]);
    expect(signaturePath("anonymous", t.lookup)).toEqual(["anonymous"]);
  });
});

describe("RFC 7672 §3.1.1: DANE-EE(3)", () => {
  it("authenticates the server certificate with any selector and matching type (danetest.in #11–#14)", () => {
    for (const selector of [0, 1] as const)
      for (const matching of [0, 1, 2] as const) {
        const m = at(record(3, selector, matching, "leaf"), ["leaf", "issuer", "root"], 0);
        expect(m.authenticates).toBe(true);
        expect(m.note.level).toBe("ok");
      }
  });

  it("authenticates an anonymous, expired, self-signed leaf: names and dates do not matter (danetest.in #1–#6)", () => {
    const m = at(record(3, 1, 1, "anonymous"), ["anonymous"], 0);
    expect(m).toMatchObject({ authenticates: true, looksRightOnly: false });
    expect(m.note.text).toMatch(/names and validity do not matter \(RFC 7672 §3\.1\.1\)/);
  });

  it("on a CA certificate it does not count: DANE-EE applies to the server certificate only", () => {
    const m = at(record(3, 1, 1, "issuer"), ["leaf", "issuer", "root"], 1);
    expect(m).toMatchObject({ authenticates: false, looksRightOnly: true });
    expect(m.note.text).toMatch(/not to depth 1/);
  });
});

describe("RFC 7672 §3.1.2, RFC 7671 §5.2: DANE-TA(2)", () => {
  it("authenticates when the leaf chains up to the matched intermediate or root (danetest.in #15–#22)", () => {
    for (const selector of [0, 1] as const)
      for (const matching of [0, 1, 2] as const) {
        expect(at(record(2, selector, matching, "issuer"), ["leaf", "issuer", "root"], 1).authenticates).toBe(true);
        expect(at(record(2, selector, matching, "root"), ["leaf", "issuer", "root"], 2).authenticates).toBe(true);
      }
  });

  it("a self-issued server certificate may be its own trust anchor", () => {
    const m = at(record(2, 0, 1, "anonymous"), ["anonymous"], 0);
    expect(m.authenticates).toBe(true);
    expect(m.note.text).toMatch(/self-issued trust anchor/);
  });

  it("forged chain: the genuine intermediate is presented and matches, but did not issue the leaf", () => {
    const presented = ["forged-leaf", "attacker", "issuer"];
    const path = signaturePath("forged-leaf", t.lookup);
    expect(taPath("issuer", presented, path, t.lookup, Date.now())).toEqual({ kind: "forged" });
    const m = at(record(2, 1, 1, "issuer"), presented, 2);
    expect(m).toMatchObject({ authenticates: false, looksRightOnly: true });
    expect(m.note.text).toMatch(/did not issue the server certificate: only looks right .*RFC 7671 §5\.2/);
    // What the publisher computed for the genuine CA does not match the attacker CA of the same name; only a
    // record naming the attacker itself would authenticate the forger's chain.
    expect(associationMatches(t.der("attacker"), record(2, 1, 1, "issuer"))).toBe(false);
    expect(at(record(2, 1, 1, "attacker"), presented, 1).authenticates).toBe(true);
  });

  it("the certificates between the leaf and the matched root must be presented", () => {
    const presented = ["leaf", "root"]; // Issuer CA left out
    const path = signaturePath("leaf", t.lookup);
    expect(taPath("root", presented, path, t.lookup, Date.now())).toEqual({
      kind: "missing-intermediates",
      missing: ["issuer"],
    });
    expect(at(record(2, 1, 1, "root"), presented, 1)).toMatchObject({ authenticates: false, looksRightOnly: true });
  });

  it("an expired intermediate below the trust anchor breaks the path (RFC 5280 §6.1.3)", () => {
    const presented = ["old-leaf", "old-issuer", "root"];
    const m = at(record(2, 1, 1, "root"), presented, 2);
    expect(m).toMatchObject({ authenticates: false, looksRightOnly: true });
    expect(m.note.level).toBe("bad");
    expect(m.note.text).toMatch(/old-issuer expired on \d{4}-\d\d-\d\d/);
    // The anchor's own dates do not count: a match on the expired intermediate itself authenticates.
    expect(at(record(2, 1, 1, "old-issuer"), presented, 1).authenticates).toBe(true);
  });

  it("a trust anchor's pathLenConstraint counts (RFC 5280 §6.1.4 (l), (m))", () => {
    const path = signaturePath("tight-leaf", t.lookup);
    expect(pathDefects(path, t.lookup, Date.now())).toEqual([
      "tight-root allows 0 CA certificate(s) below it (pathLenConstraint) and has 1",
    ]);
    expect(at(record(2, 1, 1, "tight-root"), ["tight-leaf", "tight-issuer", "tight-root"], 2).authenticates).toBe(
      false,
    );
  });

  it("a leaf is not a CA: a path through it is reported", () => {
    // A made-up issuer link through the leaf, as if "leaf" had signed "issuer".
    const lookup = (name: string) =>
      name === "issuer"
        ? { ...t.lookup(name)!, issuer: "leaf" }
        : name === "leaf"
          ? { ...t.lookup(name)!, issuer: "root" }
          : t.lookup(name);
    expect(pathDefects(["issuer", "leaf", "root"], lookup, Date.now())).toContain(
      "leaf is not a CA (basicConstraints cA is not set) yet issued issuer",
    );
  });
});

describe("unusable records", () => {
  it("a matching PKIX-EE(1) record is shown but never authenticates (RFC 7672 §3.1.3)", () => {
    const m = at(record(1, 0, 1, "leaf"), ["leaf", "issuer", "root"], 0);
    expect(m).toEqual({
      authenticates: false,
      looksRightOnly: false,
      note: {
        level: "info",
        text: "matches TLSA #1, which is unusable (usage 1 (PKIX-EE) is unusable for SMTP (RFC 7672 §3.1.3))",
      },
    });
  });
});
