// @ts-check
// danelab's training board: the browser side of the lab's web UI (served at `/` by the HTTP API). Pages: the scenario
// catalogue; one scenario (teaching text, DNS records with their DNSSEC status, the presented chain with the TLSA match
// highlighted, inspect commands); live activity (one timeline per SMTP connection, pushed as server-sent events, and
// the grader's verdicts); runs (the report per run); received messages with their trace fields.
//
// It reads only the public HTTP API. Checked JavaScript (JSDoc types, `npx tsc -p lab/ui/tsconfig.json`): the Node
// program in the root tsconfig.json compiles without the DOM library, so the browser code lives outside it; the
// DOM-free logic is in model.ts, tested with vitest.
import {
  buildTimelines,
  filterCatalogue,
  parseRoute,
  routeHash,
  runsFromEvents,
  splitMessage,
  tricky,
} from "./model.ts";

/** @typedef {import("./model.ts").UiEvent} UiEvent */
/** @typedef {import("./model.ts").Timeline} Timeline */
/** @typedef {import("./model.ts").CatalogueEntry & { domain: string; recipient: string; known?: string; mx: { host: string; preference: number; addresses: string[]; port: number }[]; tlsa: string[] }} Scenario */
/**
 * @typedef {{ level: string; text: string }} Note
 * @typedef {{ name: string; depth: number; subject: string; issuer: string; serial: string; san: string[];
 *   keyUsage: { usages: string[]; critical: boolean } | null; extKeyUsage: string[] | null; ca: boolean;
 *   notBefore: string; notAfter: string; keyType: string; spkiSha256: string; certSha256: string;
 *   tlsaMatches: number[]; authenticates: boolean; nameMatches: string[]; nameMatchKind: "host" | "next-hop" | null;
 *   looksRightOnly: boolean; notes: Note[] }} CertView
 * @typedef {{ record: string; usage: number; selector: number; matching: number; hex: string; usable: boolean;
 *   note: string | null; matches: { chain: number; depth: number; authenticates: boolean }[] }} TlsaView
 * @typedef {{ name: string; preference: number; addressName: string; address: string; port: number; behaviour: string[];
 *   tlsaOwner: string; tlsa: TlsaView[]; referenceIdentifiers: string[];
 *   chains: { label: string; certificates: CertView[] }[]; commands: { label: string; command: string }[] }} HostView
 * @typedef {{ name: string; type: string; ttl: number; data: string; status: string; fault: string | null;
 *   why: string | null; zone: string }} DnsRecordView
 * @typedef {{ host: string; mode: string; fault: string | null; policy: string; rule: string; tlsrpt: string | null;
 *   curl: string }} StsPolicyView
 * @typedef {Scenario & { known?: string | null; dns?: { zone: string; signed: boolean; ds: string;
 *   faults: { kind: string; name: string; type: string }[]; records: DnsRecordView[] }; hosts?: HostView[];
 *   stsPolicy?: StsPolicyView }} ScenarioDetail
 * @typedef {{ scenario: string; title?: string; group?: string; expect: string; verdict: string; reason: string;
 *   evidence: { sessions: number; delivered: { tls: number; cleartext: number }; refused: number; messages: string[] } }} Grade
 * @typedef {{ run: string | null; summary: Record<string, number>; grades: Grade[] }} Report
 * @typedef {{ id: string; scenario: string; size: number; receivedAt: string; client: string | null; sender: string | null;
 *   recipients: string[]; run: string | null; tls: { version: string; cipher: string; sni: string | null } | null }} Message
 * @typedef {{ id: string; generated: string; columns: string[]; scenarios: number }} CheckSummary
 * @typedef {{ grade?: { verdict: string; reason: string }; outcome?: { status: string; security?: string; attempts: number;
 *   error?: string } }} MatrixCell
 * @typedef {{ generated: string; columns: { id: string; client: string; mode: string; runId: string; error?: string }[];
 *   rows: { scenario: string; title: string; group: string; expect: string; cells: Record<string, MatrixCell> }[] }} Matrix
 */

/** How many old events the board loads at start (the lab keeps more; the board shows the recent past). */
const BACKLOG = 3000;
/** How many connection timelines a page shows. */
const MAX_TIMELINES = 60;

const main = /** @type {HTMLElement} */ (document.getElementById("main"));
const conn = /** @type {HTMLElement} */ (document.getElementById("conn"));

const state = {
  /** @type {Scenario[] | null} */ scenarios: null,
  /** @type {UiEvent[]} */ events: [],
  lastSeq: 0,
  /** @type {Map<string, ScenarioDetail>} */ details: new Map(),
  filter: { query: "", expect: "" },
  /** @type {(() => void) | null} live re-render of the current page, if it shows events */ onEvents: null,
};

// --- DOM helpers ---------------------------------------------------------------------------------------------------

/**
 * @typedef {Node | string | number | null | undefined | false} Child
 * @param {string} tag
 * @param {Record<string, string | number | boolean | null | undefined | EventListener>} [attrs]
 * @param {...(Child | Child[])} children
 * @returns {HTMLElement}
 */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (typeof v === "function") el.addEventListener(k.replace(/^on/, ""), v);
    else if (v === true) el.setAttribute(k, "");
    else el.setAttribute(k, String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(typeof c === "object" ? c : String(c));
  }
  return el;
}

/** @param {string} text @param {string} tone */
const badge = (text, tone) => h("span", { class: `badge ${tone}` }, text);

/** @param {string} expect */
const expectBadge = (expect) =>
  badge(
    expect,
    expect.startsWith("deliver") || expect === "tls-required" ? "ok" : expect === "no-delivery" ? "bad" : "info",
  );

/** @param {string} verdict */
const verdictBadge = (verdict) =>
  badge(verdict, verdict === "pass" ? "ok" : verdict === "fail" ? "bad" : verdict === "pending" ? "warn" : "info");

/** @param {string} iso */
function clock(iso) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime())
    ? iso
    : d.toLocaleTimeString([], { hour12: false }) + `.${String(d.getMilliseconds()).padStart(3, "0")}`;
}

/**
 * @template T
 * @param {string} path
 * @returns {Promise<T>}
 */
async function api(path) {
  const res = await fetch(path, { headers: { accept: "application/json" } });
  if (!res.ok) {
    let msg = `${res.status} ${res.statusText}`;
    try {
      msg = (await res.json()).error ?? msg;
    } catch {
      // not JSON
    }
    throw new Error(`${path}: ${msg}`);
  }
  return res.json();
}

/** @param {string} path */
async function text(path) {
  const res = await fetch(path);
  if (!res.ok) throw new Error(`${path}: ${res.status} ${res.statusText}`);
  return res.text();
}

/** @param {unknown} err */
const errorBox = (err) => h("p", { class: "error", role: "alert" }, err instanceof Error ? err.message : String(err));

/** @param {string} textToCopy @param {string} label */
function copyButton(textToCopy, label) {
  const button = h("button", { type: "button", class: "copy", "aria-label": `Copy: ${label}` }, "Copy");
  button.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(textToCopy);
    } catch {
      // Older browsers or a non-secure origin: select a hidden textarea and copy.
      const area = h("textarea", { class: "offscreen" }, textToCopy);
      document.body.append(area);
      /** @type {HTMLTextAreaElement} */ (area).select();
      document.execCommand("copy");
      area.remove();
    }
    button.textContent = "Copied";
    setTimeout(() => {
      button.textContent = "Copy";
    }, 1500);
  });
  return button;
}

// --- data ----------------------------------------------------------------------------------------------------------

async function scenarios() {
  if (!state.scenarios) state.scenarios = await api("/api/scenarios");
  return /** @type {Scenario[]} */ (state.scenarios);
}

/** The event backlog, then server-sent events from where it ended (the stream resumes itself with Last-Event-ID). */
async function startEvents() {
  try {
    /** @type {{ lastSeq?: number }} */
    const health = await api("/api/health");
    const since = Math.max(0, (health.lastSeq ?? 0) - BACKLOG);
    /** @type {UiEvent[]} */
    const backlog = await api(`/api/events?since=${since}`);
    state.events = backlog;
    state.lastSeq = backlog.reduce((m, e) => Math.max(m, e.seq), since);
  } catch (err) {
    conn.textContent = "API unreachable";
    conn.className = "conn bad";
    console.error(err);
  }
  const source = new EventSource(`/api/events/stream?since=${state.lastSeq}`);
  source.addEventListener("open", () => {
    conn.textContent = "live";
    conn.className = "conn ok";
  });
  source.addEventListener("error", () => {
    conn.textContent = "reconnecting…";
    conn.className = "conn warn";
  });
  source.addEventListener("message", (msg) => {
    /** @type {UiEvent} */
    const e = JSON.parse(msg.data);
    if (e.seq <= state.lastSeq) return;
    state.lastSeq = e.seq;
    state.events.push(e);
    if (state.events.length > BACKLOG * 2) state.events.splice(0, state.events.length - BACKLOG);
    scheduleLive();
  });
  state.onEvents?.();
}

let liveQueued = false;
function scheduleLive() {
  if (liveQueued) return;
  liveQueued = true;
  requestAnimationFrame(() => {
    liveQueued = false;
    state.onEvents?.();
  });
}

// --- pages ---------------------------------------------------------------------------------------------------------

async function pageCatalogue() {
  const list = await scenarios();
  const expects = [...new Set(list.map((s) => s.expect))].sort();
  const results = h("div", { class: "catalogue" });
  const count = h("p", { class: "muted", "aria-live": "polite" });
  /** The grader's verdict per scenario (all traffic), shown on each card and kept current as events arrive. */
  /** @type {Map<string, Grade>} */
  let grades = new Map();
  const loadGrades = async () => {
    try {
      /** @type {Report} */
      const report = await api("/api/report?format=json");
      grades = new Map(report.grades.map((g) => [g.scenario, g]));
    } catch {
      // no verdicts: the cards still show the catalogue
    }
  };
  await loadGrades();
  let gradeTimer = 0;
  const fillVerdict = (/** @type {HTMLElement} */ slot, /** @type {string} */ id) => {
    const g = grades.get(id);
    slot.replaceChildren(...(g && g.verdict !== "not-tested" ? [" ", verdictBadge(g.verdict)] : []));
    slot.title = g?.reason ?? "";
  };
  const verdictOf = (/** @type {string} */ id) => {
    const slot = h("span", { class: "verdict", "data-for": id });
    fillVerdict(slot, id);
    return slot;
  };
  // Verdicts change in place, so a keyboard user's focus on a card survives live updates.
  state.onEvents = () => {
    clearTimeout(gradeTimer);
    gradeTimer = window.setTimeout(async () => {
      await loadGrades();
      for (const slot of results.querySelectorAll(".verdict[data-for]")) {
        fillVerdict(/** @type {HTMLElement} */ (slot), slot.getAttribute("data-for") ?? "");
      }
    }, 300);
  };
  const render = () => {
    const groups = filterCatalogue(list, state.filter.query, state.filter.expect);
    const n = groups.reduce((m, g) => m + g.scenarios.length, 0);
    count.textContent = `${n} of ${list.length} scenarios`;
    results.replaceChildren(
      ...groups.map((g) =>
        h(
          "section",
          { class: "group" },
          h("h2", {}, g.group),
          h(
            "ul",
            { class: "cards" },
            g.scenarios.map((s) =>
              h(
                "li",
                { class: "card" },
                h("a", { href: routeHash({ page: "scenario", id: s.id }), class: "card-link" }, h("code", {}, s.id)),
                " ",
                expectBadge(s.expect),
                verdictOf(s.id),
                h("p", { class: "title" }, s.title),
                h("p", { class: "tricky" }, tricky(s.teach)),
              ),
            ),
          ),
        ),
      ),
    );
  };
  const query = /** @type {HTMLInputElement} */ (
    h("input", {
      type: "search",
      id: "filter",
      placeholder: "filter: wildcard, keyUsage, greylist… (key: /)",
      value: state.filter.query,
    })
  );
  query.addEventListener("input", () => {
    state.filter.query = query.value;
    render();
  });
  const select = /** @type {HTMLSelectElement} */ (
    h(
      "select",
      { id: "filter-expect" },
      h("option", { value: "" }, "any expected verdict"),
      expects.map((e) => h("option", { value: e }, e)),
    )
  );
  select.value = state.filter.expect;
  select.addEventListener("change", () => {
    state.filter.expect = select.value;
    render();
  });
  render();
  return [
    h("h1", {}, "Scenarios"),
    h(
      "p",
      { class: "lead" },
      "Each scenario is one DNSSEC-signed zone with its own MX host. Send mail to run-<id>@<scenario>.<suffix> and watch the Live page.",
    ),
    h(
      "div",
      { class: "filters", role: "search" },
      h("label", { for: "filter" }, "Filter"),
      query,
      h("label", { for: "filter-expect" }, "Expect"),
      select,
    ),
    count,
    results,
  ];
}

/** @param {string} id */
async function pageScenario(id) {
  /** @type {ScenarioDetail} */
  const s = state.details.get(id) ?? (await api(`/api/scenarios/${encodeURIComponent(id)}`));
  state.details.set(id, s);
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
    h(
      "section",
      { class: "teach" },
      h("h2", {}, "What is tricky"),
      h("p", {}, s.teach),
      s.rfc?.length ? h("p", {}, h("strong", {}, "RFCs: "), s.rfc.join(" · ")) : null,
      s.known ? h("p", {}, h("strong", {}, "Real MTAs: "), s.known) : null,
      h("p", {}, h("strong", {}, "Send a test: "), h("code", {}, `run-1@${s.domain.replace(/\.$/, "")}`)),
    ),
    s.dns ? dnsSection(s.dns) : h("p", { class: "muted" }, "This lab's API has no DNS or chain details for scenarios."),
    s.stsPolicy ? stsSection(s.stsPolicy, fetches) : null,
    ...(s.hosts ?? []).map(hostSection),
    h("section", {}, h("h2", {}, "Live activity"), activity),
  ];
}

/** @param {NonNullable<ScenarioDetail["dns"]>} dns */
function dnsSection(dns) {
  const tone = /** @param {string} st */ (st) =>
    st === "secure" ? "ok" : st === "insecure" ? "info" : st === "unknown" ? "info" : "bad";
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

/** @param {HostView} host */
function hostSection(host) {
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

/** @param {{ label: string; certificates: CertView[] }} chain @param {HostView} host */
function chainView(chain, host) {
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

/**
 * @param {HTMLElement} container
 * @param {UiEvent[]} events
 * @param {string} empty
 */
function renderTimelines(container, events, empty) {
  keepFocus(container, () => fillTimelines(container, events, empty));
}

/**
 * Re-renders `container` without losing a keyboard user's place: a focused link inside it is focused again afterwards
 * (found by its href within the same connection).
 * @param {HTMLElement} container
 * @param {() => void} render
 */
function keepFocus(container, render) {
  const active = document.activeElement;
  const inside = active instanceof HTMLElement && container.contains(active) ? active : null;
  const session = inside?.closest("[data-session]")?.getAttribute("data-session");
  const href = inside?.getAttribute("href");
  render();
  if (!inside || !href) return;
  const scope = session ? container.querySelector(`[data-session="${CSS.escape(session)}"]`) : container;
  const again = scope?.querySelector(`a[href="${CSS.escape(href)}"]`);
  if (again instanceof HTMLElement) again.focus({ preventScroll: true });
}

/**
 * @param {HTMLElement} container
 * @param {UiEvent[]} events
 * @param {string} empty
 */
function fillTimelines(container, events, empty) {
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

async function pageLive() {
  const list = await scenarios();
  const timelines = h("div", { class: "timelines", id: "timelines" });
  const verdicts = h("div", { class: "verdicts" });
  let reportTimer = 0;
  const refreshReport = () => {
    clearTimeout(reportTimer);
    reportTimer = window.setTimeout(async () => {
      try {
        /** @type {Report} */
        const report = await api("/api/report?format=json");
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

/** @param {Report} report @param {Scenario[]} list */
function reportTable(report, list) {
  const titles = new Map(list.map((s) => [s.id, s.title]));
  const summary = Object.entries(report.summary ?? {})
    .filter(([k, v]) => k !== "total" && v > 0)
    .map(([k, v]) => `${v} ${k}`)
    .join(", ");
  return h(
    "div",
    {},
    h("p", {}, summary || "nothing graded yet"),
    h(
      "div",
      { class: "scroll" },
      h(
        "table",
        { class: "report" },
        h(
          "thead",
          {},
          h("tr", {}, h("th", {}, "Scenario"), h("th", {}, "Expect"), h("th", {}, "Verdict"), h("th", {}, "Why")),
        ),
        h(
          "tbody",
          {},
          report.grades.map((g) =>
            h(
              "tr",
              { class: `verdict-${g.verdict}`, "data-scenario": g.scenario },
              h(
                "td",
                {},
                h(
                  "a",
                  { href: routeHash({ page: "scenario", id: g.scenario }), title: titles.get(g.scenario) ?? "" },
                  h("code", {}, g.scenario),
                ),
              ),
              h("td", {}, g.expect),
              h("td", {}, verdictBadge(g.verdict)),
              h("td", {}, g.reason),
            ),
          ),
        ),
      ),
    ),
  );
}

/** @param {string | null} run */
async function pageRuns(run) {
  const list = await scenarios();
  const runs = runsFromEvents(state.events);
  const body = h("div", {});
  try {
    /** @type {Report} */
    const report = await api(`/api/report?format=json${run ? `&run=${encodeURIComponent(run)}` : ""}`);
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
  const downloads = ["table", "markdown", "junit", "json"].map((f) =>
    h("a", { href: `/api/report?format=${f}${run ? `&run=${encodeURIComponent(run)}` : ""}` }, f),
  );
  return [
    h("h1", {}, run ? `Run ${run}` : "Runs"),
    h(
      "p",
      { class: "lead" },
      "The server-side report: one verdict per scenario for the messages sent to run-<id>@… (a run), or for all traffic.",
    ),
    h(
      "nav",
      { class: "runs", "aria-label": "Runs" },
      links.flatMap((l, i) => (i ? [" · ", l] : [l])),
    ),
    h(
      "p",
      { class: "muted" },
      "Download: ",
      downloads.flatMap((l, i) => (i ? [" · ", l] : [l])),
    ),
    body,
    await matrixSection(list),
  ];
}

/** The scenario × client matrix of the newest `danelab check` (or the one chosen), when one was run against this lab. */
async function matrixSection(/** @type {Scenario[]} */ list) {
  const section = h("section", { class: "matrix" }, h("h2", {}, "Real MTAs: danelab check"));
  /** @type {CheckSummary[]} */
  let checks = [];
  try {
    checks = await api("/api/checks");
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
  const show = async (/** @type {string} */ id) => {
    try {
      /** @type {Matrix} */
      const m = await api(`/api/checks/${encodeURIComponent(id)}`);
      table.replaceChildren(matrixTable(m, list));
    } catch (err) {
      table.replaceChildren(errorBox(err));
    }
  };
  const select = /** @type {HTMLSelectElement} */ (
    h(
      "select",
      { id: "check" },
      checks.map((c) =>
        h(
          "option",
          { value: c.id },
          `${c.generated.replace("T", " ").slice(0, 19)} — ${c.columns.join(", ")} (${c.scenarios} scenarios)`,
        ),
      ),
    )
  );
  select.addEventListener("change", () => show(select.value));
  await show(checks[0]?.id ?? "");
  section.append(h("p", {}, h("label", { for: "check" }, "Check: "), select), table);
  return section;
}

/** @param {Matrix} m @param {Scenario[]} list */
function matrixTable(m, list) {
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

/** @param {string | null} id */
async function pageMessages(id) {
  /** @type {Message[]} */
  const messages = await api("/api/messages");
  if (id) {
    const m = messages.find((x) => x.id === id);
    const raw = await text(`/api/messages/${encodeURIComponent(id)}/raw`);
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

// --- router, switches, keys ----------------------------------------------------------------------------------------

let renderId = 0;
async function route() {
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
  /** @type {(Node | string | null)[]} */
  let content;
  try {
    content =
      r.page === "scenario"
        ? await pageScenario(r.id)
        : r.page === "live"
          ? await pageLive()
          : r.page === "runs"
            ? await pageRuns(r.run)
            : r.page === "messages"
              ? await pageMessages(r.id)
              : await pageCatalogue();
  } catch (err) {
    content = [h("h1", {}, "Something went wrong"), errorBox(err)];
  }
  if (mine !== renderId) return;
  main.replaceChildren(...content.filter((c) => c !== null));
  main.setAttribute("aria-busy", "false");
  main.dataset["page"] = r.page;
  document.title = `danelab — ${r.page === "scenario" ? r.id : r.page}`;
}

const root = document.documentElement;
const largeButton = /** @type {HTMLButtonElement} */ (document.getElementById("large-text"));
const themeButton = /** @type {HTMLButtonElement} */ (document.getElementById("theme"));
const THEMES = ["auto", "light", "dark"];

/** @param {boolean} on */
function setLarge(on) {
  root.classList.toggle("large", on);
  largeButton.setAttribute("aria-pressed", String(on));
  localStorage.setItem("danelab.large", on ? "1" : "0");
}
/** @param {string} theme */
function setTheme(theme) {
  root.dataset["theme"] = theme;
  themeButton.textContent = `Theme: ${theme}`;
  localStorage.setItem("danelab.theme", theme);
}
largeButton.addEventListener("click", () => setLarge(!root.classList.contains("large")));
themeButton.addEventListener("click", () =>
  setTheme(THEMES[(THEMES.indexOf(root.dataset["theme"] ?? "auto") + 1) % THEMES.length] ?? "auto"),
);
setLarge(localStorage.getItem("danelab.large") === "1");
setTheme(localStorage.getItem("danelab.theme") ?? "auto");

document.addEventListener("keydown", (e) => {
  const target = /** @type {HTMLElement | null} */ (e.target);
  if (e.ctrlKey || e.metaKey || e.altKey || (target && /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName))) return;
  if (e.key === "/") {
    const filter = document.getElementById("filter");
    if (filter) {
      e.preventDefault();
      filter.focus();
    }
  } else if (e.key === "+") setLarge(!root.classList.contains("large"));
  else if (e.key === "t") themeButton.click();
});

window.addEventListener("hashchange", async () => {
  await route();
  main.focus({ preventScroll: true });
  window.scrollTo(0, 0);
});
route().then(startEvents);

/**
 * MTA-STS (RFC 8461): the policy as the lab serves it, the rule that decides the scenario, and the fetches seen.
 * @param {StsPolicyView} p
 * @param {HTMLElement} fetches
 */
function stsSection(p, fetches) {
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

/**
 * @param {HTMLElement} list
 * @param {import("./model.ts").UiEvent[]} events
 * @param {string} id
 */
function fillStsFetches(list, events, id) {
  const mine = events.filter((e) => e.scenario === id && (e.kind === "sts-fetch" || e.kind === "sts-tls-error"));
  list.replaceChildren(
    ...(mine.length
      ? mine
          .slice(-20)
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
