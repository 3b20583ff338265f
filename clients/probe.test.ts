// The probe tools' output → "would deliver / would not", on what posttls-finger (Postfix 3.10) and danetool (GnuTLS
// 3.7.9) printed against the lab (fixtures/*.out, captured from `danelab check --client posttls-finger@trixie,danetool`).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { describeOutcome } from "./outcome.js";
import { type ProbeTool, parseProbe, probeGrade } from "./probe.js";

/** The tool's output for one scenario, from a saved rawLog ("### <recipient>" sections). */
function section(file: string, scenario: string): string {
  const text = readFileSync(join(import.meta.dirname, "fixtures", file), "utf8");
  const part = text.split(/^### /m).find((p) => p.startsWith("run-") && p.split("\n")[0]!.includes(`@${scenario}.`));
  if (!part) throw new Error(`no ${scenario} in ${file}`);
  return part.slice(part.indexOf("\n") + 1);
}
const finger = (s: string) => parseProbe("posttls-finger", section("posttls-finger-trixie.out", s));
const danetool = (s: string) => parseProbe("danetool", section("danetool-bookworm.out", s));

describe("posttls-finger -l dane", () => {
  it("a DANE match is a verified connection", () => {
    expect(finger("many-tlsa")).toMatchObject({ accepts: true, security: "dane" });
    expect(finger("many-tlsa").line).toMatch(/Verified TLS connection established to mx\.many-tlsa/);
  });

  it("a TLSA mismatch (leaf or TA) is a refusal, though the TLS session itself was established", () => {
    for (const s of ["ee-mismatch", "ta-forged-chain"]) {
      expect(finger(s).accepts, s).toBe(false);
      expect(finger(s).line).toMatch(/no matching DANE TLSA records/);
    }
    expect(finger("tlsa-bogus")).toMatchObject({ accepts: false });
    expect(finger("tlsa-bogus").line).toMatch(/TLSA lookup error/);
  });

  it("a certificate a DANE check refuses for another reason (server EKU missing) is a refusal", () => {
    expect(finger("eku-client-only")).toMatchObject({ accepts: false });
    expect(finger("eku-client-only").line).toMatch(/not designated for use as a server certificate/);
  });

  it("no usable TLSA: unauthenticated TLS, as Postfix sends (RFC 7672 §2.2)", () => {
    for (const s of ["tlsa-nxdomain", "all-unusable"])
      expect(finger(s), s).toMatchObject({ accepts: true, security: "tls-unverified" });
  });
});

describe("danetool --check", () => {
  it('prints "Certificate matches." under all 14 records of many-tlsa, though one matches: shown next to the verdict', () => {
    const r = danetool("many-tlsa");
    expect(r).toMatchObject({ accepts: true, matches: { matched: 14, records: 14 } });
    expect(
      describeOutcome({
        recipient: "x",
        status: "probe-accepts",
        security: "dane",
        attempts: 1,
        matches: r.matches!,
        lines: [],
      }),
    ).toBe('would deliver (DANE); "matches" under 14 of 14 records');
  });

  it("accepts the forged chain (GnuTLS libdane), refuses a leaf mismatch, and names GnuTLS's key-usage refusal", () => {
    expect(danetool("ta-forged-chain")).toMatchObject({ accepts: true, matches: { matched: 1, records: 1 } });
    expect(danetool("ee-mismatch")).toMatchObject({
      accepts: false,
      line: expect.stringMatching(/certificate differs/),
    });
    expect(danetool("seed-mx06-ku")).toMatchObject({
      accepts: false,
      line: expect.stringMatching(/Key usage violation/),
    });
  });
});

describe("probeGrade", () => {
  const o = (status: "probe-accepts" | "probe-rejects") => ({ recipient: "x", status, attempts: 1, lines: [] });
  it("holds the verdict against the scenario's expect; danetool is not judged on opportunistic fallback", () => {
    const g = (tool: ProbeTool, expect: string, s: "probe-accepts" | "probe-rejects") =>
      probeGrade(tool, "s", expect, o(s)).verdict;
    expect(g("posttls-finger", "deliver", "probe-accepts")).toBe("pass");
    expect(g("posttls-finger", "no-delivery", "probe-accepts")).toBe("fail");
    expect(g("posttls-finger", "opportunistic", "probe-accepts")).toBe("pass");
    expect(g("danetool", "opportunistic", "probe-rejects")).toBe("observed");
    expect(g("danetool", "no-delivery", "probe-rejects")).toBe("pass");
    expect(probeGrade("danetool", "s", "deliver", undefined).verdict).toBe("not-tested");
  });
});
