// A column without an MTA-STS client shows "not-supported" for MTA-STS scenarios, and that is neither a pass nor a
// fail of the check.
import { describe, expect, it } from "vitest";
import { type Matrix, matrixExitCode, summarize } from "./matrix.js";
import { NOT_SUPPORTED, notSupportedGrade } from "./mta-sts.js";

describe("not-supported cells", () => {
  it("name the client and RFC 8461, and do not fail the check", () => {
    const grade = notSupportedGrade("sts-dane-fail-sts-pass", "exim-try");
    expect(grade.verdict).toBe(NOT_SUPPORTED);
    expect(grade.reason).toMatch(/^exim-try has no MTA-STS client \(RFC 8461\)/);
    const matrix: Matrix = {
      version: 1,
      generated: "2026-12-07T00:00:00Z",
      lab: { suffix: "lab.example.", url: null },
      columns: [{ id: "exim-try/resolver", client: "exim-try", mode: "resolver", runId: "1" }],
      rows: [
        {
          scenario: "sts-dane-fail-sts-pass",
          title: "t",
          group: "mta-sts",
          expect: "no-delivery",
          cells: { "exim-try/resolver": { grade } },
        },
      ],
    };
    expect(matrixExitCode(matrix)).toBe(0);
    expect(summarize(matrix)["exim-try/resolver"]).toEqual({ [NOT_SUPPORTED]: 1 });
  });
});
