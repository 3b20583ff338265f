// The event log: numbering, the file format (one JSON per line), since/filter/subscribe, recovery from a line cut by a
// crash, and reading back only the newest events at a start.
import {
  appendFileSync,
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  EventLog,
  forEachEventInLog,
  logFiles,
  newestEventsInFile,
  newestEventsInLog,
  readEventsFile,
} from "./events.js";

const base = {
  session: "s1",
  scenario: "ta-baseline",
  listener: "mx.ta-baseline.lab.example 127.0.25.3:25",
  client: "127.0.0.1",
};
let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

/** 20,000 events, ~4.5 MB: several 1 MiB reads either way, with lines and UTF-8 characters split between them. */
async function writeLargeLog(): Promise<string> {
  dir = mkdtempSync(join(tmpdir(), "events-"));
  const path = join(dir, "events.jsonl");
  const log = new EventLog({ path });
  for (let i = 0; i < 20_000; i++) log.append({ ...base, kind: "command", command: `EHLO ä€😀-${i}`, code: 250 });
  await log.close();
  return path;
}

describe("EventLog", () => {
  it("numbers events, writes one JSON object per line, and filters by scenario and kind", async () => {
    dir = mkdtempSync(join(tmpdir(), "events-"));
    const path = join(dir, "events.jsonl");
    const log = new EventLog({ path });
    log.append({ ...base, kind: "connect" });
    log.append({ ...base, kind: "greeting", code: 220, greylisted: false });
    log.append({ ...base, scenario: "no-starttls", kind: "connect" });
    const lines = readFileSync(path, "utf8").trim().split("\n");
    expect(lines).toHaveLength(3);
    expect(JSON.parse(lines[1]!)).toMatchObject({ seq: 2, kind: "greeting", code: 220, scenario: "ta-baseline" });
    expect(typeof JSON.parse(lines[0]!).time).toBe("string");
    expect(log.since(1).map((e) => e.seq)).toEqual([2, 3]);
    expect(log.since(0, { scenario: "no-starttls" }).map((e) => e.seq)).toEqual([3]);
    expect(log.all({ kind: "connect" }).map((e) => e.seq)).toEqual([1, 3]);
    expect(log.forScenario("ta-baseline")).toHaveLength(2);
    expect(log.lastSeq).toBe(3);
    await log.close();
  });

  it("pushes live events to subscribers until they unsubscribe; a throwing subscriber does not stop the log", () => {
    const log = new EventLog();
    const seen: number[] = [];
    const off = log.subscribe((e) => seen.push(e.seq));
    log.subscribe(() => {
      throw new Error("closed stream");
    });
    log.append({ ...base, kind: "connect" });
    off();
    log.append({ ...base, kind: "connect" });
    expect(seen).toEqual([1]);
    expect(log.all()).toHaveLength(2);
  });

  it("after a crash cut the last line, a restart skips it, terminates it, and continues the numbering", async () => {
    dir = mkdtempSync(join(tmpdir(), "events-"));
    const path = join(dir, "events.jsonl");
    const first = new EventLog({ path });
    first.append({ ...base, kind: "connect" });
    first.append({ ...base, kind: "connect" });
    await first.close();
    appendFileSync(path, '{"seq":3,"kind":"comm'); // the line being written when the process died
    const second = new EventLog({ path });
    expect(second.all().map((e) => e.seq)).toEqual([1, 2]);
    const e = second.append({ ...base, kind: "close", reason: "quit" });
    expect(e.seq).toBe(3);
    await second.close();
    expect(readEventsFile(path).map((x) => [x.seq, x.kind])).toEqual([
      [1, "connect"],
      [2, "connect"],
      [3, "close"],
    ]);
  });

  it("keeps at most maxInMemory events in memory; since() still works by seq", () => {
    const log = new EventLog({ maxInMemory: 3 });
    for (let i = 0; i < 10; i++) log.append({ ...base, kind: "connect" });
    expect(log.all().map((e) => e.seq)).toEqual([8, 9, 10]);
    expect(log.since(2).map((e) => e.seq)).toEqual([8, 9, 10]);
    expect(log.since(9).map((e) => e.seq)).toEqual([10]);
  });

  it("reads back a log larger than its 1 MiB read buffer, lines and UTF-8 split across reads", async () => {
    const path = await writeLargeLog();
    const events = readEventsFile(path);
    expect(events).toHaveLength(20_000);
    expect(events[12_345]).toMatchObject({ seq: 12_346, command: "EHLO ä€😀-12345" });
    const again = new EventLog({ path, maxInMemory: 1000 });
    expect(again.all()).toHaveLength(1000);
    expect(again.append({ ...base, kind: "connect" }).seq).toBe(20_001);
    await again.close();
  });

  it("a start reads back only the newest events, from the end of the file, and continues the numbering", async () => {
    const path = await writeLargeLog();
    appendFileSync(path, '{"seq":20001,"kind":"comm'); // cut by a crash
    const all = readEventsFile(path);
    expect(newestEventsInFile(path, 15_000)).toEqual(all.slice(-15_000));
    expect(newestEventsInFile(path, 50_000)).toEqual(all);
    expect(newestEventsInFile(join(dirname(path), "missing.jsonl"), 10)).toEqual([]);

    const again = new EventLog({ path, loadLast: 10 });
    expect(again.all().map((e) => e.seq)).toEqual(Array.from({ length: 10 }, (_, i) => 19_991 + i));
    expect(again.all()[0]).toMatchObject({ command: "EHLO ä€😀-19990", session: "s1", scenario: "ta-baseline" });
    expect(again.append({ ...base, kind: "connect" }).seq).toBe(20_001);
    await again.close();
    const none = new EventLog({ path, loadLast: 0 });
    expect(none.all()).toEqual([]);
    expect(none.append({ ...base, kind: "connect" }).seq).toBe(20_002);
    await none.close();
    // Events appended before the first query come after the earlier ones, each once.
    const later = new EventLog({ path, loadLast: 3 });
    later.append({ ...base, kind: "connect" });
    later.append({ ...base, kind: "close", reason: "quit" });
    expect(later.since(0).map((e) => e.seq)).toEqual([20_000, 20_001, 20_002, 20_003, 20_004]);
    expect(later.since(20_003).map((e) => e.kind)).toEqual(["close"]);
    await later.close();
  });
});

describe("rotation", () => {
  it("rotates past maxFileBytes, keeps keepFiles old files, and readers go through them in order", async () => {
    dir = mkdtempSync(join(tmpdir(), "events-"));
    const path = join(dir, "events.jsonl");
    const rotations: (string | null)[] = [];
    const options = {
      path,
      maxFileBytes: 20_000,
      keepFiles: 2,
      onRotate: (_p: string, d: string | null) => rotations.push(d),
    };
    const log = new EventLog(options);
    for (let i = 0; i < 500; i++) log.append({ ...base, kind: "command", command: `NOOP ${i}`, code: 250 });
    await log.close();
    expect(logFiles(path)).toEqual([`${path}.2`, `${path}.1`, path]);
    expect(existsSync(`${path}.3`)).toBe(false);
    for (const f of logFiles(path)) expect(statSync(f).size).toBeLessThan(20_000 + 300);
    expect(rotations.filter((d) => d !== null).length).toBeGreaterThan(0); // the oldest was deleted at least once
    const kept: number[] = [];
    forEachEventInLog(path, (e) => kept.push(e.seq));
    expect(kept.at(-1)).toBe(500);
    expect(kept).toEqual(Array.from({ length: kept.length }, (_, i) => 501 - kept.length + i)); // contiguous, newest kept
    expect(newestEventsInLog(path, kept.length + 10).map((e) => e.seq)).toEqual(kept);
    // A restart continues the numbering, even right after a rotation left events.jsonl empty (the newest seq is then
    // in events.jsonl.1).
    writeFileSync(path, "");
    const newestKept = readEventsFile(`${path}.1`).at(-1)!.seq;
    const again = new EventLog(options);
    expect(again.append({ ...base, kind: "connect" }).seq).toBe(newestKept + 1);
    await again.close();
  });

  it("keeps appending in memory when the file cannot be written, then writes the waiting lines in order", async () => {
    dir = mkdtempSync(join(tmpdir(), "events-"));
    const path = join(dir, "events.jsonl");
    const calls: string[] = [];
    const log = new EventLog({
      path,
      onWriteError: (err) => calls.push(`error ${err.code}`),
      onWriteRecovered: (_p, dropped) => calls.push(`recovered ${dropped}`),
    });
    log.append({ ...base, kind: "connect" });
    // Swap the descriptor for one opened read-only: every write(2) fails with EBADF, as a full disk fails with ENOSPC.
    const internals = log as unknown as { fd: number };
    const good = internals.fd;
    internals.fd = openSync(path, "r");
    for (let i = 0; i < 3; i++) expect(() => log.append({ ...base, kind: "close", reason: "quit" })).not.toThrow();
    expect(calls).toEqual(["error EBADF"]);
    expect(log.all().map((e) => e.seq)).toEqual([1, 2, 3, 4]);
    closeSync(internals.fd);
    internals.fd = good;
    log.append({ ...base, kind: "connect" });
    expect(calls).toEqual(["error EBADF", "recovered 0"]);
    await log.close();
    expect(readEventsFile(path).map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
  });
});
