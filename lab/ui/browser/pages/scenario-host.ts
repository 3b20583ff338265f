// The scenario page's section for one MX host: where it listens and how it behaves, its TLSA records (which one
// matches a presented certificate, and whether that match authenticates the server or only looks right), every chain
// it presents with each certificate's names, keyUsage, extKeyUsage and validity, and commands to check it by hand.
import type { ChainView, HostView } from "../../api-types.ts";
import { badge, copyButton, h } from "../dom.ts";

export function hostSection(host: HostView): HTMLElement {
  return h(
    "section",
    { class: "host" },
    h("h2", {}, "MX host ", h("code", {}, host.name), ` (preference ${host.preference})`),
    h(
      "p",
      {},
      `SMTP at ${host.address}:${host.port}`,
      host.addressName !== host.name ? ` — CNAME to ${host.addressName}` : "",
      ". ",
      host.behaviour.join("; "),
      ".",
    ),
    h("h3", {}, `TLSA records at ${host.tlsaOwner}`),
    host.tlsa.length
      ? h(
          "ol",
          { class: "tlsa" },
          host.tlsa.map((t, i) => {
            const auth = t.matches.some((m) => m.authenticates);
            const matched = t.matches.length > 0;
            return h(
              "li",
              { class: `tlsa-rr${auth ? " tlsa-match" : matched ? " looks-right" : ""}`, id: `tlsa-${i + 1}` },
              h("code", {}, `${t.usage} ${t.selector} ${t.matching} ${t.hex}`),
              " ",
              !t.usable
                ? badge("unusable", "warn")
                : auth
                  ? badge(`matches depth ${t.matches.find((m) => m.authenticates)?.depth}`, "ok")
                  : matched
                    ? badge("matches, but does not authenticate", "warn")
                    : badge("matches nothing presented", "muted"),
              t.note ? h("span", { class: "why" }, ` ${t.note}`) : null,
            );
          }),
        )
      : h("p", {}, "No TLSA records: DANE does not apply to this host."),
    host.chains.map((c) => chainView(c, host)),
    h("h3", {}, "Look at it by hand"),
    h(
      "ul",
      { class: "commands" },
      host.commands.map((c) =>
        h(
          "li",
          { class: "cmd" },
          h("div", { class: "cmd-head" }, h("span", {}, c.label), copyButton(c.command, c.label)),
          h("pre", {}, h("code", {}, c.command)),
        ),
      ),
    ),
  );
}

function chainView(chain: ChainView, host: HostView): HTMLElement {
  return h(
    "div",
    { class: "chain-wrap" },
    h("h3", {}, `Certificates: ${chain.label}`),
    h(
      "ol",
      { class: "chain" },
      chain.certificates.map((c) => {
        const cls = [
          "cert",
          c.authenticates ? "tlsa-match" : "",
          c.looksRightOnly ? "looks-right-only" : "",
          c.ca ? "ca" : "leaf",
        ];
        const tlsaLabels = c.tlsaMatches.map((i) => {
          const t = host.tlsa[i];
          return t ? `#${i + 1} (${t.usage} ${t.selector} ${t.matching})` : `#${i + 1}`;
        });
        return h(
          "li",
          { class: cls.filter(Boolean).join(" "), "aria-label": `depth ${c.depth}: ${c.subject}` },
          h(
            "div",
            { class: "cert-head" },
            h(
              "span",
              { class: "depth" },
              c.depth === 0 ? "depth 0 · server certificate" : `depth ${c.depth}${c.ca ? " · CA" : ""}`,
            ),
            c.authenticates ? badge(`TLSA match ${tlsaLabels.join(", ")}`, "ok") : null,
            !c.authenticates && c.tlsaMatches.length ? badge(`matches TLSA ${tlsaLabels.join(", ")}`, "warn") : null,
            c.looksRightOnly ? badge("only looks right", "warn") : null,
          ),
          h(
            "dl",
            {},
            h("dt", {}, "Subject"),
            h("dd", {}, h("code", {}, c.subject || "(empty)")),
            h("dt", {}, "Issuer"),
            h("dd", {}, h("code", {}, c.issuer)),
            c.depth === 0 || c.san.length ? h("dt", {}, `SANs (${c.san.length})`) : null,
            c.depth === 0 || c.san.length
              ? h(
                  "dd",
                  {},
                  c.san.length
                    ? h(
                        "ul",
                        { class: `sans${c.san.length > 12 ? " long" : ""}` },
                        c.san.map((n) =>
                          h(
                            "li",
                            {
                              class: !c.nameMatches.includes(n)
                                ? "san"
                                : c.nameMatchKind === "host"
                                  ? "san match"
                                  : "san match next-hop",
                              title:
                                c.nameMatches.includes(n) && c.nameMatchKind !== "host"
                                  ? "matches only the next-hop domain"
                                  : null,
                            },
                            n,
                          ),
                        ),
                      )
                    : "(no SAN extension)",
                )
              : null,
            h("dt", {}, "keyUsage"),
            h(
              "dd",
              {},
              c.keyUsage
                ? `${c.keyUsage.usages.join(", ")}${c.keyUsage.critical ? " (critical)" : ""}`
                : "(no extension)",
            ),
            h("dt", {}, "extKeyUsage"),
            h("dd", {}, c.extKeyUsage ? c.extKeyUsage.join(", ") : "(no extension)"),
            h("dt", {}, "Validity"),
            h("dd", {}, `${c.notBefore.slice(0, 10)} → ${c.notAfter.slice(0, 10)}`),
            h("dt", {}, "Key"),
            h("dd", {}, c.keyType),
            h("dt", {}, "SPKI SHA-256"),
            h("dd", {}, h("code", { class: "hex" }, c.spkiSha256)),
          ),
          c.notes.length
            ? h(
                "ul",
                { class: "notes" },
                c.notes.map((n) => h("li", { class: `note ${n.level}` }, n.text)),
              )
            : null,
        );
      }),
    ),
  );
}
