// The deciding rule `danelab explain` names for each MTA-STS scenario is one of the RFC sections the scenario cites,
// and the served policy text follows RFC 8461 §3.2.
import { describe, expect, it } from "vitest";
import { planLab } from "../catalogue/compile.js";
import { loadCatalogue } from "../catalogue/load.js";
import { decidingRule } from "./explain.js";
import { announcedIds, nextStsId, policyText } from "./policy.js";

const plan = planLab(loadCatalogue(), {
  suffix: "lab.example",
  dnsAddress: "127.0.53.1",
  dnsPort: 53,
  smtpFirstAddress: "127.0.25.1",
  smtpPort: 25,
});
const sts = plan.scenarios.filter((sp) => sp.sts);

describe("MTA-STS scenarios in explain", () => {
  it("name a deciding rule the scenario cites", () => {
    expect(sts.length).toBeGreaterThanOrEqual(13);
    for (const sp of sts) {
      const section = /RFC 8461 §[0-9.]+/.exec(decidingRule(sp))![0];
      expect(sp.scenario.rfc, sp.scenario.id).toContain(section);
    }
  });

  it("serve CRLF key/value lines, one mx line per pattern", () => {
    expect(policyText({ mode: "enforce", mx: ["mx.a.example", "*.b.example"], maxAge: 86400 })).toBe(
      "version: STSv1\r\nmode: enforce\r\nmx: mx.a.example\r\nmx: *.b.example\r\nmax_age: 86400\r\n",
    );
  });

  it("announce a second, different id of at most 32 letters and digits under the id-changes fault", () => {
    expect(announcedIds({ id: "2026120701", fault: "id-changes" })).toEqual(["2026120701", "2026120702"]);
    expect(announcedIds({ id: "2026120701", fault: null })).toEqual(["2026120701"]);
    expect(nextStsId("v09")).toBe("v10");
    expect(nextStsId("abc")).toBe("abc2");
    const long = "9".repeat(32);
    expect(nextStsId(long)).not.toBe(long);
    expect(nextStsId(long)).toMatch(/^[A-Za-z0-9]{1,32}$/);
    const sp = sts.find((x) => x.sts!.fault === "id-changes")!;
    expect(decidingRule(sp)).toMatch(/^RFC 8461 §3\.1/);
  });
});
