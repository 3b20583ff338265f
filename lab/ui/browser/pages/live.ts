// The Live page (`#/live`): every SMTP connection as it happens, newest first, beside the verdicts the grader derives
// from all traffic so far; both re-render as events arrive.
import { api } from "../client.ts";
import { type Content, errorBox, h } from "../dom.ts";
import { reportTable } from "../report.ts";
import { scenarios, state } from "../state.ts";
import { renderTimelines } from "../timelines.ts";

export async function livePage(): Promise<Content> {
  const list = await scenarios();
  const timelines = h("div", { class: "timelines", id: "timelines" });
  const verdicts = h("div", { class: "verdicts" });
  let reportTimer = 0;
  const refreshReport = () => {
    clearTimeout(reportTimer);
    reportTimer = window.setTimeout(async () => {
      try {
        const report = await api.report();
        verdicts.replaceChildren(reportTable(report, list));
      } catch (err) {
        verdicts.replaceChildren(errorBox(err));
      }
    }, 300);
  };
  const render = () => {
    renderTimelines(
      timelines,
      state.events,
      "No connections yet. Point an MTA at the lab, or: swaks --to run-1@<scenario>.<suffix> …",
    );
    refreshReport();
  };
  render();
  state.onEvents = render;
  return [
    h("h1", {}, "Live activity"),
    h(
      "p",
      { class: "lead" },
      "Every SMTP connection as it happens, newest first, and the verdict the grader derives (all traffic).",
    ),
    h(
      "div",
      { class: "live" },
      h("section", {}, h("h2", {}, "Connections"), timelines),
      h("section", {}, h("h2", {}, "Verdicts"), verdicts),
    ),
  ];
}
