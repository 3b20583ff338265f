// One lab per state directory. Two labs on one directory would share the Maildirs (a start removes the tmp/ files of
// deliveries in progress), the event log and the keys; the second would only notice when its sockets failed to bind,
// after the damage. So `danelab up` takes `<state>/lab.lock` (holding its pid) before it touches anything else there,
// and refuses while another live process holds it. A lock left by a process that is gone (killed with SIGKILL, a
// crash, a reboot) is taken over.
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from "node:fs";
import { join } from "node:path";

/** Another lab runs on this state directory: one paragraph with its pid and the fix. */
export class LabRunningError extends Error {
  constructor(
    readonly stateDir: string,
    readonly pid: number,
  ) {
    super(
      `another danelab is already running on the state directory ${stateDir} (pid ${pid}; lock file ` +
        `${join(stateDir, "lab.lock")}). Nothing was changed. Stop that lab first (Ctrl-C in its terminal, or ` +
        `\`kill ${pid}\`), use the running one (its manifest is ${join(stateDir, "manifest.json")}), or start a ` +
        "second lab with its own --state-dir DIR (and its own addresses).",
    );
    this.name = "LabRunningError";
  }
}

export interface StateLock {
  release(): void;
}

/** Takes the lock or throws LabRunningError. `pid` is for tests (default this process). */
export function lockStateDir(stateDir: string, pid = process.pid): StateLock {
  const path = join(stateDir, "lab.lock");
  for (let attempt = 0; attempt < 2; attempt++) {
    let fd: number;
    try {
      fd = openSync(path, "wx", 0o600);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      const holder = lockHolder(path);
      if (holder !== null && holder !== pid && isRunning(holder)) throw new LabRunningError(stateDir, holder);
      // stale (its process is gone), unreadable, or our own from an earlier lab of this process: take it over
      try {
        unlinkSync(path);
      } catch {
        // another starter removed it first; the next openSync decides
      }
      continue;
    }
    try {
      writeSync(fd, `${pid}\n`);
    } finally {
      closeSync(fd);
    }
    return {
      release() {
        if (lockHolder(path) === pid) {
          try {
            unlinkSync(path);
          } catch {
            // already gone
          }
        }
      },
    };
  }
  throw new LabRunningError(stateDir, lockHolder(path) ?? 0);
}

function lockHolder(path: string): number | null {
  try {
    const pid = Number(readFileSync(path, "utf8").trim());
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

/** Whether `pid` is a live process that could be a danelab (signal 0 probes without sending anything). */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EPERM") return false; // ESRCH: no such process
  }
  // A pid reused by an unrelated program after a reboot: a danelab is a node process.
  try {
    return /node|danelab/.test(readFileSync(`/proc/${pid}/cmdline`, "latin1"));
  } catch {
    return true; // no /proc: assume it is the lab
  }
}
