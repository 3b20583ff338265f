// The two spellings of a domain name (zones/names.ts): what each helper keeps and what it drops.
import { describe, expect, it } from "vitest";
import { fqdn, normalizeName, withoutTrailingDot } from "./names.js";

describe("domain names", () => {
  it("normalizeName: dns-packet's form — lower case, no trailing dot, the root is the empty string", () => {
    expect(normalizeName("MX.Ta-Baseline.LAB.example.")).toBe("mx.ta-baseline.lab.example");
    expect(normalizeName("lab.example")).toBe("lab.example");
    expect(normalizeName(".")).toBe("");
    expect(normalizeName("")).toBe("");
    expect(normalizeName(" lab.example. ")).toBe("lab.example");
  });

  it("withoutTrailingDot: drops one trailing dot and keeps everything else, case included", () => {
    expect(withoutTrailingDot("MX.Example.")).toBe("MX.Example");
    expect(withoutTrailingDot("mx.example")).toBe("mx.example");
    expect(withoutTrailingDot("*.")).toBe("*");
    expect(withoutTrailingDot(".")).toBe("");
  });

  it("fqdn: the presentation form, the root as a single dot", () => {
    expect(fqdn("mx.example")).toBe("mx.example.");
    expect(fqdn("")).toBe(".");
  });
});
