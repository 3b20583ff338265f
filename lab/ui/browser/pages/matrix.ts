// The Runs page's "Real MTAs" section: the scenario × client matrix of the newest `danelab check` (or the one chosen),
// each cell the lab's verdict and what the MTA itself reported.
import type { CheckSummary, Matrix, Scenario } from "../../api-types.ts";
import { routeHash } from "../../model.ts";
import { api } from "../client.ts";
import { badge, errorBox, h, verdictBadge } from "../dom.ts";

/** The scenario × client matrix of the newest `danelab check` (or the one chosen), when one was run against this lab. */
export async function matrixSection(list: Scenario[]): Promise<HTMLElement> {
  const section = h("section", { class: "matrix" }, h("h2", {}, "Real MTAs: danelab check"));
  let checks: CheckSummary[] = [];
  try {
    checks = await api.checks();
  } catch {
    // an API without /api/checks: nothing to show
  }
  if (!checks.length) {
    section.append(
      h(
        "p",
        { class: "muted" },
        "No danelab check has been run against this lab (danelab check --client exim,postfix).",
      ),
    );
    return section;
  }
  const table = h("div", { class: "scroll" });
  const show = async (id: string) => {
    try {
      const m = await api.check(id);
      table.replaceChildren(matrixTable(m, list));
    } catch (err) {
      table.replaceChildren(errorBox(err));
    }
  };
  const select = h(
    "select",
    { id: "check" },
    checks.map((c) =>
      h(
        "option",
        { value: c.id },
        `${c.generated.replace("T", " ").slice(0, 19)} — ${c.columns.join(", ")} (${c.scenarios} scenarios)`,
      ),
    ),
  ) as HTMLSelectElement;
  select.addEventListener("change", () => show(select.value));
  await show(checks[0]?.id ?? "");
  section.append(h("p", {}, h("label", { for: "check" }, "Check: "), select), table);
  return section;
}

function matrixTable(m: Matrix, list: Scenario[]): HTMLElement {
  const known = new Set(list.map((s) => s.id));
  const head = h(
    "tr",
    {},
    h("th", {}, "Scenario"),
    h("th", {}, "Expect"),
    m.columns.map((c) =>
      h("th", { title: c.error ?? `run ${c.runId}` }, c.id, c.error ? h("div", { class: "why" }, c.error) : null),
    ),
  );
  const rows = m.rows.map((r) =>
    h(
      "tr",
      { "data-scenario": r.scenario },
      h(
        "td",
        {},
        known.has(r.scenario)
          ? h("a", { href: routeHash({ page: "scenario", id: r.scenario }) }, h("code", {}, r.scenario))
          : h("code", {}, r.scenario),
      ),
      h("td", {}, r.expect),
      m.columns.map((c) => {
        const cell = r.cells[c.id];
        const o = cell?.outcome;
        return h(
          "td",
          { "data-column": c.id, title: [cell?.grade?.reason, o?.error].filter(Boolean).join(" — ") },
          cell?.grade ? verdictBadge(cell.grade.verdict) : badge("no grade", "muted"),
          o
            ? h(
                "div",
                { class: "why" },
                `${o.status}${o.security ? ` (${o.security})` : ""}${o.attempts > 1 ? `, ${o.attempts} attempts` : ""}`,
              )
            : null,
        );
      }),
    ),
  );
  return h("table", { class: "matrix-table" }, h("thead", {}, head), h("tbody", {}, rows));
}
