// One timeline per SMTP connection (newest first): who connected where, each step with its time, and the outcome.
// Shown on the Live page (all connections) and on a scenario's page (its own); model.ts `buildTimelines` reads the
// event log, this draws it.
import { buildTimelines, routeHash, type UiEvent } from "../model.ts";
import { badge, clock, h, keepFocus } from "./dom.ts";

/** How many connection timelines a page shows. */
const MAX_TIMELINES = 60;

/** Draws the timelines of `events` into `container` (or `empty` when there are none), keeping keyboard focus. */
export function renderTimelines(container: HTMLElement, events: UiEvent[], empty: string): void {
  keepFocus(container, () => fillTimelines(container, events, empty));
}

function fillTimelines(container: HTMLElement, events: UiEvent[], empty: string): void {
  const timelines = buildTimelines(events).slice(0, MAX_TIMELINES);
  if (!timelines.length) {
    container.replaceChildren(h("p", { class: "muted" }, empty));
    return;
  }
  container.replaceChildren(
    ...timelines.map((t) =>
      h(
        "article",
        { class: `timeline ${t.outcome.tone}`, "data-session": t.session, "data-scenario": t.scenario },
        h(
          "header",
          {},
          h("a", { href: routeHash({ page: "scenario", id: t.scenario }) }, h("code", {}, t.scenario)),
          ` from ${t.client} at ${t.listener} — ${clock(t.start)} `,
          badge(t.outcome.label, t.outcome.tone),
        ),
        h(
          "ol",
          { class: "steps" },
          t.steps.map((s) =>
            h(
              "li",
              { class: `step ${s.tone}`, "data-kind": s.kind },
              h("time", { datetime: s.time }, clock(s.time)),
              " ",
              s.label,
            ),
          ),
        ),
      ),
    ),
  );
}
