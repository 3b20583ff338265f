// RULES covers exactly the scenario schema's expectations: a new `expect` in lab/catalogue/schema.ts without a rule
// fails `npm run typecheck` (the expectTypeOf line and RULES' own `Record<Expect, Rule>` annotation) and this test.
import { describe, expect, expectTypeOf, it } from "vitest";
import { EXPECTS, type Expect } from "../catalogue/schema.js";
import { RULES, type Rule, ruleFor } from "./rules.js";

describe("RULES", () => {
  it("is typed against the schema's Expect, so a missing rule is a compile error", () => {
    expectTypeOf(RULES).toEqualTypeOf<Record<Expect, Rule>>();
    // @ts-expect-error — a table without one expectation's rule does not type-check
    const incomplete: Record<Expect, Rule> = { deliver: RULES.deliver };
    expect(Object.keys(incomplete)).toEqual(["deliver"]);
  });

  it("has one rule per expectation, and none more", () => {
    expect(Object.keys(RULES).sort()).toEqual([...EXPECTS].sort());
    for (const e of EXPECTS) expect(ruleFor(e)).toBe(RULES[e]);
  });

  it("knows no rule for an unknown or inherited name", () => {
    expect(ruleFor("deliver-eventually")).toBeNull();
    expect(ruleFor("toString")).toBeNull();
  });
});
