// danelab's training board: the browser side of the lab's web UI (served at `/` by the HTTP API). Pages: the scenario
// catalogue; one scenario (teaching text, DNS records with their DNSSEC status, the presented chain with the TLSA match
// highlighted, inspect commands); live activity (one timeline per SMTP connection, pushed as server-sent events, and
// the grader's verdicts); runs (the report per run, and the `danelab check` matrix); received messages with their
// trace fields.
//
// It reads only the public HTTP API (client.ts). The code that touches the DOM lives in this folder and is
// type-checked with the DOM library by lab/ui/tsconfig.json, apart from the Node program of the root tsconfig.json;
// the DOM-free logic is in ../model.ts (tested with vitest) and the API's JSON shapes in ../api-types.ts.
//
// This module is the router: the hash names a page (model.ts `parseRoute`), the page's module builds its content, and
// the page may set `state.onEvents` to re-render as events arrive. A new page is a module in pages/ and a case below.
import { parseRoute, type Route } from "../model.ts";
import { type Content, errorBox, h } from "./dom.ts";
import { cataloguePage } from "./pages/catalogue.ts";
import { livePage } from "./pages/live.ts";
import { messagesPage } from "./pages/messages.ts";
import { runsPage } from "./pages/runs.ts";
import { scenarioPage } from "./pages/scenario.ts";
import { startEvents, state } from "./state.ts";
import { installSwitches } from "./switches.ts";

const main = document.getElementById("main") as HTMLElement;
const conn = document.getElementById("conn") as HTMLElement;

function pageContent(r: Route): Promise<Content> {
  switch (r.page) {
    case "catalogue":
      return cataloguePage();
    case "scenario":
      return scenarioPage(r.id);
    case "live":
      return livePage();
    case "runs":
      return runsPage(r.run);
    case "messages":
      return messagesPage(r.id);
  }
}

let renderId = 0;
async function route(): Promise<void> {
  const r = parseRoute(location.hash);
  const mine = ++renderId;
  state.onEvents = null;
  for (const a of document.querySelectorAll("nav a[data-page]")) {
    const page = a.getAttribute("data-page");
    const current = page === r.page || (page === "catalogue" && r.page === "scenario");
    if (current) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  main.setAttribute("aria-busy", "true");
  let content: Content;
  try {
    content = await pageContent(r);
  } catch (err) {
    content = [h("h1", {}, "Something went wrong"), errorBox(err)];
  }
  if (mine !== renderId) return;
  main.replaceChildren(...content.filter((c) => c !== null));
  main.setAttribute("aria-busy", "false");
  main.dataset["page"] = r.page;
  document.title = `danelab — ${r.page === "scenario" ? r.id : r.page}`;
}

installSwitches();

window.addEventListener("hashchange", async () => {
  await route();
  main.focus({ preventScroll: true });
  window.scrollTo(0, 0);
});
route().then(() =>
  startEvents((status) => {
    conn.textContent = status.label;
    conn.className = `conn ${status.tone}`;
  }),
);
