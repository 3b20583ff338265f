// How clients/ sees a lab: only through its manifest (`<state>/manifest.json`, version 1) and its HTTP API
// (`/api/manifest`, `/api/health`, `/api/report?run=`). Nothing here imports lab/ — the same code checks a lab started
// by `danelab up`, by `startLab()` in a test, or on another machine.
import { readFileSync } from "node:fs";
import { z } from "zod";
import type { LabGrade } from "./matrix.js";

/**
 * The manifest fields clients/ relies on (docs/contracts.md, "The manifest": the rows marked clients/); extra fields
 * are kept and ignored.
 */
export const ManifestSchema = z.looseObject({
  version: z.literal(1),
  suffix: z.string(),
  dns: z.looseObject({
    address: z.string(),
    port: z.number(),
    resolver: z.looseObject({ kind: z.string(), address: z.string(), port: z.number() }).nullable(),
  }),
  http: z.looseObject({ url: z.string() }).nullable(),
  scenarios: z.array(
    z.looseObject({
      id: z.string(),
      title: z.string().default(""),
      group: z.string().default(""),
      expect: z.string(),
      domain: z.string(),
      known: z.string().optional(),
    }),
  ),
});
export type LabManifest = z.infer<typeof ManifestSchema>;

/** The lab cannot be read or reached: one paragraph with the fix. */
export class LabAccessError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "LabAccessError";
  }
}

function parseManifest(text: string, where: string): LabManifest {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new LabAccessError(`${where} is not JSON (${(err as Error).message}). Restart the lab to rewrite it.`);
  }
  const r = ManifestSchema.safeParse(json);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new LabAccessError(
      `${where} is not a version-1 danelab manifest (${issue?.path.join(".") || "top level"}: ${issue?.message}). ` +
        "Use a danelab that writes manifest version 1, or point --manifest at the right file.",
    );
  }
  return r.data;
}

export function readManifest(path: string): LabManifest {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new LabAccessError(
      `Cannot read the lab's manifest ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}). ` +
        "Start a lab first (`danelab up`, or `npm run lab`), or give its state directory's manifest.json, or --lab-url.",
    );
  }
  return parseManifest(text, path);
}

async function get(url: string, what: string): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  } catch (err) {
    throw new LabAccessError(
      `The lab's HTTP API at ${url} did not answer (${(err as Error).cause ?? (err as Error).message}) while fetching ${what}. ` +
        "Is the lab running (`danelab up`), and is its HTTP API on (not --http-port none)?",
    );
  }
  if (!res.ok) {
    const body = (await res.text().catch(() => "")).slice(0, 300);
    throw new LabAccessError(`The lab's HTTP API answered ${res.status} for ${url} (${what}): ${body}`);
  }
  return res;
}

export async function fetchManifest(labUrl: string): Promise<LabManifest> {
  const url = `${labUrl.replace(/\/$/, "")}/api/manifest`;
  return parseManifest(await (await get(url, "the manifest")).text(), url);
}

/** The lab's verdicts for one run (`run-<runId>@…` recipients). */
export async function fetchReport(labUrl: string, runId: string): Promise<LabGrade[]> {
  const url = `${labUrl.replace(/\/$/, "")}/api/report?run=${encodeURIComponent(runId)}&format=json`;
  const body = (await (await get(url, `the report of run ${runId}`)).json()) as unknown;
  const list = Array.isArray(body) ? body : ((body as { grades?: unknown[] }).grades ?? []);
  return list
    .filter((g): g is Record<string, unknown> => typeof g === "object" && g !== null)
    .map((g) => ({
      scenario: String(g["scenario"]),
      verdict: String(g["verdict"]),
      reason: String(g["reason"] ?? ""),
    }));
}

/**
 * The lab's report of one run as text in one of its formats (json, table, markdown, junit), optionally only some
 * scenarios (`scenario=a,b`): what `danelab report` prints, from a lab on this machine or elsewhere.
 */
export async function fetchReportText(
  labUrl: string,
  runId: string,
  format: string,
  scenarios?: readonly string[],
): Promise<string> {
  const only = scenarios?.length ? `&scenario=${encodeURIComponent(scenarios.join(","))}` : "";
  const url = `${labUrl.replace(/\/$/, "")}/api/report?run=${encodeURIComponent(runId)}&format=${format}${only}`;
  return (await get(url, `the report of run ${runId}`)).text();
}
