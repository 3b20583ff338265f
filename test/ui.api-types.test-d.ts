// Type tests, checked by `npm run typecheck` (and `vitest --typecheck`), never run: the report, message, matrix,
// catalogue and MTA-STS shapes the web UI restates in lab/ui/api-types.ts (their server modules need Node) must keep
// fitting what the server sends, so renaming or retyping a field in the grader, the mail store, the manifest, the
// check matrix or the MTA-STS detail fails here instead of leaving a page blank.
import { expectTypeOf, test } from "vitest";
import type { Matrix as CheckMatrix } from "../clients/matrix.js";
import type { ScenarioGrade } from "../lab/grade/index.js";
import type { ManifestScenario } from "../lab/manifest.js";
import type { StoredMessage } from "../lab/smtp/store.js";
import type { stsDetail } from "../lab/sts/explain.js";
import type { Grade, Matrix, Message, Scenario, ScenarioWithDetail, StsPolicyView } from "../lab/ui/api-types.js";
import type { ScenarioDetail } from "../lab/ui-data.js";

test("GET /api/scenarios and /api/scenarios/<id> fit the board's Scenario and ScenarioWithDetail", () => {
  expectTypeOf<ManifestScenario>().toExtend<Scenario>();
  expectTypeOf<ManifestScenario>().toExtend<ScenarioWithDetail>();
  // lab/http/api.ts lays the detail over the manifest entry.
  expectTypeOf<Omit<ManifestScenario, keyof ScenarioDetail> & ScenarioDetail>().toExtend<ScenarioWithDetail>();
});

test("the grader's ScenarioGrade fits the board's Grade (GET /api/report?format=json)", () => {
  expectTypeOf<ScenarioGrade>().toExtend<Grade>();
});

test("a stored message without its path fits the board's Message (GET /api/messages)", () => {
  expectTypeOf<Omit<StoredMessage, "path">>().toExtend<Message>();
});

test("clients/matrix.ts's Matrix fits the board's Matrix (GET /api/checks/<id>)", () => {
  expectTypeOf<CheckMatrix>().toExtend<Matrix>();
});

test("the MTA-STS policy lab/sts/explain.ts adds to a scenario fits the board's StsPolicyView", () => {
  expectTypeOf<NonNullable<ReturnType<typeof stsDetail>>>().toExtend<StsPolicyView>();
});
