// What the training board keeps while it is open: the scenario list and details (they do not change while a lab
// runs), the recent event log kept current from the live stream, the catalogue filter, and the hook through which the
// page on screen re-renders when events arrive.
import type { Scenario, ScenarioWithDetail } from "../api-types.ts";
import type { UiEvent } from "../model.ts";
import { api, streamEvents } from "./client.ts";

/** How many old events the board loads at start (the lab keeps more; the board shows the recent past). */
const BACKLOG = 3000;

export const state = {
  scenarios: null as Scenario[] | null,
  events: [] as UiEvent[],
  lastSeq: 0,
  details: new Map<string, ScenarioWithDetail>(),
  filter: { query: "", expect: "" },
  /** Live re-render of the current page, if it shows events; the router clears it on every page change. */
  onEvents: null as (() => void) | null,
};

/** The lab's scenarios, fetched once. */
export async function scenarios(): Promise<Scenario[]> {
  if (!state.scenarios) state.scenarios = await api.scenarios();
  return state.scenarios;
}

/** One scenario's detail, fetched once. */
export async function scenarioDetail(id: string): Promise<ScenarioWithDetail> {
  const s = state.details.get(id) ?? (await api.scenario(id));
  state.details.set(id, s);
  return s;
}

/** How the connection to the lab is: shown in the header. */
export type ConnectionStatus = { label: "API unreachable" | "live" | "reconnecting…"; tone: "ok" | "warn" | "bad" };

/** The event backlog, then server-sent events from where it ended (the stream resumes itself with Last-Event-ID). */
export async function startEvents(show: (status: ConnectionStatus) => void): Promise<void> {
  try {
    const health = await api.health();
    const since = Math.max(0, (health.lastSeq ?? 0) - BACKLOG);
    const backlog = await api.events(since);
    state.events = backlog;
    state.lastSeq = backlog.reduce((m, e) => Math.max(m, e.seq), since);
  } catch (err) {
    show({ label: "API unreachable", tone: "bad" });
    console.error(err);
  }
  streamEvents(state.lastSeq, {
    open: () => show({ label: "live", tone: "ok" }),
    error: () => show({ label: "reconnecting…", tone: "warn" }),
    event: (e) => {
      if (e.seq <= state.lastSeq) return;
      state.lastSeq = e.seq;
      state.events.push(e);
      if (state.events.length > BACKLOG * 2) state.events.splice(0, state.events.length - BACKLOG);
      scheduleLive();
    },
  });
  state.onEvents?.();
}

/** Re-render at most once per frame, however many events arrive. */
let liveQueued = false;
function scheduleLive(): void {
  if (liveQueued) return;
  liveQueued = true;
  requestAnimationFrame(() => {
    liveQueued = false;
    state.onEvents?.();
  });
}
