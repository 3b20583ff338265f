// Profile validation: bad input is refused with a message naming the certificate and the field; defaults are applied.
import { describe, expect, it } from "vitest";
import { dnsNameProblem, parseTime, resolveProfile } from "./profile.js";
import { type CertificateProfile, ProfileError } from "./types.js";

const root: CertificateProfile = { name: "lab/root", key: "ecdsa-p256", subject: { CN: "Root" }, ca: true };
const ca: CertificateProfile = {
  name: "lab/ca",
  issuer: "lab/root",
  key: "ecdsa-p256",
  subject: { CN: "CA" },
  ca: true,
};
const leaf: CertificateProfile = {
  name: "s/leaf",
  issuer: "lab/ca",
  key: "rsa-2048",
  subject: { CN: "mx.s.lab.example" },
  san: ["mx.s.lab.example"],
};

function rejects(certs: CertificateProfile[], ...fragments: string[]) {
  let caught: unknown;
  try {
    resolveProfile({ certificates: certs });
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(ProfileError);
  for (const f of fragments) expect((caught as Error).message).toContain(f);
}

describe("resolveProfile", () => {
  it("orders issuers before the certificates they sign, whatever the input order", () => {
    const out = resolveProfile({ certificates: [leaf, ca, root] });
    expect(out.map((c) => c.name)).toEqual(["lab/root", "lab/ca", "s/leaf"]);
  });

  it("applies the documented defaults", () => {
    const [r, c, l] = resolveProfile({ certificates: [root, ca, leaf] });
    expect(r!.issuer).toBeNull();
    expect(r!.authorityKeyIdentifier).toBe(false);
    expect(c!.authorityKeyIdentifier).toBe(true);
    expect(c!.keyUsage).toEqual({ usages: ["digitalSignature", "keyCertSign", "cRLSign"], critical: true });
    expect(c!.extKeyUsage).toBeNull();
    expect(l!.keyUsage).toEqual({ usages: ["digitalSignature", "keyEncipherment"], critical: true });
    expect(l!.extKeyUsage).toEqual(["serverAuth"]);
    expect(l!.validity).toEqual({ notBefore: "-1d", notAfter: "+90d" });
    const [ec] = resolveProfile({ certificates: [{ ...root, name: "e", ca: false, key: "ed25519" }] });
    expect(ec!.keyUsage).toEqual({ usages: ["digitalSignature"], critical: true });
  });

  it("keeps null as 'no extension' and accepts wildcards, partial wildcards and hundreds of SANs", () => {
    const many = Array.from({ length: 300 }, (_, i) => `h${i}.s.lab.example`);
    const [, , l] = resolveProfile({
      certificates: [
        root,
        ca,
        { ...leaf, keyUsage: null, extKeyUsage: null, san: ["*.s.lab.example", "m*.s.lab.example", ...many] },
      ],
    });
    expect(l!.keyUsage).toBeNull();
    expect(l!.extKeyUsage).toBeNull();
    expect(l!.san).toHaveLength(302);
  });

  it("names the certificate and the field for each kind of bad input", () => {
    rejects([{ ...root, key: "rsa-1024" as never }], '"lab/root"', "field key", "rsa-1024", "ecdsa-p256");
    rejects([root, ca, { ...leaf, san: ["mx.s.lab.example", "not a name"] }], '"s/leaf"', "san[1]", "not a name");
    rejects([root, ca, { ...leaf, san: ["mx.*.lab.example"] }], "san[0]", "first label");
    rejects([root, ca, { ...leaf, san: ["under_score.example"] }], "san[0]");
    rejects([root, ca, { ...leaf, san: [] }], "field san", "omit the field");
    rejects(
      [root, ca, { ...leaf, keyUsage: { usages: ["digitalSignature", "signEverything" as never], critical: true } }],
      "keyUsage.usages",
      "signEverything",
    );
    rejects([root, ca, { ...leaf, keyUsage: { usages: [], critical: false } }], "keyUsage.usages");
    rejects([root, ca, { ...leaf, extKeyUsage: ["smtpAuth" as never] }], "field extKeyUsage", "smtpAuth");
    rejects([root, ca, { ...leaf, issuer: "lab/nope" }], '"s/leaf"', "field issuer", "lab/nope");
    rejects([root, ca, leaf, { ...leaf }], '"s/leaf"', "field name", "twice");
    rejects(
      [
        { ...ca, issuer: "x" },
        { ...root, name: "x", issuer: "lab/ca" },
      ],
      "issuer cycle",
    );
    rejects([{ ...root, issuer: "lab/root" }], "field issuer", "itself");
    rejects([root, ca, { ...leaf, validity: { notAfter: "+90 days" } }], "validity.notAfter", "+90 days");
    rejects([root, ca, { ...leaf, validity: { notBefore: "+1d", notAfter: "-1d" } }], "field validity", "later");
    rejects([root, ca, { ...leaf, pathLength: 0 }], "field pathLength", "ca: true");
    rejects([root, ca, { ...leaf, subject: { CN: "x", L: "Berlin" } as never }], "subject.L");
    rejects([root, ca, { ...leaf, subject: { C: "Germany" } }], "subject.C");
    rejects([root, ca, { ...leaf, sans: ["x"] } as never], "field sans", "unknown field");
    rejects([root, ca, { ...leaf, name: "../escape" }], "field name");
  });
});

describe("dnsNameProblem", () => {
  it("accepts DNS names and first-label wildcards, refuses the rest", () => {
    for (const ok of [
      "mx.example",
      "*.example",
      "m*.x.example",
      "*x.example",
      "a*b.example",
      "localhost",
      "x.example.",
    ]) {
      expect(dnsNameProblem(ok), ok).toBeNull();
    }
    for (const bad of ["", "a..b", "*", "**.example", "a.*.example", "-a.example", "a_b.example", "é.example"]) {
      expect(dnsNameProblem(bad), bad).not.toBeNull();
    }
    expect(dnsNameProblem(`${"a".repeat(64)}.example`)).toContain("63");
  });
});

describe("parseTime", () => {
  const now = new Date("2026-01-10T12:00:00Z");
  it("reads offsets and ISO dates", () => {
    expect(parseTime("+90d", now).toISOString()).toBe("2026-04-10T12:00:00.000Z");
    expect(parseTime("-400d", now).toISOString()).toBe("2024-12-06T12:00:00.000Z");
    expect(parseTime("-2h", now).toISOString()).toBe("2026-01-10T10:00:00.000Z");
    expect(parseTime("2030-01-01", now).toISOString()).toBe("2030-01-01T00:00:00.000Z");
    expect(parseTime("2030-01-01T08:00:00+02:00", now).toISOString()).toBe("2030-01-01T06:00:00.000Z");
    expect(() => parseTime("tomorrow", now)).toThrow(/offset from now/);
  });
});
