// TLSA usability and association matching (RFC 7672 §3.1, §3.1.3; RFC 7671 §5; RFC 6698 §2.1). Vectors follow the
// facts of OpenSSL's test/danetest.in on our own certificates.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tlsaAssociationData } from "../certs/index.js";
import { associationMatches, tlsaUsability } from "./records.js";
import { type TestPki, testPki } from "./test-pki.js";

let t: TestPki;
beforeAll(async () => {
  t = await testPki();
});
afterAll(() => t.close());

/** The record `usage selector matching` for certificate `name`, as a publisher would compute it. */
const record = (usage: number, selector: 0 | 1, matching: 0 | 1 | 2, name: string) => ({
  usage,
  selector,
  matching,
  hex: tlsaAssociationData(t.der(name), selector, matching),
});

/** The same data with its last hex digit changed (danetest.in's "wrong digest" cases). */
const flipLast = (hex: string) => hex.slice(0, -1) + (hex.endsWith("0") ? "1" : "0");

describe("RFC 7672 §3.1, §3.1.3: which TLSA records an SMTP client may use", () => {
  it("DANE-TA(2) and DANE-EE(3) with selector 0/1 and matching type 0/1/2 are usable", () => {
    for (const usage of [2, 3])
      for (const selector of [0, 1] as const)
        for (const matching of [0, 1, 2] as const) {
          const r = record(usage, selector, matching, "leaf");
          expect(tlsaUsability(r.usage, r.selector, r.matching, r.hex)).toEqual({ usable: true, note: null });
        }
  });

  it("PKIX-TA(0) and PKIX-EE(1) are unusable for SMTP (RFC 7672 §3.1.3), though OpenSSL's generic DANE accepts them", () => {
    // danetest.in passes "1 0 1 <leaf>" and "0 0 1 <issuer>" for TLS in general; an SMTP client has no CA list.
    const ee = record(1, 0, 1, "leaf");
    expect(tlsaUsability(ee.usage, ee.selector, ee.matching, ee.hex)).toEqual({
      usable: false,
      note: "usage 1 (PKIX-EE) is unusable for SMTP (RFC 7672 §3.1.3)",
    });
    const ta = record(0, 0, 1, "issuer");
    expect(tlsaUsability(ta.usage, ta.selector, ta.matching, ta.hex).note).toMatch(/PKIX-TA.*§3\.1\.3/);
  });

  it("unassigned usages, selectors and matching types are unusable (RFC 7672 §3.1)", () => {
    expect(tlsaUsability(4, 1, 1, "00".repeat(32)).note).toBe("unknown certificate usage 4");
    expect(tlsaUsability(255, 1, 1, "00".repeat(32)).usable).toBe(false);
    expect(tlsaUsability(3, 2, 1, "00".repeat(32)).note).toBe("unknown selector 2");
    expect(tlsaUsability(3, 1, 3, "00".repeat(32)).note).toBe("unknown matching type 3");
  });

  it("a digest of the wrong length is unusable (RFC 7671 §5); full data (matching 0) has no fixed length", () => {
    expect(tlsaUsability(3, 1, 1, "00".repeat(31))).toEqual({
      usable: false,
      note: "digest is 31 bytes, 32 expected for matching type 1: unusable (RFC 7671 §5)",
    });
    expect(tlsaUsability(2, 0, 2, "00".repeat(32)).note).toMatch(/64 expected for matching type 2/);
    expect(tlsaUsability(3, 0, 0, "3082").usable).toBe(true);
  });
});

describe("RFC 6698 §2.1.2, §2.1.3: association data against a certificate", () => {
  it("each selector/matching pair matches the certificate it was computed from (danetest.in #1–#6)", () => {
    for (const selector of [0, 1] as const)
      for (const matching of [0, 1, 2] as const) {
        expect(associationMatches(t.der("anonymous"), record(3, selector, matching, "anonymous"))).toBe(true);
        expect(associationMatches(t.der("leaf"), record(3, selector, matching, "anonymous"))).toBe(false);
      }
  });

  it("one changed hex digit matches nothing (danetest.in #7–#10, 'wrong digest')", () => {
    for (const selector of [0, 1] as const)
      for (const matching of [1, 2] as const) {
        const r = record(3, selector, matching, "anonymous");
        expect(associationMatches(t.der("anonymous"), { ...r, hex: flipLast(r.hex) })).toBe(false);
      }
  });

  it("selector 1 survives re-issuing: the SPKI of a certificate matches, the whole-certificate digest of another does not", () => {
    const spki = record(2, 1, 1, "issuer");
    const cert = record(2, 0, 1, "issuer");
    expect(associationMatches(t.der("issuer"), spki)).toBe(true);
    expect(associationMatches(t.der("attacker"), spki)).toBe(false); // same subject, other key
    expect(associationMatches(t.der("attacker"), cert)).toBe(false);
  });

  it("unknown selectors and matching types match nothing, without throwing", () => {
    const r = record(3, 1, 1, "leaf");
    expect(associationMatches(t.der("leaf"), { ...r, selector: 2 })).toBe(false);
    expect(associationMatches(t.der("leaf"), { ...r, matching: 3 })).toBe(false);
  });
});
