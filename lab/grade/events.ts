// Stage 1 of the grader: reading the event log defensively. The log may come from an older or newer danelab
// (events.jsonl, docs/contracts.md "lab/events.ts"), or from the HTTP API into the browser, so every field is checked
// before use rather than trusted; an object without a `kind` is skipped. No imports: the training board's bundle
// (lab/ui/model.ts) uses this file too.

/** One event of the log, with the fields every stage needs checked and the rest kept in `raw`. */
export interface LoggedEvent {
  seq: number;
  /** `time` in ms since the epoch; 0 when missing or unreadable. */
  t: number;
  time: string;
  kind: string;
  session: string | null;
  scenario: string | null;
  client: string | null;
  raw: Record<string, unknown>;
}

/** Reads one log entry; `index` stands in for a missing `seq`. Null when it is not an event at all. */
export function readEvent(o: object, index: number): LoggedEvent | null {
  const r = o as Record<string, unknown>;
  const kind = r["kind"];
  if (typeof kind !== "string") return null;
  const time = typeof r["time"] === "string" ? (r["time"] as string) : "";
  const t = Date.parse(time);
  return {
    seq: typeof r["seq"] === "number" ? (r["seq"] as number) : index,
    t: Number.isNaN(t) ? 0 : t,
    time,
    kind,
    session: typeof r["session"] === "string" ? (r["session"] as string) : null,
    scenario: typeof r["scenario"] === "string" ? (r["scenario"] as string) : null,
    client: typeof r["client"] === "string" ? (r["client"] as string) : null,
    raw: r,
  };
}

/** Reads a whole log (anything that is not an object is skipped), in `seq` order. */
export function readEvents(events: readonly unknown[]): LoggedEvent[] {
  return events
    .map((e, i) => (e && typeof e === "object" ? readEvent(e, i) : null))
    .filter((e): e is LoggedEvent => e !== null)
    .sort((a, b) => a.seq - b.seq);
}

/** A string field of the event, or null when it is missing or of another type. */
export const str = (e: LoggedEvent, k: string): string | null =>
  typeof e.raw[k] === "string" ? (e.raw[k] as string) : null;
/** A number field of the event, or null. */
export const num = (e: LoggedEvent, k: string): number | null =>
  typeof e.raw[k] === "number" ? (e.raw[k] as number) : null;
/** A boolean field of the event, or null. */
export const bool = (e: LoggedEvent, k: string): boolean | null =>
  typeof e.raw[k] === "boolean" ? (e.raw[k] as boolean) : null;

/** "1 message", "2 messages". */
export const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
