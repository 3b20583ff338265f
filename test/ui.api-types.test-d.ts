// Type tests, checked by `npm run typecheck` (and `vitest --typecheck`), never run: the report, message, matrix and
// catalogue shapes the web UI restates in lab/ui/api-types.ts (their server modules need Node) must keep fitting what
// the server sends, so renaming or retyping a field in the grader, the mail store, the manifest or the check matrix
// fails here instead of leaving a page blank.
import { expectTypeOf, test } from "vitest";
import type { Matrix as CheckMatrix } from "../clients/matrix.js";
import type { ScenarioGrade } from "../lab/grade/index.js";
import type { ManifestScenario } from "../lab/manifest.js";
import type { StoredMessage } from "../lab/smtp/store.js";
import type { Grade, Matrix, Message, Scenario, ScenarioWithDetail } from "../lab/ui/api-types.js";
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
