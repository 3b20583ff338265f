// The scenario page's MTA-STS section (RFC 8461), for scenarios with a policy: the policy as the lab serves it, the
// rule that decides the scenario, where TLS-RPT reports go, a curl command, and the policy fetches seen so far.
import type { StsPolicyView } from "../../api-types.ts";
import type { UiEvent } from "../../model.ts";
import { h } from "../dom.ts";

/** How many of the newest policy fetches the list shows. */
const MAX_FETCHES = 20;

/** The section; `fetches` is the list `fillStsFetches` keeps current. */
export function stsSection(p: StsPolicyView, fetches: HTMLElement): HTMLElement {
  return h(
    "section",
    { class: "sts" },
    h("h2", {}, "MTA-STS policy"),
    h(
      "p",
      {},
      h("code", {}, `https://${p.host}/.well-known/mta-sts.txt`),
      ` — mode ${p.mode}`,
      p.fault ? `; the fetch is broken on purpose: ${p.fault}` : "",
    ),
    h("pre", {}, p.policy),
    h("p", {}, h("strong", {}, "Deciding rule: "), p.rule),
    p.tlsrpt ? h("p", {}, h("strong", {}, "TLS-RPT reports go to "), h("code", {}, p.tlsrpt)) : null,
    h("p", {}, h("strong", {}, "By hand: "), h("code", {}, p.curl)),
    h("h3", {}, "Policy fetches"),
    fetches,
  );
}

/** Lists the scenario's policy fetches (sts-fetch) and handshakes the policy server aborted (sts-tls-error). */
export function fillStsFetches(list: HTMLElement, events: UiEvent[], id: string): void {
  const mine = events.filter((e) => e.scenario === id && (e.kind === "sts-fetch" || e.kind === "sts-tls-error"));
  list.replaceChildren(
    ...(mine.length
      ? mine
          .slice(-MAX_FETCHES)
          .map((e) =>
            h(
              "li",
              {},
              `${e.time} ${e.client ?? "?"} `,
              e.kind === "sts-fetch"
                ? `${String(e["method"])} ${String(e["path"])} → ${String(e["status"] || "no answer")} (${String(e["served"])})`
                : `aborted the TLS handshake: ${String(e["reason"])}`,
            ),
          )
      : [h("li", { class: "muted" }, "No policy fetch yet.")]),
  );
}
