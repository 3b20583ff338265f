// One voice for "the disk is full": the event log and the mail store report write failures here, and the user reads
// one paragraph when writing stops (naming the path, what the lab does meanwhile and how to fix it) and one line when
// it works again — not one line per failed event or message.
import { dirname } from "node:path";

export interface DiskTrouble {
  /** `what` ("the event log", "the mail store") could not write `path`. Reported once until recovered. */
  failed(what: string, path: string, err: NodeJS.ErrnoException): void;
  /** `what` writes again; `note` says what was lost meanwhile, if anything. */
  recovered(what: string, note?: string): void;
}

/** Write errors that mean "no room": the SMTP answer is then 452 4.3.1 (RFC 3463 §3.4: mail system full). */
export function isNoSpace(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return code === "ENOSPC" || code === "EDQUOT";
}

/** A disk that fills again soon after it had room says so in one short line, at most this often. */
const AGAIN_MS = 60_000;

export function diskTrouble(warn: (line: string) => void, now: () => number = Date.now): DiskTrouble {
  const failing = new Set<string>();
  const told = new Map<string, number>(); // what → when its failure was last printed
  const toldRecovered = new Set<string>(); // what: its recovery since that failure is printed
  return {
    failed(what, path, err) {
      if (failing.has(what)) return;
      failing.add(what);
      const last = told.get(what);
      // A disk near full flaps (a refused delivery frees its space, the next one fills it): the paragraph once, then
      // at most one short line a minute.
      if (last !== undefined && now() - last < AGAIN_MS) return;
      told.set(what, now());
      toldRecovered.delete(what);
      if (last !== undefined) {
        warn(`${what} cannot be written again (${err.code ?? err.message}); see the paragraph above.`);
        return;
      }
      const cause = isNoSpace(err)
        ? `the file system holding ${dirname(path)} is full (${err.code})`
        : `writing ${path} failed (${err.code ?? "error"}: ${err.message})`;
      warn(
        `${cause}: ${what} cannot be written. The lab keeps running: SMTP clients get 452 4.3.1 or 451 4.3.0 (try ` +
          "again later) instead of 250 for every message it cannot store, DNS answers as before, and events wait in " +
          "memory. Free space there (`df -h` shows how much is left), or stop the lab and start it with " +
          "--state-dir on a file system with room. Writing resumes by itself once there is space.",
      );
    },
    recovered(what, note) {
      if (!failing.delete(what)) return;
      if (toldRecovered.has(what) && !note) return;
      toldRecovered.add(what);
      warn(`${what} can be written again${note ? ` (${note})` : ""}.`);
    },
  };
}
