// Names: which names a DANE-TA(2) server certificate must carry (the reference identifiers), how a presented DNS-ID
// matches one (wildcards stand for exactly one label), and the near misses a person would take for a match.
import type { CertificateSummary } from "../certs/index.js";
import { normalizeName } from "../zones/names.js";
import type { Note, NoteLevel } from "./types.js";

/**
 * RFC 7672 §3.2.2: the reference identifiers are the TLSA base domain (the MX host after secure CNAME expansion), the
 * MX host name itself, and the next-hop domain (the recipient domain), which "MUST be included as a second reference
 * identifier" when the MX lookup was secure. Duplicates are dropped; the last entry is always the next-hop domain.
 * (After an insecure MX lookup "the MX hostname is the only reference identifier"; callers pass the recipient domain
 * anyway, and the scenario page notes say what a client that checks only the MX host does.)
 */
export function referenceIdentifiers(tlsaBaseDomain: string, mxHost: string, nextHopDomain: string): string[] {
  return [...new Set([tlsaBaseDomain, mxHost, nextHopDomain])];
}

/**
 * RFC 7672 §3.2.3 (via RFC 6125 §6.4): a DNS-ID matches a reference identifier exactly, or as a wildcard `*` that is
 * the whole left-most label and stands for exactly one label (RFC 6125 §6.4.3). Case-insensitive, trailing dots
 * ignored.
 */
export function dnsIdMatches(presented: string, reference: string): boolean {
  const p = normalizeName(presented);
  const r = normalizeName(reference);
  if (p === r) return true;
  if (!p.startsWith("*.")) return false;
  const dot = r.indexOf(".");
  return dot > 0 && r.slice(dot + 1) === p.slice(2);
}

/** A presented name that a person would take for a match but a DANE client must not (partial or deep wildcard). */
export function nearMiss(presented: string, reference: string): string | null {
  const p = normalizeName(presented);
  const r = normalizeName(reference);
  const [first, ...rest] = p.split(".");
  // RFC 7672 §3.2.3: partial-label wildcards ("m*.example") are not accepted.
  if (first?.includes("*") && first !== "*") {
    const re = new RegExp(`^${first.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace("*", "[^.]*")}$`);
    const [rFirst, ...rRest] = r.split(".");
    if (rest.join(".") === rRest.join(".") && rFirst && re.test(rFirst))
      return `${presented} looks like it covers ${reference}, but a partial wildcard is not accepted (RFC 7672 §3.2.3)`;
  }
  // RFC 6125 §6.4.3: "*.example" does not cover "a.b.example" — a wildcard stands for one label.
  if (first === "*" && r.endsWith(`.${rest.join(".")}`) && !dnsIdMatches(p, r))
    return `${presented} looks like it covers ${reference}, but a wildcard stands for one label only (RFC 6125 §6.4.3)`;
  return null;
}

/** RFC 6125 §6.4.4: the names a certificate presents — its SAN dNSNames, or, without a SAN extension, its CN. */
export function presentedNames(leaf: CertificateSummary, cn: string | undefined): string[] {
  return leaf.san.length ? leaf.san : cn ? [cn] : [];
}

/** What `nameChecks` found on a server certificate. */
export interface NameCheck {
  /** The presented names that match a reference identifier. */
  matches: string[];
  /** What they match: the host (TLSA base domain or MX host), only the next-hop domain, or nothing. */
  kind: "host" | "next-hop" | null;
  /** A near miss (partial or deep wildcard, CN beside SANs) and no real match: it only looks right. */
  looksRightOnly: boolean;
  notes: Note[];
}

/**
 * The server certificate's names against the reference identifiers (RFC 7672 §3.2.2): `refs` as
 * `referenceIdentifiers` returns them, the last being the next-hop domain, which RFC 7672 §3.2.2 requires clients to
 * accept after a secure MX lookup but some (Exim) do not check. `cn` is the subject CN when the caller knows it better than the summary's subject string.
 * `eeOnly`: a DANE-EE(3) record authenticates this certificate, so names do not matter (RFC 7672 §3.2.1) and the
 * notes say so.
 */
export function nameChecks(
  leaf: CertificateSummary,
  cn: string | undefined,
  refs: string[],
  eeOnly: boolean,
): NameCheck {
  const notes: Note[] = [];
  const matches: string[] = [];
  const nextHop = refs.at(-1)!;
  const hostRefs = refs.filter((r) => r !== nextHop);
  const commonName = cn ?? /(?:^|,\s*)CN=([^,]+)/.exec(leaf.subject)?.[1];
  const miss: NoteLevel = eeOnly ? "info" : "bad";
  const soft: NoteLevel = eeOnly ? "info" : "warn";
  const eeHint = eeOnly ? " — DANE-EE does not check names (RFC 7672 §3.1.1)" : "";
  // With SANs only they count; without a SAN extension the CN does (RFC 6125 §6.4.4).
  const presented = presentedNames(leaf, commonName);
  const where = (i: number) =>
    leaf.san.length
      ? `SAN ${i + 1} of ${leaf.san.length}, ${presented[i]},`
      : `no SAN extension, so the CN ${commonName} counts, and`;
  const kind = (): NameCheck["kind"] =>
    !matches.length
      ? null
      : matches.some((n) => refs.slice(0, -1).some((r) => dnsIdMatches(n, r)))
        ? "host"
        : "next-hop";
  if (!presented.length) {
    notes.push({ level: miss, text: `no names at all${eeHint}` });
    return { matches, kind: null, looksRightOnly: false, notes };
  }
  let hostMatched = false;
  presented.forEach((name, i) => {
    const ref = hostRefs.find((r) => dnsIdMatches(name, r));
    if (ref) {
      hostMatched = true;
      matches.push(name);
      notes.push({ level: "ok", text: `${where(i)} matches ${ref}` });
    }
  });
  if (hostMatched) return { matches, kind: kind(), looksRightOnly: false, notes };
  // RFC 7672 §3.2.2: the next-hop domain is a reference identifier a client MAY accept.
  presented.forEach((name, i) => {
    if (dnsIdMatches(name, nextHop)) {
      matches.push(name);
      notes.push({
        level: soft,
        text: `${where(i)} matches only the next-hop domain ${nextHop}: RFC 7672 §3.2.2 requires a client to accept that after a secure MX lookup, but clients that check only the MX host name (Exim) do not${eeHint}`,
      });
    }
  });
  let near = false;
  for (const name of presented)
    for (const r of hostRefs) {
      const why = nearMiss(name, r);
      if (why) {
        near = true;
        notes.push({ level: soft, text: why + eeHint });
      }
    }
  // RFC 6125 §6.4.4: a certificate with SANs is not matched by its CN.
  if (leaf.san.length && commonName && hostRefs.some((r) => dnsIdMatches(commonName, r))) {
    near = true;
    notes.push({
      level: soft,
      text: `the CN ${commonName} names the host, but the certificate has SANs, so the CN is ignored (RFC 6125 §6.4.4)${eeHint}`,
    });
  }
  const looksRightOnly = near && !eeOnly && !matches.length;
  if (!matches.length)
    notes.push({
      level: miss,
      text: `${leaf.san.length ? "no SAN" : `the CN ${commonName}`} matches none of ${refs.join(", ")}${eeHint}`,
    });
  return { matches, kind: kind(), looksRightOnly, notes };
}
