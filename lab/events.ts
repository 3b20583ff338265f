// The event log: what every client did at every SMTP listener, in order. The grader (lab/grade/) turns these events
// into verdicts, the HTTP API serves them (`since(seq)` for polling, `subscribe` for live push to the UI), and
// `.lab/events.jsonl` keeps them across restarts — one JSON object per line, written with one write(2) per event, so a
// crash loses at most the line being written (readers skip a cut last line; the next start terminates it).
//
// The file is bounded: past `maxFileBytes` it is renamed events.jsonl.1 (older ones shift to .2, .3, …; the oldest
// beyond `keepFiles` is deleted), and readers (`danelab report`, the history read back at a start) go through the
// rotated files oldest first. A write that fails (a full disk) never throws into the SMTP or DNS code that appended:
// the event stays in memory and its line waits (up to 10,000 lines) until a later append finds room again; the
// owner is told once per episode through `onWriteError`/`onWriteRecovered`.
//
// Every event carries `{ seq, time, kind, session, scenario, listener, client }`; the kinds and their extra fields are
// fixed in docs/contracts.md ("lab/events.ts").
//
// Reading the file back (rotated files, the newest events, streaming) is in event-files.ts.
import { closeSync, existsSync, fstatSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import { endsWithNewline, logFiles, newestEventsInLog } from "./event-files.js";
import type { UiEvent } from "./ui/model.js";

export {
  forEachEventInFile,
  forEachEventInLog,
  logFiles,
  newestEventsInFile,
  newestEventsInLog,
  readEventsFile,
} from "./event-files.js";

/** Why a connection ended, as the listener saw it. */
export type CloseReason =
  | "quit"
  | "client-closed"
  | "timeout"
  | "error"
  | "closed-after-handshake-without-command"
  | "server-closed";

/** Fields every SMTP event has besides seq and time. */
export interface EventBase {
  kind: string;
  /** Connection id, unique per connection; all events of one connection share it. */
  session: string;
  scenario: string;
  /** "<MX host> <address>:<port>" */
  listener: string;
  /** Client IP address. */
  client: string;
}

export type SmtpEventInput =
  | (EventBase & { kind: "connect"; clientPort?: number })
  | (EventBase & { kind: "greeting"; code: number; greylisted: boolean; reply?: string })
  | (EventBase & { kind: "ehlo"; name: string; verb?: "EHLO" | "HELO"; code?: number; starttlsOffered: boolean })
  | (EventBase & { kind: "command"; command: string; code: number; reply?: string })
  | (EventBase & { kind: "reply"; code: number; reply: string })
  | (EventBase & {
      kind: "tls";
      version: string | null;
      cipher: string | null;
      sni: string | null;
      clientCertificate: string | null;
      clientCertificateError?: string | null;
      serverCertificate?: { subject: string; sha256: string } | null;
    })
  | (EventBase & {
      kind: "tls-error";
      stage: "handshake" | "refused" | "aborted-by-server";
      alert?: string | null;
      alertNumber?: number | null;
      error?: string | null;
      sni?: string | null;
      clientHello?: ClientHelloSummary | null;
    })
  | (EventBase & { kind: "rcpt"; recipient: string; code: number; run: string | null })
  | (EventBase & {
      kind: "message";
      id: string;
      size: number;
      tls: boolean;
      recipients: string[];
      run: string | null;
      path: string;
      tlsVersion?: string | null;
    })
  | (EventBase & {
      kind: "close";
      reason: CloseReason;
      error?: string | null;
      starttlsUsed?: boolean;
      commands?: number;
      messages?: number;
      bytesIn?: number;
      bytesOut?: number;
    });

/** What a client offered in its TLS ClientHello (parsed by the listener before the handshake). */
export interface ClientHelloSummary {
  sni: string | null;
  /** supported_versions (RFC 8446 §4.2.1), or the legacy_version when that extension is absent. */
  versions: string[];
}

/** Anything else a component wants on the log (e.g. DNS queries); must still name its kind. */
export interface OtherEventInput {
  kind: string;
  scenario?: string | null;
  [field: string]: unknown;
}

export type EventInput = SmtpEventInput | OtherEventInput;

/**
 * An event as stored and served: seq (1, 2, … across restarts), time (ISO 8601), kind, and the fields of its kind
 * (see SmtpEventInput). Loosely typed so that readers of older or newer logs never break; narrow with `kind`. Defined
 * once, without Node imports, in lab/ui/model.ts, where the training board reads the same events from the HTTP API.
 */
export type LabEvent = UiEvent;

export interface EventFilter {
  scenario?: string;
  kind?: string;
}

export interface EventLogOptions {
  /** events.jsonl; omit for a memory-only log (tests). */
  path?: string;
  /**
   * How many events to keep in memory (oldest dropped first; the file keeps all). Default 100,000: 21–39 MB at the
   * 213–387 bytes per event measured for events read back, some 6,000 deliveries at 16 events each.
   */
  maxInMemory?: number;
  /**
   * Continue the existing file: its numbering at the start, its newest events (loadLast) at the first query. Default
   * true.
   */
  loadExisting?: boolean;
  /**
   * How many of the newest events of earlier runs are read back, when the log is first queried (at most maxInMemory).
   * Default 20,000. Reading costs 4–10 µs per event (JSON.parse), and a log grows by some 16 events per delivery: read
   * whole at the start, a log of 164,000 events added 0.8 s to a warm start and 63 MB to the idle process. Older
   * events stay in the file, where `danelab report` reads them all.
   */
  loadLast?: number;
  /** Rotate events.jsonl once it is this large. Default 64 MiB (some 200,000 events). */
  maxFileBytes?: number;
  /** Rotated files kept (events.jsonl.1 … .N); older ones are deleted. Default 4: at most 5 × 64 MiB on disk. */
  keepFiles?: number;
  /** A line could not be written (once per episode, until a write succeeds again). */
  onWriteError?: (err: NodeJS.ErrnoException, path: string) => void;
  /** Writing works again; `dropped` lines were lost meanwhile (the backlog was full). */
  onWriteRecovered?: (path: string, dropped: number) => void;
  /** The file was rotated (events.jsonl → events.jsonl.1); `deleted` is the oldest file removed, if any. */
  onRotate?: (path: string, deleted: string | null) => void;
}

/** Lines kept while the disk refuses them; past this the oldest waiting line is dropped (and counted). */
const MAX_BACKLOG = 10_000;

export type EventListener = (event: LabEvent) => void;

export class EventLog {
  readonly path: string | undefined;
  private events: LabEvent[] = [];
  /** Reads the events of earlier runs on first use (see load()); null once read, or when there are none to read. */
  private history: (() => LabEvent[]) | null = null;
  private readonly listeners = new Set<EventListener>();
  private readonly maxInMemory: number;
  private readonly loadLast: number;
  private fd: number | null = null;
  private nextSeq = 1;
  private fileBytes = 0;
  private readonly options: EventLogOptions;
  /** Lines (or the unwritten rest of one) waiting for room on the disk, oldest first. */
  private backlog: Buffer[] = [];
  private dropped = 0;
  private failing = false;

  constructor(options: EventLogOptions = {}) {
    this.options = options;
    this.path = options.path;
    this.maxInMemory = options.maxInMemory ?? 100_000;
    this.loadLast = Math.min(options.loadLast ?? 20_000, this.maxInMemory);
    if (this.path) {
      mkdirSync(dirname(this.path), { recursive: true, mode: 0o700 });
      if (options.loadExisting !== false && logFiles(this.path).length > 0) this.load(this.path);
      this.fd = openSync(this.path, "a", 0o600);
      // A line cut by a crash must not swallow the next event: terminate it first.
      this.fileBytes = fstatSync(this.fd).size;
      if (this.fileBytes > 0 && !endsWithNewline(this.path, this.fileBytes)) this.writeLine(Buffer.from("\n"));
    }
  }

  /** Adds an event: numbers and timestamps it, writes its line, keeps it in memory and pushes it to subscribers. */
  append<E extends EventInput>(input: E): E & LabEvent {
    const event = { seq: this.nextSeq++, time: new Date().toISOString(), ...input } as E & LabEvent;
    // One write(2) per line: the kernel has it once this returns, so a crash of this process loses nothing that
    // was appended, and a crash in the middle of it loses at most this line.
    if (this.fd !== null) this.writeLine(Buffer.from(`${JSON.stringify(event)}\n`));
    this.events.push(event);
    // trim in chunks: splicing the head of a long array on every append would cost O(n) per event
    if (this.events.length > this.maxInMemory + Math.max(1, Math.floor(this.maxInMemory / 10))) this.trim();
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch {
        // a broken subscriber (a closed HTTP stream) must not stop the log
      }
    }
    return event;
  }

  /** Events with seq > `seq`, optionally only of one scenario or kind. */
  since(seq: number, filter: EventFilter = {}): LabEvent[] {
    this.withHistory();
    this.trim();
    // seq numbers are increasing: binary search for the first one above `seq`
    let lo = 0;
    let hi = this.events.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.events[mid]!.seq <= seq) lo = mid + 1;
      else hi = mid;
    }
    return this.filter(this.events.slice(lo), filter);
  }

  /** Every event kept in memory, optionally filtered. */
  all(filter: EventFilter = {}): LabEvent[] {
    this.withHistory();
    this.trim();
    return this.filter(this.events.slice(), filter);
  }

  /** Events of one scenario. */
  forScenario(scenario: string): LabEvent[] {
    return this.all({ scenario });
  }

  /** The seq of the newest event (0 when empty). */
  get lastSeq(): number {
    return this.nextSeq - 1;
  }

  /** Live push: `listener` gets every event appended from now on. Returns the function that unsubscribes. */
  subscribe(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** Records a DNS query seen by the lab's DNS server (`kind: "dns-query"`), for the UI and `danelab explain`. */
  recordDnsQuery(query: object): void {
    this.append({ kind: "dns-query", ...(query as Record<string, unknown>) });
  }

  async close(): Promise<void> {
    this.listeners.clear();
    if (this.fd !== null) {
      closeSync(this.fd);
      this.fd = null;
    }
  }

  /** Bytes in events.jsonl (since the last rotation). */
  get fileSize(): number {
    return this.fileBytes;
  }

  /**
   * Writes the waiting lines, then `line`; whatever does not fit waits in the backlog. Never throws: the SMTP and DNS
   * code that appends must keep serving when the disk is full.
   */
  private writeLine(line: Buffer): void {
    this.backlog.push(line);
    while (this.backlog.length > MAX_BACKLOG) {
      this.backlog.shift();
      this.dropped += 1;
    }
    while (this.backlog.length > 0 && this.fd !== null) {
      const head = this.backlog[0]!;
      let written: number;
      try {
        written = writeSync(this.fd, head);
      } catch (err) {
        if (!this.failing) {
          this.failing = true;
          this.options.onWriteError?.(err as NodeJS.ErrnoException, this.path!);
        }
        return;
      }
      this.fileBytes += written;
      // A short write (the disk filled up in the middle of the line): the rest waits, so the line stays whole.
      if (written < head.length) {
        this.backlog[0] = head.subarray(written);
        continue;
      }
      this.backlog.shift();
    }
    if (this.failing) {
      this.failing = false;
      this.options.onWriteRecovered?.(this.path!, this.dropped);
      this.dropped = 0;
    }
    if (this.fileBytes >= (this.options.maxFileBytes ?? 64 * 1024 * 1024)) this.rotate();
  }

  /** events.jsonl → .1, .1 → .2, …; the one past keepFiles is deleted. Called between whole lines only. */
  private rotate(): void {
    const path = this.path!;
    const keep = Math.max(0, this.options.keepFiles ?? 4);
    try {
      closeSync(this.fd!);
      this.fd = null;
      let deleted: string | null = null;
      if (keep === 0 || existsSync(`${path}.${keep}`)) {
        deleted = keep === 0 ? path : `${path}.${keep}`;
        rmSync(deleted, { force: true });
      }
      for (let i = keep - 1; i >= 1; i--)
        if (existsSync(`${path}.${i}`)) renameSync(`${path}.${i}`, `${path}.${i + 1}`);
      if (keep > 0) renameSync(path, `${path}.1`);
      this.options.onRotate?.(path, deleted);
    } catch (err) {
      this.options.onWriteError?.(err as NodeJS.ErrnoException, path);
    } finally {
      try {
        this.fd ??= openSync(path, "a", 0o600);
        this.fileBytes = fstatSync(this.fd).size;
      } catch (err) {
        // cannot reopen (the directory is gone or unwritable): keep the events in memory only, and say so
        this.options.onWriteError?.(err as NodeJS.ErrnoException, path);
      }
    }
  }

  private trim(): void {
    if (this.events.length > this.maxInMemory) this.events.splice(0, this.events.length - this.maxInMemory);
  }

  private filter(events: LabEvent[], filter: EventFilter): LabEvent[] {
    if (filter.scenario === undefined && filter.kind === undefined) return events;
    return events.filter(
      (e) =>
        (filter.scenario === undefined || e.scenario === filter.scenario) &&
        (filter.kind === undefined || e.kind === filter.kind),
    );
  }

  /**
   * At a start only the numbering is read (the newest line). The newest `loadLast` earlier events are read when the
   * log is first queried — by the API, the UI or a grading — so that a start costs the same with a long history.
   */
  private load(path: string): void {
    const last = newestEventsInLog(path, 1)[0];
    if (last && typeof last.seq === "number") this.nextSeq = last.seq + 1;
    if (this.loadLast === 0 || !last) return;
    const before = this.nextSeq;
    this.history = () => {
      // Events appended since the start are in the file too, and already in memory.
      const earlier = newestEventsInLog(path, this.loadLast + (this.nextSeq - before)).filter((e) => e.seq < before);
      return earlier.slice(-this.loadLast);
    };
  }

  /** Puts the earlier events (if not read yet) before those appended since the start. */
  private withHistory(): void {
    if (!this.history) return;
    const read = this.history;
    this.history = null;
    this.events = read().concat(this.events);
  }
}
