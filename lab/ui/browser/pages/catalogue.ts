// The catalogue page (`#/`): every scenario as a card grouped by topic, with its expectation, the grader's verdict so
// far (kept current as events arrive) and the first sentence of its teaching text; a text filter and an
// expected-verdict filter narrow the list.
import type { Grade } from "../../api-types.ts";
import { filterCatalogue, routeHash, tricky } from "../../model.ts";
import { api } from "../client.ts";
import { type Content, expectBadge, h, verdictBadge } from "../dom.ts";
import { scenarios, state } from "../state.ts";

export async function cataloguePage(): Promise<Content> {
  const list = await scenarios();
  const expects = [...new Set(list.map((s) => s.expect))].sort();
  const results = h("div", { class: "catalogue" });
  const count = h("p", { class: "muted", "aria-live": "polite" });
  /** The grader's verdict per scenario (all traffic), shown on each card and kept current as events arrive. */
  let grades = new Map<string, Grade>();
  const loadGrades = async () => {
    try {
      const report = await api.report();
      grades = new Map(report.grades.map((g) => [g.scenario, g]));
    } catch {
      // no verdicts: the cards still show the catalogue
    }
  };
  await loadGrades();
  let gradeTimer = 0;
  const fillVerdict = (slot: HTMLElement, id: string) => {
    const g = grades.get(id);
    slot.replaceChildren(...(g && g.verdict !== "not-tested" ? [" ", verdictBadge(g.verdict)] : []));
    slot.title = g?.reason ?? "";
  };
  const verdictOf = (id: string) => {
    const slot = h("span", { class: "verdict", "data-for": id });
    fillVerdict(slot, id);
    return slot;
  };
  // Verdicts change in place, so a keyboard user's focus on a card survives live updates.
  state.onEvents = () => {
    clearTimeout(gradeTimer);
    gradeTimer = window.setTimeout(async () => {
      await loadGrades();
      for (const slot of results.querySelectorAll<HTMLElement>(".verdict[data-for]")) {
        fillVerdict(slot, slot.getAttribute("data-for") ?? "");
      }
    }, 300);
  };
  const render = () => {
    const groups = filterCatalogue(list, state.filter.query, state.filter.expect);
    const n = groups.reduce((m, g) => m + g.scenarios.length, 0);
    count.textContent = `${n} of ${list.length} scenarios`;
    results.replaceChildren(
      ...groups.map((g) =>
        h(
          "section",
          { class: "group" },
          h("h2", {}, g.group),
          h(
            "ul",
            { class: "cards" },
            g.scenarios.map((s) =>
              h(
                "li",
                { class: "card" },
                h("a", { href: routeHash({ page: "scenario", id: s.id }), class: "card-link" }, h("code", {}, s.id)),
                " ",
                expectBadge(s.expect),
                verdictOf(s.id),
                h("p", { class: "title" }, s.title),
                h("p", { class: "tricky" }, tricky(s.teach)),
              ),
            ),
          ),
        ),
      ),
    );
  };
  const query = h("input", {
    type: "search",
    id: "filter",
    placeholder: "filter: wildcard, keyUsage, greylist… (key: /)",
    value: state.filter.query,
  }) as HTMLInputElement;
  query.addEventListener("input", () => {
    state.filter.query = query.value;
    render();
  });
  const select = h(
    "select",
    { id: "filter-expect" },
    h("option", { value: "" }, "any expected verdict"),
    expects.map((e) => h("option", { value: e }, e)),
  ) as HTMLSelectElement;
  select.value = state.filter.expect;
  select.addEventListener("change", () => {
    state.filter.expect = select.value;
    render();
  });
  render();
  return [
    h("h1", {}, "Scenarios"),
    h(
      "p",
      { class: "lead" },
      "Each scenario is one DNSSEC-signed zone with its own MX host. Send mail to run-<id>@<scenario>.<suffix> and watch the Live page.",
    ),
    h(
      "div",
      { class: "filters", role: "search" },
      h("label", { for: "filter" }, "Filter"),
      query,
      h("label", { for: "filter-expect" }, "Expect"),
      select,
    ),
    count,
    results,
  ];
}
