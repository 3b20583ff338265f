// The grader's report as a table: one row per scenario with its expectation, verdict and the reason. The Live page
// shows it for all traffic, the Runs page for one run.
import type { Report, Scenario } from "../api-types.ts";
import { routeHash } from "../model.ts";
import { h, verdictBadge } from "./dom.ts";

export function reportTable(report: Report, list: Scenario[]): HTMLElement {
  const titles = new Map(list.map((s) => [s.id, s.title]));
  const summary = Object.entries(report.summary ?? {})
    .filter(([k, v]) => k !== "total" && v > 0)
    .map(([k, v]) => `${v} ${k}`)
    .join(", ");
  return h(
    "div",
    {},
    h("p", {}, summary || "nothing graded yet"),
    h(
      "div",
      { class: "scroll" },
      h(
        "table",
        { class: "report" },
        h(
          "thead",
          {},
          h("tr", {}, h("th", {}, "Scenario"), h("th", {}, "Expect"), h("th", {}, "Verdict"), h("th", {}, "Why")),
        ),
        h(
          "tbody",
          {},
          report.grades.map((g) =>
            h(
              "tr",
              { class: `verdict-${g.verdict}`, "data-scenario": g.scenario },
              h(
                "td",
                {},
                h(
                  "a",
                  { href: routeHash({ page: "scenario", id: g.scenario }), title: titles.get(g.scenario) ?? "" },
                  h("code", {}, g.scenario),
                ),
              ),
              h("td", {}, g.expect),
              h("td", {}, verdictBadge(g.verdict)),
              h("td", {}, g.reason),
            ),
          ),
        ),
      ),
    ),
  );
}
