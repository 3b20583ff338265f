// The scenario page's DNS section: the zone (signed or not, right or wrong DS at the parent, deliberate faults) and
// the records a mail client looks up, each with the DNSSEC status a validating resolver reaches for its RRset.
import type { DnsStatus, ScenarioDetail } from "../../api-types.ts";
import { badge, h } from "../dom.ts";

const tone = (status: DnsStatus): string =>
  status === "secure" ? "ok" : status === "insecure" ? "info" : status === "unknown" ? "info" : "bad";

export function dnsSection(dns: ScenarioDetail["dns"]): HTMLElement {
  return h(
    "section",
    { class: "dns" },
    h("h2", {}, "DNS records"),
    h(
      "p",
      {},
      `Zone ${dns.zone} — `,
      dns.signed ? "signed" : "UNSIGNED (insecure delegation)",
      dns.ds === "wrong" ? "; the parent publishes a WRONG DS" : "",
      dns.faults.length ? `; faults: ${dns.faults.map((f) => `${f.kind} on ${f.name} ${f.type}`).join(", ")}` : "",
    ),
    h(
      "div",
      { class: "scroll" },
      h(
        "table",
        {},
        h(
          "thead",
          {},
          h("tr", {}, h("th", {}, "Name"), h("th", {}, "Type"), h("th", {}, "Data"), h("th", {}, "DNSSEC")),
        ),
        h(
          "tbody",
          {},
          dns.records.map((r) =>
            h(
              "tr",
              { class: `rr status-${r.status}` },
              h("td", {}, h("code", {}, r.name)),
              h("td", {}, r.type),
              h("td", { class: "rdata" }, h("code", {}, r.data)),
              h(
                "td",
                {},
                badge(r.status, tone(r.status)),
                r.fault ? ` ${r.fault}` : "",
                r.why ? h("div", { class: "why" }, r.why) : null,
              ),
            ),
          ),
        ),
      ),
    ),
  );
}
