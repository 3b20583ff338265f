// One scenario's page (`#/scenario/<id>`): what is tricky and which RFCs say so, how real MTAs handled it, the DNS
// records with their DNSSEC status, the MTA-STS policy when the scenario has one, every MX host with its TLSA records
// and presented chains, and the live activity for this scenario. The page is a list of sections; a new kind of detail
// is one more section module beside this one.

import { withoutTrailingDot } from "../../../../zones/names.ts";
import type { ScenarioWithDetail } from "../../api-types.ts";
import { type Content, expectBadge, h } from "../dom.ts";
import { scenarioDetail, state } from "../state.ts";
import { renderTimelines } from "../timelines.ts";
import { dnsSection } from "./scenario-dns.ts";
import { hostSection } from "./scenario-host.ts";
import { fillStsFetches, stsSection } from "./scenario-sts.ts";

export async function scenarioPage(id: string): Promise<Content> {
  const s = await scenarioDetail(id);
  const activity = h("div", { class: "timelines" });
  const renderActivity = () =>
    renderTimelines(
      activity,
      state.events.filter((e) => e.scenario === id),
      "No connection to this scenario yet.",
    );
  const fetches = h("ul", { class: "sts-fetches" });
  const renderFetches = () => fillStsFetches(fetches, state.events, id);
  renderActivity();
  renderFetches();
  state.onEvents = () => {
    renderActivity();
    renderFetches();
  };
  return [
    h("p", { class: "crumbs" }, h("a", { href: "#/" }, "Scenarios"), ` / ${s.group}`),
    h("h1", {}, h("code", {}, s.id), " ", expectBadge(s.expect)),
    h("p", { class: "title" }, s.title),
    teachSection(s),
    s.dns ? dnsSection(s.dns) : h("p", { class: "muted" }, "This lab's API has no DNS or chain details for scenarios."),
    s.stsPolicy ? stsSection(s.stsPolicy, fetches) : null,
    ...(s.hosts ?? []).map(hostSection),
    h("section", {}, h("h2", {}, "Live activity"), activity),
  ];
}

function teachSection(s: ScenarioWithDetail): HTMLElement {
  return h(
    "section",
    { class: "teach" },
    h("h2", {}, "What is tricky"),
    h("p", {}, s.teach),
    s.rfc?.length ? h("p", {}, h("strong", {}, "RFCs: "), s.rfc.join(" · ")) : null,
    s.known ? h("p", {}, h("strong", {}, "Real MTAs: "), s.known) : null,
    h("p", {}, h("strong", {}, "Send a test: "), h("code", {}, `run-1@${withoutTrailingDot(s.domain)}`)),
  );
}
