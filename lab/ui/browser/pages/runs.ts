// The Runs page (`#/runs`, `#/runs/<id>`): the grader's server-side report for one run (the messages sent to
// run-<id>@…) or for all traffic, with download links for every report format, and below it the scenario × client
// matrix of `danelab check` when one was run against this lab.
import { routeHash, runsFromEvents } from "../../model.ts";
import { api } from "../client.ts";
import { type Content, dotted, errorBox, h } from "../dom.ts";
import { reportTable } from "../report.ts";
import { scenarios, state } from "../state.ts";
import { matrixSection } from "./matrix.ts";

export async function runsPage(run: string | null): Promise<Content> {
  const list = await scenarios();
  const runs = runsFromEvents(state.events);
  const body = h("div", {});
  try {
    const report = await api.report(run);
    body.append(reportTable(report, list));
  } catch (err) {
    body.append(errorBox(err));
  }
  const links = [
    run ? h("a", { href: "#/runs" }, "all traffic") : h("strong", { "aria-current": "page" }, "all traffic"),
    ...runs.map((r) =>
      r === run
        ? h("strong", { "aria-current": "page" }, `run ${r}`)
        : h("a", { href: routeHash({ page: "runs", run: r }) }, `run ${r}`),
    ),
  ];
  const downloads = ["table", "markdown", "junit", "json"].map((f) => h("a", { href: api.reportUrl(f, run) }, f));
  return [
    h("h1", {}, run ? `Run ${run}` : "Runs"),
    h(
      "p",
      { class: "lead" },
      "The server-side report: one verdict per scenario for the messages sent to run-<id>@… (a run), or for all traffic.",
    ),
    h("nav", { class: "runs", "aria-label": "Runs" }, dotted(links)),
    h("p", { class: "muted" }, "Download: ", dotted(downloads)),
    body,
    await matrixSection(list),
  ];
}
