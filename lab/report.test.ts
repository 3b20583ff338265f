// Unit tests of the report formats: what a terminal user, a script, a CI system (JUnit XML, parsed here by Python's
// own XML parser) and a Markdown reader each get from the same grades.
import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import type { ScenarioGrade } from "./grade/index.js";
import { exitCodeFor, formatReport, REPORT_FORMATS, summarize } from "./report.js";

const evidence = {
  sessions: 1,
  delivered: { tls: 0, cleartext: 0 },
  refused: 0,
  lastEvent: null,
  clients: ["127.0.0.1"],
  messages: [],
  dnsQueries: 0,
};
const grades: ScenarioGrade[] = [
  {
    scenario: "ta-baseline",
    group: "DANE-TA names",
    expect: "deliver",
    verdict: "pass",
    reason: "delivered over TLS",
    evidence,
  },
  {
    scenario: "seed-mx06-ku",
    group: "seed",
    expect: "no-delivery",
    verdict: "fail",
    reason: 'delivered over TLS although <KU> & "digitalSignature" | missing',
    evidence,
  },
  { scenario: "tlsa-bogus", expect: "no-delivery", verdict: "pending", reason: "no connection seen", evidence },
  { scenario: "x", expect: "deliver", verdict: "not-tested", reason: "nothing", evidence },
  {
    scenario: "eku-client-only",
    expect: "implementation-defined",
    verdict: "observed",
    reason: "did not deliver",
    evidence,
  },
];

describe("exit code and summary", () => {
  it("is non-zero only when a graded scenario failed", () => {
    expect(exitCodeFor(grades)).toBe(1);
    expect(exitCodeFor(grades.filter((g) => g.verdict !== "fail"))).toBe(0);
    expect(exitCodeFor([])).toBe(0);
  });
  it("counts verdicts", () => {
    expect(summarize(grades)).toEqual({ total: 5, pass: 1, fail: 1, pending: 1, "not-tested": 1, observed: 1 });
  });
});

describe("table", () => {
  it("aligns the verdict column and ends with a summary", () => {
    const text = formatReport(grades, "table", { run: "42" });
    const lines = text.split("\n");
    expect(lines[0]).toBe("danelab report, run 42");
    const rows = lines.filter((l) => /^(SCENARIO|ta-baseline|seed-mx06-ku|tlsa-bogus|x |eku)/.test(l));
    expect(rows).toHaveLength(6);
    const col = rows[0]!.indexOf("VERDICT");
    for (const r of rows.slice(1)) expect(r.slice(col)).toMatch(/^(pass|fail|pending|not-tested|observed) /);
    expect(lines.at(-1)).toBe("5 scenarios: 1 pass, 1 fail, 1 pending, 1 not tested, 1 observed");
  });
});

describe("json", () => {
  it("carries the run, a summary and every grade", () => {
    const parsed = JSON.parse(formatReport(grades, "json", { run: "7" }));
    expect(parsed.run).toBe("7");
    expect(parsed.summary.fail).toBe(1);
    expect(parsed.grades).toEqual(grades);
  });
});

describe("junit", () => {
  it("is well-formed XML with one testcase per scenario, failure for fail, skipped otherwise", () => {
    const text = formatReport(grades, "junit", { run: "1", generated: new Date("2026-11-29T10:00:00Z") });
    const py = `
import sys, json, xml.etree.ElementTree as ET
root = ET.fromstring(sys.stdin.read())
suite = root.find("testsuite")
cases = [{"name": c.get("name"), "classname": c.get("classname"),
          "failure": (c.find("failure").get("message") if c.find("failure") is not None else None),
          "skipped": (c.find("skipped").get("message") if c.find("skipped") is not None else None)}
         for c in suite.findall("testcase")]
print(json.dumps({"tests": suite.get("tests"), "failures": suite.get("failures"), "skipped": suite.get("skipped"), "cases": cases}))
`;
    const out = JSON.parse(execFileSync("python3", ["-c", py], { input: text, encoding: "utf8" }));
    expect(out.tests).toBe("5");
    expect(out.failures).toBe("1");
    expect(out.skipped).toBe("3");
    expect(out.cases).toHaveLength(5);
    expect(out.cases[0]).toMatchObject({
      name: "ta-baseline",
      classname: "danelab.DANE-TA-names",
      failure: null,
      skipped: null,
    });
    expect(out.cases[1].failure).toBe('delivered over TLS although <KU> & "digitalSignature" | missing');
    expect(out.cases[2].skipped).toBe("pending: no connection seen");
    expect(out.cases[4].skipped).toMatch(/^observed: /);
  });
});

describe("markdown", () => {
  it("is one table row per scenario with pipes escaped", () => {
    const text = formatReport(grades, "markdown");
    const rows = text.split("\n").filter((l) => l.startsWith("| `"));
    expect(rows).toHaveLength(5);
    expect(rows[1]).toContain("**fail**");
    // an escaped pipe does not add a cell: 4 cells = 5 unescaped pipes
    expect(rows[1]!.replace(/\\\|/g, "").split("|")).toHaveLength(6);
  });
  it("every format is accepted", () => {
    for (const f of REPORT_FORMATS) expect(formatReport(grades, f).length).toBeGreaterThan(0);
  });
});
