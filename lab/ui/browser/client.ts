// The training board's client for the lab's HTTP API (lab/http/api.ts): one typed function per endpoint it reads, and
// the live event stream (server-sent events, which the browser resumes itself with Last-Event-ID). Every path the
// board requests is written here; the JSON shapes are in ../api-types.ts.
import type { CheckSummary, Matrix, Message, Report, Scenario, ScenarioWithDetail } from "../api-types.ts";
import type { UiEvent } from "../model.ts";

/** GET `path` as JSON; a failed request throws with the API's own `{ error }` text when it sent one. */
export async function getJson<T>(path: string): Promise<T> {
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

export async function getText(path: string): Promise<string> {
  const res = await fetch(path);
  if (!res.ok) throw new Error(`${path}: ${res.status} ${res.statusText}`);
  return res.text();
}

const runQuery = (run: string | null | undefined) => (run ? `&run=${encodeURIComponent(run)}` : "");

export const api = {
  health: () => getJson<{ lastSeq?: number }>("/api/health"),
  scenarios: () => getJson<Scenario[]>("/api/scenarios"),
  scenario: (id: string) => getJson<ScenarioWithDetail>(`/api/scenarios/${encodeURIComponent(id)}`),
  events: (since: number) => getJson<UiEvent[]>(`/api/events?since=${since}`),
  /** The grader's report for one run, or all traffic when `run` is empty. */
  report: (run?: string | null) => getJson<Report>(`/api/report?format=json${runQuery(run)}`),
  /** Where to download the report in another format (table, markdown, junit, json). */
  reportUrl: (format: string, run: string | null) => `/api/report?format=${format}${runQuery(run)}`,
  messages: () => getJson<Message[]>("/api/messages"),
  rawMessage: (id: string) => getText(`/api/messages/${encodeURIComponent(id)}/raw`),
  checks: () => getJson<CheckSummary[]>("/api/checks"),
  check: (id: string) => getJson<Matrix>(`/api/checks/${encodeURIComponent(id)}`),
};

/** What the live stream reports: the connection opening or dropping (the browser retries), and each event. */
export interface EventStreamHandlers {
  open(): void;
  error(): void;
  event(e: UiEvent): void;
}

/** Events with seq > `since`, live from GET /api/events/stream. */
export function streamEvents(since: number, on: EventStreamHandlers): EventSource {
  const source = new EventSource(`/api/events/stream?since=${since}`);
  source.addEventListener("open", () => on.open());
  source.addEventListener("error", () => on.error());
  source.addEventListener("message", (msg) => on.event(JSON.parse(msg.data)));
  return source;
}
