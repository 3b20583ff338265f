// The Messages page (`#/messages`): every message the lab stored, newest first, with scenario, run, envelope, TLS
// version and size; one message (`#/messages/<id>`) shows its trace fields and the raw text as stored.
import { routeHash, splitMessage } from "../../model.ts";
import { api } from "../client.ts";
import { badge, type Content, clock, copyButton, h } from "../dom.ts";

export async function messagesPage(id: string | null): Promise<Content> {
  const messages = await api.messages();
  if (id) {
    const m = messages.find((x) => x.id === id);
    const raw = await api.rawMessage(id);
    const parts = splitMessage(raw);
    return [
      h("p", { class: "crumbs" }, h("a", { href: "#/messages" }, "Messages"), ` / ${id}`),
      h("h1", {}, "Message ", h("code", {}, id)),
      m
        ? h(
            "p",
            {},
            `to ${m.recipients.join(", ")} — scenario `,
            h("a", { href: routeHash({ page: "scenario", id: m.scenario }) }, m.scenario),
            m.tls ? ` — ${m.tls.version} ${m.tls.cipher}` : " — CLEARTEXT",
          )
        : null,
      h("h2", {}, "Trace fields"),
      h("pre", { class: "trace" }, parts.trace.join("\n")),
      h("div", { class: "cmd-head" }, h("h2", {}, "Raw"), copyButton(raw, "raw message")),
      h("pre", { class: "raw" }, raw),
    ];
  }
  const rows = [...messages]
    .reverse()
    .map((m) =>
      h(
        "tr",
        {},
        h("td", {}, h("a", { href: routeHash({ page: "messages", id: m.id }) }, clock(m.receivedAt))),
        h("td", {}, h("code", {}, m.scenario)),
        h("td", {}, m.run ?? ""),
        h("td", {}, m.sender ?? "<>"),
        h("td", {}, m.recipients.join(", ")),
        h("td", {}, m.tls ? badge(m.tls.version, "ok") : badge("cleartext", "bad")),
        h("td", { class: "num" }, m.size),
      ),
    );
  return [
    h("h1", {}, `Messages (${messages.length})`),
    messages.length
      ? h(
          "div",
          { class: "scroll" },
          h(
            "table",
            {},
            h(
              "thead",
              {},
              h(
                "tr",
                {},
                ["Received", "Scenario", "Run", "From", "To", "TLS", "Bytes"].map((c) => h("th", {}, c)),
              ),
            ),
            h("tbody", {}, rows),
          ),
        )
      : h("p", { class: "muted" }, "No message received yet."),
  ];
}
