// The pure parts of the fresh-host check (scripts/fresh-host/run.ts): which base image a release gets, the package
// list without one package, and what the doctor's JSON must say after each step. No processes, no files.
import { createHash } from "node:crypto";

/** Debian 12 and Debian 13, the releases a user's fresh machine runs. */
export const RELEASES = ["bookworm", "trixie"] as const;
export type Release = (typeof RELEASES)[number];

/** The package the negative step leaves out: swaks runs without it, but has no STARTTLS (a Recommends only). */
export const DROPPED_PACKAGE = "libnet-ssleay-perl";
/** The doctor check that must then fail, and nothing else. */
export const DROPPED_CHECK = "swaks STARTTLS";

export interface Mirrors {
  /** The Debian archive (…/debian). */
  archive: string;
  /** The security archive (…/debian-security). */
  security: string;
}

/**
 * The mirrors this host's apt uses: deb822 `debian.sources` first, then one-line `sources.list`, else deb.debian.org.
 * The same mirror serves every release, so the containers download from where the host does.
 */
export function hostMirrors(deb822: string | null, oneLine: string | null): Mirrors {
  const uris: string[] = [];
  for (const stanza of (deb822 ?? "").split(/\n\s*\n/)) {
    const m = /^URIs:\s*(\S+)/m.exec(stanza);
    if (m && /^Types:.*\bdeb\b/m.test(stanza)) uris.push(m[1]!);
  }
  for (const line of (oneLine ?? "").split("\n")) {
    const m = /^\s*deb\s+(?:\[[^\]]*\]\s+)?(\S+)/.exec(line);
    if (m) uris.push(m[1]!);
  }
  const clean = (u: string) => u.replace(/\/+$/, "");
  const security = uris.map(clean).find((u) => /security/.test(u)) ?? "http://deb.debian.org/debian-security";
  const archive = uris.map(clean).find((u) => !/security/.test(u)) ?? "http://deb.debian.org/debian";
  return { archive, security };
}

/** What a fresh installation of `release` has in its sources.list: the release, its updates and its security fixes. */
export function sourcesList(release: Release, m: Mirrors): string {
  return `deb ${m.archive} ${release} main\ndeb ${m.archive} ${release}-updates main\ndeb ${m.security} ${release}-security main\n`;
}

/** The cached base image's tag: a hash of the recipe (text of the builder), the release and the mirrors. */
export function baseImageTag(release: Release, recipe: string, m: Mirrors): string {
  const hash = createHash("sha256")
    .update(`${recipe}\n${release}\n${sourcesList(release, m)}`)
    .digest("hex");
  return `localhost/danelab-fresh-${release}:${hash.slice(0, 12)}`;
}

/** The package list (scripts/host.packages) without one package's line; an error when the list does not have it. */
export function withoutPackage(listText: string, pkg: string): string {
  const lines = listText.split("\n");
  const kept = lines.filter((line) => line.replace(/#.*/, "").trim().split(/\s+/)[0] !== pkg);
  if (kept.length === lines.length) throw new Error(`the package list has no line for ${pkg}`);
  return kept.join("\n");
}

export interface DoctorCheck {
  name: string;
  level: string;
  detail: string;
  fix?: string;
}

/** Parses `danelab doctor --json`; an error names what came instead (a crash, a stack trace, nothing). */
export function parseDoctor(stdout: string): DoctorCheck[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(stdout);
  } catch {
    throw new Error(`the doctor printed no JSON: ${stdout.trim().slice(0, 300) || "(nothing)"}`);
  }
  const checks = (parsed as { checks?: unknown }).checks;
  if (!Array.isArray(checks) || checks.length === 0) throw new Error("the doctor's JSON has no checks");
  return checks as DoctorCheck[];
}

/** After the full list: every tool check is ok (chromium too: both releases have it). Null = good, else why not. */
export function judgeComplete(checks: DoctorCheck[]): string | null {
  const bad = checks.filter((c) => c.level !== "ok");
  if (bad.length === 0) return null;
  return bad.map((c) => `${c.name} ${c.level}: ${c.detail}${c.fix ? ` (fix: ${c.fix})` : ""}`).join("; ");
}

/**
 * After the list without DROPPED_PACKAGE: the doctor must fail swaks STARTTLS, name the missing piece (Net::SSLeay)
 * and the package that fixes it, and fail nothing else. Null = the proof holds, else why not.
 */
export function judgeWithoutDropped(checks: DoctorCheck[]): string | null {
  const failed = checks.filter((c) => c.level !== "ok");
  const swaks = failed.find((c) => c.name === DROPPED_CHECK);
  if (!swaks) return `the doctor did not fail '${DROPPED_CHECK}' although ${DROPPED_PACKAGE} was left out`;
  if (swaks.level !== "FAIL") return `'${DROPPED_CHECK}' was only '${swaks.level}', not FAIL`;
  if (!/Net::SSLeay/.test(swaks.detail)) return `'${DROPPED_CHECK}' failed without naming Net::SSLeay: ${swaks.detail}`;
  if (!swaks.fix?.includes(DROPPED_PACKAGE)) return `the fix for '${DROPPED_CHECK}' does not name ${DROPPED_PACKAGE}`;
  const others = failed.filter((c) => c !== swaks);
  if (others.length) return `other checks failed too: ${others.map((c) => `${c.name} (${c.detail})`).join("; ")}`;
  return null;
}

export interface ReleaseOutcome {
  release: Release;
  /** Null when every step held. */
  failure: string | null;
}

/** The closing line CI shows: "fresh-host: bookworm ok, trixie ok", or which release failed and why. */
export function closingLine(outcomes: ReleaseOutcome[]): string {
  return `fresh-host: ${outcomes.map((o) => (o.failure ? `${o.release} FAIL (${o.failure})` : `${o.release} ok`)).join(", ")}`;
}
