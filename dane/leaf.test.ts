// The server certificate's dates and key usages: DANE-EE ignores validity (RFC 7672 §3.1.1); keyUsage and
// extKeyUsage that TLS clients enforce although RFC 7672 does not (RFC 5246 §7.4.7.1, RFC 8446 §4.4.2.2, RFC 5280
// §4.2.1.12). And the named outcomes (RFC 7672 §2.2, §3.1, §3.2).
import { describe, expect, it } from "vitest";
import type { CertificateSummary } from "../certs/index.js";
import { keyUsageNotes, validityNote } from "./leaf.js";
import { DANE_OUTCOMES, daneOutcome } from "./outcome.js";

const NOW = Date.parse("2026-06-01T00:00:00Z");
const leaf = (o: Partial<CertificateSummary>): CertificateSummary => ({
  subject: "CN=mx.example.com",
  issuer: "CN=Issuer CA",
  serial: "01",
  san: ["mx.example.com"],
  keyUsage: { usages: ["digitalSignature", "keyEncipherment"], critical: true },
  extKeyUsage: ["serverAuth"],
  ca: false,
  notBefore: "2026-01-01T00:00:00.000Z",
  notAfter: "2027-01-01T00:00:00.000Z",
  keyType: "rsa-2048",
  spkiSha256: "",
  certSha256: "",
  ...o,
});

describe("RFC 5280 §4.1.2.5, RFC 7672 §3.1.1: validity", () => {
  it("says nothing of a valid certificate", () => {
    expect(validityNote(leaf({}), false, NOW)).toBeNull();
  });

  it("an expired certificate breaks DANE-TA but is only information under DANE-EE", () => {
    const expired = leaf({ notAfter: "2026-05-01T00:00:00.000Z" });
    expect(validityNote(expired, false, NOW)).toEqual({ level: "bad", text: "expired" });
    expect(validityNote(expired, true, NOW)).toEqual({
      level: "info",
      text: "expired — DANE-EE ignores validity dates (RFC 7672 §3.1.1)",
    });
    expect(validityNote(leaf({ notBefore: "2026-07-01T00:00:00.000Z" }), false, NOW)?.text).toBe("not yet valid");
  });
});

describe("keyUsage and extKeyUsage notes", () => {
  it("a certificate fit for TLS gets none", () => {
    expect(keyUsageNotes(leaf({}), undefined)).toEqual([]);
  });

  it("no digitalSignature: TLS 1.3 and ECDHE cannot sign with it (RFC 8446 §4.4.2.2)", () => {
    const notes = keyUsageNotes(leaf({ keyUsage: { usages: ["keyEncipherment"], critical: true } }), undefined);
    expect(notes).toHaveLength(1);
    expect(notes[0]!.text).toMatch(/lacks digitalSignature.*RFC 8446 §4\.4\.2\.2/);
  });

  it("no keyEncipherment matters only when the server allows static-RSA key exchange alone (RFC 5246 §7.4.7.1)", () => {
    const ku = leaf({ keyUsage: { usages: ["digitalSignature"], critical: true } });
    expect(keyUsageNotes(ku, { maxVersion: "TLSv1.2", ciphers: "ECDHE-RSA-AES128-GCM-SHA256" })).toEqual([]);
    const notes = keyUsageNotes(ku, { maxVersion: "TLSv1.2", ciphers: "AES128-GCM-SHA256" });
    expect(notes[0]!.text).toMatch(/lacks keyEncipherment.*static-RSA/);
  });

  it("an extKeyUsage without serverAuth (RFC 5280 §4.2.1.12)", () => {
    expect(keyUsageNotes(leaf({ extKeyUsage: ["clientAuth"] }), undefined)[0]!.text).toMatch(/without serverAuth/);
  });
});

describe("named outcomes", () => {
  it("RFC 7672 §2.2: no secure TLSA records, no DANE", () => {
    expect(daneOutcome("secure-denied", false, false)).toBe("no-records");
    expect(daneOutcome("insecure", true, true)).toBe("insecure");
  });

  it("RFC 7672 §2.2, §3.1.3: a secure RRset of unusable records still makes TLS mandatory", () => {
    expect(daneOutcome("secure", false, false)).toBe("no-usable-records");
    expect(DANE_OUTCOMES["no-usable-records"].means).toMatch(/STARTTLS is mandatory/);
  });

  it("RFC 7672 §3.1, §3.2: usable records that authenticate nothing forbid delivery", () => {
    expect(daneOutcome("secure", true, false)).toBe("no-match");
    expect(daneOutcome("secure", true, true)).toBe("authenticated");
  });
});
