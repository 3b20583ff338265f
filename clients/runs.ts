// A run as `danelab send` and `danelab watch` see it: the run id a user picks, the scenarios it covers, where the lab
// is, and the record of what was sent (`<state-dir>/runs/<id>/sent.json`), which lets `watch` know the set without
// being told again. Everything about the lab comes from its manifest or HTTP API (clients/lab-api.ts), never from
// lab/ internals, so a lab started by `danelab up` on another machine works the same way.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { withoutTrailingDot } from "../zones/names.js";
import { fetchManifest, type LabManifest, readManifest } from "./lab-api.js";

export type LabScenario = LabManifest["scenarios"][number];

/** Bad input from the command line (run id, scenario ids, options): one paragraph with the fix. */
export class RunInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RunInputError";
  }
}

/**
 * The lab reads the run from a recipient's local part `run-<id>` with `<id>` in [A-Za-z0-9._-] (the lab's SMTP
 * listener and `GET /api/report?run=` accept exactly this alphabet). Two more limits come from the address itself:
 * RFC 5321 §4.5.3.1.1 caps a local part at 64 octets (so `<id>` at 60), and RFC 5322 §3.2.3 makes a dot-atom end
 * without a dot and never hold two dots in a row — MTAs refuse such recipients.
 */
export const RUN_ID_ALPHABET = /^[A-Za-z0-9._-]+$/;
export const RUN_ID_MAX = 64 - "run-".length;

export function checkRunId(id: string | undefined): string {
  const fix =
    "Pick a run id of letters, digits, '.', '_' and '-' (e.g. --run 1, --run 2026-12-07a): the lab finds your " +
    "messages by their recipients run-<id>@<scenario domain>.";
  if (id === undefined || id === "") throw new RunInputError(`--run is required. ${fix}`);
  if (!RUN_ID_ALPHABET.test(id)) {
    const bad = [...new Set(id.replace(/[A-Za-z0-9._-]/g, ""))].map((c) => JSON.stringify(c)).join(" ");
    throw new RunInputError(`--run "${id}" holds characters the lab does not read in a run id (${bad}). ${fix}`);
  }
  if (id.length > RUN_ID_MAX) {
    throw new RunInputError(
      `--run "${id}" is ${id.length} characters long; recipients run-<id>@… may have at most 64 characters before ` +
        `the @ (RFC 5321 §4.5.3.1.1), so the id may have at most ${RUN_ID_MAX}. ${fix}`,
    );
  }
  if (id.endsWith(".") || id.includes("..")) {
    throw new RunInputError(
      `--run "${id}" ends with a dot or holds two dots in a row, which makes run-${id}@… an invalid address ` +
        `(RFC 5322 §3.2.3) that MTAs refuse. ${fix}`,
    );
  }
  return id;
}

/** `run-42@ta-baseline.lab.example`. */
export function recipientFor(runId: string, scenario: Pick<LabScenario, "domain">): string {
  return `run-${runId}@${withoutTrailingDot(scenario.domain)}`;
}

/** --only and --group, as the lab's own `up` reads them: both given = scenarios that match both. */
export function selectScenarios(
  manifest: LabManifest,
  opts: { only?: string[] | undefined; group?: string[] | undefined },
): LabScenario[] {
  let chosen = manifest.scenarios;
  if (opts.only?.length) {
    const ids = new Set(chosen.map((s) => s.id));
    const unknown = opts.only.filter((id) => !ids.has(id));
    if (unknown.length > 0) {
      throw new RunInputError(
        `This lab has no scenario ${unknown.map((u) => `"${u}"`).join(", ")}. Its scenarios are: ` +
          `${[...ids].join(", ")}. \`danelab scenarios\` lists the catalogue; a lab started with --only serves ` +
          "only those.",
      );
    }
    chosen = chosen.filter((s) => opts.only!.includes(s.id));
  }
  if (opts.group?.length) {
    const groups = new Set(manifest.scenarios.map((s) => s.group));
    const unknown = opts.group.filter((g) => !groups.has(g));
    if (unknown.length > 0) {
      throw new RunInputError(
        `This lab has no scenario group ${unknown.map((g) => `"${g}"`).join(", ")}. Its groups are: ` +
          `${[...groups].join(", ")}.`,
      );
    }
    chosen = chosen.filter((s) => opts.group!.includes(s.group));
  }
  if (chosen.length === 0) {
    throw new RunInputError(
      "--only and --group together select no scenario: no scenario of those groups has those ids.",
    );
  }
  return chosen;
}

export interface FoundLab {
  manifest: LabManifest;
  /** The HTTP API (from --lab-url, else the manifest's `http.url`); null when the lab runs without it. */
  labUrl: string | null;
  /** Where the manifest came from: a file path or the API's URL. */
  source: string;
}

/**
 * The lab's manifest: `<stateDir>/manifest.json` when that file exists (a lab on this machine), else the HTTP API at
 * `labUrl` (a lab elsewhere). Without either: a paragraph saying how to point at one.
 */
export async function findLab(opts: { stateDir: string; labUrl?: string | undefined }): Promise<FoundLab> {
  const manifestPath = resolve(opts.stateDir, "manifest.json");
  const labUrl = opts.labUrl?.replace(/\/+$/, "");
  if (labUrl !== undefined) {
    if (!/^https?:\/\/[^/]+/.test(labUrl)) {
      throw new RunInputError(
        `--lab-url "${opts.labUrl}" is not an http:// URL. Give the lab's HTTP API as \`danelab up\` prints it, ` +
          "e.g. --lab-url http://127.0.0.1:8025.",
      );
    }
    return { manifest: await fetchManifest(labUrl), labUrl, source: `${labUrl}/api/manifest` };
  }
  const manifest = readManifest(manifestPath);
  return { manifest, labUrl: manifest.http?.url.replace(/\/+$/, "") ?? null, source: manifestPath };
}

/** One scenario's line in sent.json. */
export interface SentScenario {
  id: string;
  recipient: string;
  /** The MTA took the message (sendmail exited 0, or 250 after DATA). */
  accepted: boolean;
  /** The MTA's reply or sendmail's output, for the record. */
  detail: string;
  time: string;
}

export interface SentRecord {
  version: 1;
  run: string;
  /** The lab's HTTP API when the messages were sent (watch uses it when no --lab-url is given). */
  labUrl: string | null;
  /** "sendmail" (with the command) or "smtp://host:port". */
  via: string;
  /** exim | postfix when the user said (--mta), so watch can name the one flush command. */
  mta: string | null;
  scenarios: SentScenario[];
}

export function sentPath(stateDir: string, runId: string): string {
  return join(resolve(stateDir), "runs", runId, "sent.json");
}

export function readSent(stateDir: string, runId: string): SentRecord | null {
  const path = sentPath(stateDir, runId);
  if (!existsSync(path)) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw new RunInputError(
      `${path} is not readable JSON (${(err as Error).message}). Delete it and send again, or give the set with ` +
        "--only/--group.",
    );
  }
  const r = parsed as Partial<SentRecord>;
  if (r.version !== 1 || !Array.isArray(r.scenarios)) {
    throw new RunInputError(`${path} is not a danelab sent record (version 1). Delete it and send again.`);
  }
  return r as SentRecord;
}

/**
 * Adds what was just sent to the run's record (a second `send` of the same run adds to it; a scenario sent again
 * keeps its newest line). Written to a temporary file and renamed, so a reader never sees half a record.
 */
export function recordSent(stateDir: string, update: Omit<SentRecord, "version">): string {
  const path = sentPath(stateDir, update.run);
  const before = readSent(stateDir, update.run);
  const byId = new Map((before?.scenarios ?? []).map((s) => [s.id, s]));
  for (const s of update.scenarios) byId.set(s.id, s);
  const record: SentRecord = { version: 1, ...update, scenarios: [...byId.values()] };
  mkdirSync(join(resolve(stateDir), "runs", update.run), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, path);
  return path;
}

/** "a,b" / ["a", "b,c"] → ["a", "b", "c"]. */
export function listOption(v: string | string[] | undefined): string[] | undefined {
  if (v === undefined) return undefined;
  const out = (Array.isArray(v) ? v : [v])
    .flatMap((x) => x.split(","))
    .map((x) => x.trim())
    .filter(Boolean);
  return out.length ? out : undefined;
}
