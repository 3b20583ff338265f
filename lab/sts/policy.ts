// MTA-STS policy text (RFC 8461 §3.2): what the lab's policy server sends for a scenario. Pure.
//
// A policy is a few "key: value" lines — version, mode, one mx line per pattern, max_age — that a sender fetches over
// HTTPS from https://mta-sts.<domain>/.well-known/mta-sts.txt after the `_mta-sts.<domain>` TXT record
// (`v=STSv1; id=…`) told it one exists. The id lives only in DNS: a new id tells senders to fetch again (§3.1).
import type { StsPlan } from "../catalogue/compile.js";

/** RFC 8461 §3.3: the one path senders fetch. */
export const POLICY_PATH = "/.well-known/mta-sts.txt";
/** Where the `redirect` fault points: it serves the same policy, so a sender that follows the redirect is seen. */
export const MOVED_PATH = "/.well-known/mta-sts-moved.txt";

/** RFC 8461 §3.2: CRLF-separated key/value pairs; "mx" repeats, one pattern each. */
export function policyText(sts: Pick<StsPlan, "mode" | "mx" | "maxAge">): string {
  const lines = ["version: STSv1", `mode: ${sts.mode}`, ...sts.mx.map((m) => `mx: ${m}`), `max_age: ${sts.maxAge}`];
  return `${lines.join("\r\n")}\r\n`;
}

/**
 * The ids the `_mta-sts` TXT record announces: the scenario's own, and under the `id-changes` fault also the next one
 * (trailing digits counted up, "2026120701" → "2026120702"), which the lab's DNS gives out in turn.
 */
export function announcedIds(sts: Pick<StsPlan, "id" | "fault">): string[] {
  return sts.fault === "id-changes" ? [sts.id, nextStsId(sts.id)] : [sts.id];
}

/** A different id of at most 32 letters and digits (RFC 8461 §3.1): trailing digits + 1, else a "2" put at the end. */
export function nextStsId(id: string): string {
  const m = /^(.*?)(\d+)$/.exec(id);
  if (m) {
    const digits = m[2]!;
    const next = `${m[1]}${(BigInt(digits) + 1n).toString().padStart(digits.length, "0")}`;
    if (next.length <= 32) return next;
  }
  return id.length < 32 ? `${id}2` : `${id.slice(0, 31)}${id.endsWith("2") ? "3" : "2"}`;
}

/** The `_mta-sts` TXT record's text (RFC 8461 §3.1). */
export function stsRecordText(id: string): string {
  return `v=STSv1; id=${id};`;
}

/** The `_smtp._tls` TXT record's text (RFC 8460 §3): where TLS-RPT reports go. */
export function tlsRptRecordText(rua: string): string {
  return `v=TLSRPTv1; rua=mailto:${rua}`;
}
