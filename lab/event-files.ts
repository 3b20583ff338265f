// Reading events.jsonl back: the files of a rotated log oldest first, every event streamed in 1 MiB reads (a log of any
// size), or only the newest few read backwards from the end (a start and the UI need those, not the whole history).
// A line that does not parse — one cut by a crash — is skipped. events.ts writes the log and re-exports these.
import { closeSync, existsSync, fstatSync, openSync, readSync } from "node:fs";
import type { LabEvent } from "./events.js";

/** String fields that repeat across events (one listener, one session, one client): parsed once, kept once. */
const SHARED_FIELDS = ["kind", "session", "scenario", "listener", "client", "command", "reply", "reason"];

/**
 * The last `count` events of an events.jsonl file, oldest first, read backwards from its end in 1 MiB steps, so the
 * cost depends on `count`, not on the size of the file. Lines that do not parse (a line cut by a crash) are skipped.
 * Repeated strings are shared between the events, which halves their memory (387 → 213 bytes per event, measured).
 */
export function newestEventsInFile(path: string, count: number): LabEvent[] {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch {
    return [];
  }
  const found: LabEvent[] = [];
  const shared = new Map<string, string>();
  const share = (e: LabEvent) => {
    for (const field of SHARED_FIELDS) {
      const v = e[field];
      if (typeof v !== "string" || v.length > 200) continue;
      const known = shared.get(v);
      if (known === undefined) shared.set(v, v);
      else e[field] = known;
    }
  };
  try {
    let end = fstatSync(fd).size;
    let tail = Buffer.alloc(0); // bytes before the first newline seen so far: a line whose start lies further back
    while (found.length < count && end > 0) {
      const start = Math.max(0, end - (1 << 20));
      const chunk = Buffer.alloc(end - start);
      readSync(fd, chunk, 0, chunk.length, start);
      end = start;
      const data = tail.length ? Buffer.concat([chunk, tail]) : chunk;
      // Lines after a newline of `data` are whole; so is its first line once the start of the file is reached.
      let stop = data.length;
      while (found.length < count) {
        const nl = stop > 0 ? data.lastIndexOf(0x0a, stop - 1) : -1;
        if (nl < 0 && start > 0) break;
        const event = parseEventLine(data.subarray(nl + 1, stop));
        if (event) {
          share(event);
          found.push(event);
        }
        if (nl < 0) break;
        stop = nl;
      }
      tail = Buffer.from(data.subarray(0, stop));
    }
  } finally {
    closeSync(fd);
  }
  return found.reverse();
}

function parseEventLine(line: Buffer): LabEvent | null {
  if (line.length === 0) return null;
  try {
    const event = JSON.parse(line.toString("utf8")) as LabEvent;
    return event && typeof event === "object" && typeof event.kind === "string" ? event : null;
  } catch {
    return null; // a line cut by a crash
  }
}

/** Parses an events.jsonl file; a line cut by a crash (or any unparsable line) is skipped, the rest kept. */
export function readEventsFile(path: string): LabEvent[] {
  const events: LabEvent[] = [];
  forEachEventInFile(path, (e) => events.push(e));
  return events;
}

/** The files of a rotated log, oldest first: events.jsonl.N … events.jsonl.1, events.jsonl (those that exist). */
export function logFiles(path: string): string[] {
  const files: string[] = [];
  for (let i = 1; existsSync(`${path}.${i}`); i++) files.unshift(`${path}.${i}`);
  if (existsSync(path)) files.push(path);
  return files;
}

/** Every event of a rotated log, oldest first, streamed file by file (see forEachEventInFile). */
export function forEachEventInLog(path: string, onEvent: (e: LabEvent) => void): void {
  for (const file of logFiles(path)) forEachEventInFile(file, onEvent);
}

/** The newest `count` events of a rotated log, oldest first (newestEventsInFile across the files). */
export function newestEventsInLog(path: string, count: number): LabEvent[] {
  let found: LabEvent[] = [];
  for (const file of logFiles(path).reverse()) {
    if (found.length >= count) break;
    found = newestEventsInFile(file, count - found.length).concat(found);
  }
  return found;
}

/**
 * Streams an events.jsonl file line by line (1 MiB reads), so a log of any size can be read back — a single string
 * holding a multi-hundred-megabyte file would exceed V8's string limit.
 */
export function forEachEventInFile(path: string, onEvent: (e: LabEvent) => void): void {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch {
    return;
  }
  try {
    const chunk = Buffer.alloc(1 << 20);
    let rest = Buffer.alloc(0);
    const parseLine = (line: Buffer) => {
      const event = parseEventLine(line);
      if (event) onEvent(event);
    };
    for (;;) {
      const n = readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      let data = rest.length ? Buffer.concat([rest, chunk.subarray(0, n)]) : chunk.subarray(0, n);
      let start = 0;
      for (let nl = data.indexOf(0x0a, start); nl >= 0; nl = data.indexOf(0x0a, start)) {
        parseLine(data.subarray(start, nl));
        start = nl + 1;
      }
      data = data.subarray(start);
      rest = Buffer.from(data); // copy: `chunk` is reused by the next read
    }
    parseLine(rest);
  } finally {
    closeSync(fd);
  }
}

/** Whether the file ends with a whole line (a crash may have cut the last one). */
export function endsWithNewline(path: string, size: number): boolean {
  const fd = openSync(path, "r");
  try {
    const b = Buffer.alloc(1);
    readSync(fd, b, 0, 1, size - 1);
    return b[0] === 0x0a;
  } finally {
    closeSync(fd);
  }
}
