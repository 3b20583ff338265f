// The training board's logic without the DOM: filtering the catalogue, reading a hash route, turning the lab's event
// log into one timeline per SMTP connection, listing runs, splitting a stored message into trace fields and content.
// Pure functions of the HTTP API's JSON, so they are tested with vitest in Node (model.test.ts) and used by the browser code (lab/ui/browser/).
// A connection's outcome is the grader's own reading of its events (lab/grade/sessions.ts, free of Node imports).
import { type LoggedEvent, readEvent } from "../grade/events.js";
import { sessionBadge, summarizeSession, type Tone, tlsErrorText } from "../grade/sessions.js";

export type { Tone } from "../grade/sessions.js";

/** A scenario as GET /api/scenarios returns it (the manifest's entry). */
export interface CatalogueEntry {
  id: string;
  title: string;
  group: string;
  expect: string;
  teach: string;
  rfc?: string[];
}

/** An event as stored in events.jsonl and returned by GET /api/events (lab/events.ts calls it LabEvent). */
export interface UiEvent {
  seq: number;
  time: string;
  kind: string;
  session?: string;
  scenario?: string | null;
  listener?: string;
  client?: string;
  [field: string]: unknown;
}

export interface TimelineStep {
  seq: number;
  time: string;
  kind: string;
  label: string;
  tone: Tone;
}

export interface Timeline {
  session: string;
  scenario: string;
  client: string;
  listener: string;
  start: string;
  end: string | null;
  steps: TimelineStep[];
  /** One-line summary: "delivered over TLSv1.3", "greylisted", "client alert bad_certificate" … */
  outcome: { label: string; tone: Tone };
}

/** The first sentence of the teaching text: the catalogue's one-line "what is tricky". */
export function tricky(teach: string): string {
  const text = teach.replace(/\s+/g, " ").trim();
  const m = /^(.+?[.!?])(\s|$)/.exec(text);
  const first = m ? m[1]! : text;
  return first.length > 220 ? `${first.slice(0, 217)}…` : first;
}

/** Catalogue filter: words match id, title, group or teaching text (all words must match); `expect` narrows. */
export function filterCatalogue<T extends CatalogueEntry>(
  scenarios: readonly T[],
  query: string,
  expect = "",
): { group: string; scenarios: T[] }[] {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  const hits = scenarios.filter((s) => {
    if (expect && s.expect !== expect) return false;
    const hay = `${s.id} ${s.title} ${s.group} ${s.expect} ${s.teach} ${(s.rfc ?? []).join(" ")}`.toLowerCase();
    return words.every((w) => hay.includes(w));
  });
  const groups = new Map<string, T[]>();
  for (const s of hits) {
    const list = groups.get(s.group) ?? [];
    list.push(s);
    groups.set(s.group, list);
  }
  return [...groups].map(([group, list]) => ({ group, scenarios: list }));
}

export type Route =
  | { page: "catalogue" }
  | { page: "scenario"; id: string }
  | { page: "live" }
  | { page: "runs"; run: string | null }
  | { page: "messages"; id: string | null };

/** `#/scenario/<id>` → { page: "scenario", id: "<id>" }; anything unknown is the catalogue. */
export function parseRoute(hash: string): Route {
  const parts = hash
    .replace(/^#\/?/, "")
    .split("/")
    .filter(Boolean)
    .map((p) => {
      try {
        return decodeURIComponent(p);
      } catch {
        return p;
      }
    });
  const [page, arg] = parts;
  if (page === "scenario" && arg) return { page: "scenario", id: arg };
  if (page === "live") return { page: "live" };
  if (page === "runs") return { page: "runs", run: arg ?? null };
  if (page === "messages") return { page: "messages", id: arg ?? null };
  return { page: "catalogue" };
}

export function routeHash(route: Route): string {
  switch (route.page) {
    case "catalogue":
      return "#/";
    case "scenario":
      return `#/scenario/${encodeURIComponent(route.id)}`;
    case "live":
      return "#/live";
    case "runs":
      return route.run ? `#/runs/${encodeURIComponent(route.run)}` : "#/runs";
    case "messages":
      return route.id ? `#/messages/${encodeURIComponent(route.id)}` : "#/messages";
  }
}

const str = (e: UiEvent, k: string): string | null => (typeof e[k] === "string" ? (e[k] as string) : null);

/** One event as a timeline step a trainer can read aloud. */
export function describeEvent(e: UiEvent): { label: string; tone: Tone } {
  switch (e.kind) {
    case "connect":
      return { label: `connected from ${e.client ?? "?"}`, tone: "info" };
    case "greeting":
      return e.greylisted
        ? { label: `greylisted: ${e.code ?? 421} greeting, come back later`, tone: "warn" }
        : { label: `greeting ${e.code ?? 220}`, tone: "info" };
    case "ehlo":
      return e.starttlsOffered
        ? { label: `${str(e, "verb") ?? "EHLO"} ${str(e, "name") ?? ""} — STARTTLS offered`, tone: "info" }
        : { label: `${str(e, "verb") ?? "EHLO"} ${str(e, "name") ?? ""} — STARTTLS not offered`, tone: "warn" };
    case "command":
      return { label: `${str(e, "command") ?? "?"} → ${e.code ?? "?"}`, tone: Number(e.code) >= 400 ? "warn" : "info" };
    case "reply":
      return { label: `server replied ${e.code ?? "?"} ${str(e, "reply") ?? ""}`.trim(), tone: "info" };
    case "tls":
      return {
        label: `TLS handshake: ${str(e, "version") ?? "?"}, ${str(e, "cipher") ?? "?"}, SNI ${str(e, "sni") ?? "(none)"}`,
        tone: "ok",
      };
    case "tls-error":
      return tlsErrorText(readEvent(e, e.seq)!);
    case "rcpt":
      return {
        label: `RCPT ${str(e, "recipient") ?? "?"} → ${e.code ?? "?"}${str(e, "run") ? ` (run ${str(e, "run")})` : ""}`,
        tone: Number(e.code) >= 400 ? "warn" : "info",
      };
    case "message":
      return e.tls
        ? { label: `delivered over TLS (${str(e, "tlsVersion") ?? "TLS"}), ${e.size ?? "?"} bytes`, tone: "ok" }
        : { label: `delivered in CLEARTEXT, ${e.size ?? "?"} bytes`, tone: "bad" };
    case "close":
      return { label: `closed: ${str(e, "reason") ?? "?"}`, tone: "info" };
    default:
      return { label: e.kind, tone: "info" };
  }
}

/** Groups SMTP events by connection (session), oldest event first within a timeline, newest timeline first. */
export function buildTimelines(events: readonly UiEvent[]): Timeline[] {
  const byId = new Map<string, Timeline>();
  const eventsOf = new Map<string, LoggedEvent[]>();
  for (const e of [...events].sort((a, b) => a.seq - b.seq)) {
    if (!e.session) continue;
    const logged = readEvent(e, e.seq);
    if (logged) {
      const list = eventsOf.get(e.session);
      if (list) list.push(logged);
      else eventsOf.set(e.session, [logged]);
    }
    let t = byId.get(e.session);
    if (!t) {
      t = {
        session: e.session,
        scenario: e.scenario ?? "?",
        client: e.client ?? "?",
        listener: e.listener ?? "?",
        start: e.time,
        end: null,
        steps: [],
        outcome: { label: "in progress", tone: "info" },
      };
      byId.set(e.session, t);
    }
    // The listener logs EHLO and RCPT twice (as a command and as its own event): keep the richer event only.
    if (e.kind === "command" && /^(EHLO|HELO|RCPT)\b/i.test(str(e, "command") ?? "")) continue;
    const step = { seq: e.seq, time: e.time, kind: e.kind, ...describeEvent(e) };
    // After STARTTLS the server does not offer it again (RFC 3207 §4.2): the second EHLO is no warning.
    if (e.kind === "ehlo" && t.steps.some((s) => s.kind === "tls")) {
      step.label = `${str(e, "verb") ?? "EHLO"} ${str(e, "name") ?? ""} — inside TLS`;
      step.tone = "info";
    }
    t.steps.push(step);
    if (e.kind === "close") t.end = e.time;
  }
  for (const t of byId.values()) {
    const session = summarizeSession(eventsOf.get(t.session) ?? []);
    if (session) t.outcome = sessionBadge(session);
  }
  return [...byId.values()].sort((a, b) => (b.steps[0]?.seq ?? 0) - (a.steps[0]?.seq ?? 0));
}

/** The run ids seen in the log (`run-<id>` recipients), newest first. */
export function runsFromEvents(events: readonly UiEvent[]): string[] {
  const last = new Map<string, number>();
  for (const e of events) {
    const run = str(e, "run");
    if (run) last.set(run, Math.max(last.get(run) ?? 0, e.seq));
  }
  return [...last].sort((a, b) => b[1] - a[1]).map(([r]) => r);
}

/** A stored message split at the first empty line; trace fields (Received, Return-Path, Delivered-To) picked out. */
export function splitMessage(raw: string): { header: string; body: string; trace: string[] } {
  const norm = raw.replace(/\r\n/g, "\n");
  const at = norm.indexOf("\n\n");
  const header = at < 0 ? norm : norm.slice(0, at);
  const body = at < 0 ? "" : norm.slice(at + 2);
  // Unfold continuation lines (RFC 5322 §2.2.3) to find whole fields.
  const fields = header.split(/\n(?![ \t])/);
  const trace = fields.filter((f) => /^(received|return-path|delivered-to|x-danelab[\w-]*):/i.test(f));
  return { header, body, trace };
}
