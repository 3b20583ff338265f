// Reference identifiers and DNS-ID matching (RFC 7672 §3.2.2, §3.2.3; RFC 6125 §6.4.3, §6.4.4): the next-hop name,
// wildcard depth, partial wildcards, the CN beside SANs, and names under DANE-EE (RFC 7672 §3.2.1: not checked).
import { describe, expect, it } from "vitest";
import type { CertificateSummary } from "../certs/index.js";
import { dnsIdMatches, nameChecks, nearMiss, presentedNames, referenceIdentifiers } from "./names.js";

/** A server certificate summary with the given names (the rest does not matter to name checks). */
const leaf = (san: string[], cn?: string): CertificateSummary => ({
  subject: cn ? `CN=${cn}` : "",
  issuer: "CN=Issuer CA",
  serial: "01",
  san,
  keyUsage: null,
  extKeyUsage: ["serverAuth"],
  ca: false,
  notBefore: "2020-01-01T00:00:00.000Z",
  notAfter: "2999-01-01T00:00:00.000Z",
  keyType: "ecdsa-p256",
  spkiSha256: "",
  certSha256: "",
});

// MX host mx.example.com, no CNAME: the TLSA base domain is the MX host; the next-hop domain is example.com.
const REFS = referenceIdentifiers("mx.example.com", "mx.example.com", "example.com");

describe("RFC 7672 §3.2.2: reference identifiers", () => {
  it("are the TLSA base domain, the MX host and the next-hop domain, once each, next-hop last", () => {
    expect(referenceIdentifiers("mail.provider.net", "mx.example.com", "example.com")).toEqual([
      "mail.provider.net",
      "mx.example.com",
      "example.com",
    ]);
    expect(REFS).toEqual(["mx.example.com", "example.com"]);
  });
});

describe("RFC 7672 §3.2.3, RFC 6125 §6.4.3: DNS-ID matching", () => {
  it("matches exactly, ignoring case and a trailing dot", () => {
    expect(dnsIdMatches("MX.Example.COM", "mx.example.com.")).toBe(true);
    expect(dnsIdMatches("mx.example.com", "mx2.example.com")).toBe(false);
  });

  it("a wildcard is the whole left-most label and stands for exactly one label (wildcard depth)", () => {
    expect(dnsIdMatches("*.example.com", "mx.example.com")).toBe(true);
    expect(dnsIdMatches("*.example.com", "a.mx.example.com")).toBe(false); // two labels deep
    expect(dnsIdMatches("*.example.com", "example.com")).toBe(false); // zero labels
    expect(dnsIdMatches("mx.*.com", "mx.example.com")).toBe(false); // not left-most
  });

  it("a partial wildcard is not accepted (RFC 7672 §3.2.3)", () => {
    expect(dnsIdMatches("m*.example.com", "mx.example.com")).toBe(false);
    expect(nearMiss("m*.example.com", "mx.example.com")).toBe(
      "m*.example.com looks like it covers mx.example.com, but a partial wildcard is not accepted (RFC 7672 §3.2.3)",
    );
  });

  it("names a too-deep wildcard as a near miss (RFC 6125 §6.4.3), and nothing else", () => {
    expect(nearMiss("*.example.com", "a.mx.example.com")).toMatch(/a wildcard stands for one label only/);
    expect(nearMiss("*.example.com", "mx.example.com")).toBeNull(); // a real match is no near miss
    expect(nearMiss("mx.example.org", "mx.example.com")).toBeNull();
  });
});

describe("RFC 6125 §6.4.4: the names a certificate presents", () => {
  it("are its SANs when it has any, else its CN", () => {
    expect(presentedNames(leaf(["a.example", "b.example"], "c.example"), "c.example")).toEqual([
      "a.example",
      "b.example",
    ]);
    expect(presentedNames(leaf([], "c.example"), "c.example")).toEqual(["c.example"]);
    expect(presentedNames(leaf([]), undefined)).toEqual([]);
  });
});

describe("RFC 7672 §3.2.2: the DANE-TA name check on the server certificate", () => {
  it("a SAN naming the MX host matches the host", () => {
    const r = nameChecks(leaf(["www.example.com", "mx.example.com"]), undefined, REFS, false);
    expect(r.matches).toEqual(["mx.example.com"]);
    expect(r.kind).toBe("host");
    expect(r.notes).toEqual([{ level: "ok", text: "SAN 2 of 2, mx.example.com, matches mx.example.com" }]);
  });

  it("a SAN naming only the next-hop domain is accepted by the RFC, with a warning about Exim", () => {
    const r = nameChecks(leaf(["example.com"]), undefined, REFS, false);
    expect(r.kind).toBe("next-hop");
    expect(r.notes[0]!.level).toBe("warn");
    expect(r.notes[0]!.text).toMatch(/matches only the next-hop domain example\.com: RFC 7672 §3\.2\.2/);
  });

  it("a wildcard one label too deep only looks right, and fails", () => {
    const r = nameChecks(
      leaf(["*.example.com"]),
      undefined,
      referenceIdentifiers("a.mx.example.com", "a.mx.example.com", "example.com"),
      false,
    );
    expect(r.matches).toEqual([]);
    expect(r.kind).toBeNull();
    expect(r.looksRightOnly).toBe(true);
    expect(r.notes.map((n) => n.level)).toEqual(["warn", "bad"]);
  });

  it("a CN naming the host does not count beside SANs that do not", () => {
    const r = nameChecks(leaf(["other.example.org"], "mx.example.com"), "mx.example.com", REFS, false);
    expect(r.matches).toEqual([]);
    expect(r.looksRightOnly).toBe(true);
    expect(r.notes.map((n) => n.text).join("\n")).toMatch(/so the CN is ignored \(RFC 6125 §6\.4\.4\)/);
  });

  it("without a SAN extension the CN counts", () => {
    const r = nameChecks(leaf([], "mx.example.com"), undefined, REFS, false);
    expect(r.kind).toBe("host");
    expect(r.notes[0]!.text).toBe("no SAN extension, so the CN mx.example.com counts, and matches mx.example.com");
  });

  it("a mismatched name fails under DANE-TA but is only information under DANE-EE (danetest.in #51–#54)", () => {
    const ta = nameChecks(leaf(["example.org"]), undefined, REFS, false);
    expect(ta.notes).toEqual([{ level: "bad", text: "no SAN matches none of mx.example.com, example.com" }]);
    // RFC 7672 §3.2.1: with DANE-EE the client does not check names at all.
    const ee = nameChecks(leaf(["example.org"]), undefined, REFS, true);
    expect(ee.notes.map((n) => n.level)).toEqual(["info"]);
    expect(ee.notes[0]!.text).toMatch(/DANE-EE does not check names/);
    expect(ee.looksRightOnly).toBe(false);
  });

  it("a certificate without any names says so", () => {
    expect(nameChecks(leaf([]), undefined, REFS, false).notes).toEqual([{ level: "bad", text: "no names at all" }]);
  });
});
