// Authoritative answer selection (pure): what a name server holding every zone of the tree answers for one question.
// The deepest zone holding the name answers (AA), except that DS is answered from the parent side of the cut
// (RFC 4035 §3.1.4.1); a name that does not exist is answered from the wildcard at its closest encloser (RFC 4592
// §3.3.1) with the proof that no closer name exists; a name below a cut in the answering zone gets a referral (RFC 1034 §4.3.2 step 3b) with the DS
// or the NSEC proving there is none (RFC 4035 §3.1.4); CNAMEs are followed inside the zone (RFC 1034 §4.3.2 step 3a);
// NXDOMAIN and NODATA carry the SOA (RFC 2308 §3) and, with DO, the NSEC proofs (RFC 4035 §3.1.3) or NSEC3 proofs (RFC 5155 §7.2). RRSIGs go with
// every RRset when the query set DO (RFC 4035 §3.1.1).

import { normalizeName, withoutTrailingDot } from "./names.js";
import type { AuthoritativeAnswer, SignedTree, SignedZone, ZoneFault } from "./types.js";
import { type Answer, dataOf, isInOrSelf, parentName } from "./wire.js";

export interface AuthoritativeQuestion {
  name: string;
  type: string;
  dnssecOk: boolean;
  /**
   * Answer as a server holding only this zone would (origin, "" = root) — how a resolver walking down from the root
   * sees referrals. Default: the deepest zone holding the name, as the lab's server does.
   */
  from?: string | undefined;
}

/** RFC 1034 §4.3.2: CNAME chains inside one zone are followed at most this far (loop guard). */
const MAX_CNAME_CHAIN = 8;

/** The fault configured for a name/type anywhere in the tree ("*" or "ANY" in a fault matches every type). */
export function faultFor(tree: SignedTree, name: string, type: string): ZoneFault | undefined {
  for (const z of tree.zones) {
    for (const f of z.faults) {
      if (f.name === name && (f.type === type || f.type === "*" || f.type === "ANY")) return f;
    }
  }
  return undefined;
}

/** The zone that answers: the deepest one holding the name; for DS at a zone apex, the parent (RFC 4035 §3.1.4.1). */
export function answeringZone(tree: SignedTree, name: string, type: string): SignedZone | undefined {
  const zone = tree.zoneFor(name);
  if (zone && type === "DS" && name === zone.origin && zone.parent !== undefined) return tree.zone(zone.parent);
  return zone;
}

function withSigs(zone: SignedZone, name: string, type: string, dnssecOk: boolean): Answer[] {
  const rrset = zone.rrset(name, type);
  return dnssecOk ? [...rrset, ...zone.signatures(name, type)] : rrset;
}

/** RFC 2308 §3: the SOA in a negative answer carries TTL = min(SOA TTL, SOA minimum). */
function negativeSoa(zone: SignedZone, dnssecOk: boolean): Answer[] {
  const soa = zone.rrset(zone.origin, "SOA").map((rr) => {
    const min = dataOf<{ minimum?: number }>(rr).minimum ?? 0;
    return { ...rr, ttl: Math.min((rr as { ttl?: number }).ttl ?? 0, min) } as Answer;
  });
  return dnssecOk ? [...soa, ...zone.signatures(zone.origin, "SOA")] : soa;
}

/** Denial records with their RRSIGs, each once. */
function proofs(zone: SignedZone, records: (Answer | undefined)[]): Answer[] {
  const seen = new Set<string>();
  const out: Answer[] = [];
  for (const r of records) {
    if (!r || seen.has(`${r.name}|${r.type}`)) continue;
    seen.add(`${r.name}|${r.type}`);
    out.push(r, ...zone.signatures(r.name, r.type));
  }
  return out;
}

/** The longest ancestor of `name` (or name itself) that exists in the zone — RFC 4592 §3.3.1 closest encloser. */
function closestEncloser(zone: SignedZone, name: string): string {
  for (let n: string | undefined = name; n !== undefined; n = parentName(n)) {
    if (zone.exists(n) || n === zone.origin) return n;
  }
  return zone.origin;
}

/**
 * RFC 5155 §7.2.1: the closest provable encloser proof for `name` — the NSEC3 matching the longest proper ancestor
 * that has one, and the NSEC3 covering the "next closer" name (that ancestor plus one label of `name`).
 */
function closestEncloserProof(zone: SignedZone, name: string): { encloser: string; records: (Answer | undefined)[] } {
  let nextCloser = name;
  for (let n = parentName(name); n !== undefined; n = parentName(n)) {
    const match = zone.nsec3Match(n);
    if (match || n === zone.origin) return { encloser: n, records: [match, zone.nsec3Cover(nextCloser)] };
    nextCloser = n;
  }
  return { encloser: zone.origin, records: [] };
}

/**
 * NODATA at a name that exists (RFC 4035 §3.1.3.1: its NSEC; for an empty non-terminal the NSEC covering it,
 * §3.1.3.2). NSEC3 (RFC 5155 §7.2.3, §7.2.4): the NSEC3 matching the name; when there is none (a DS query at an
 * Opt-Out delegation) the closest provable encloser proof, whose next-closer NSEC3 carries the Opt-Out flag.
 */
function nodataProof(zone: SignedZone, name: string): Answer[] {
  if (zone.denial === "nsec3") {
    const match = zone.nsec3Match(name);
    return proofs(zone, match ? [match] : closestEncloserProof(zone, name).records);
  }
  return proofs(zone, [zone.rrset(name, "NSEC")[0] ?? zone.nsecFor(name)]);
}

/**
 * NXDOMAIN: RFC 4035 §3.1.3.2 — an NSEC covering the name and one covering the wildcard at the closest encloser;
 * RFC 5155 §7.2.2 — the closest encloser proof plus the NSEC3 covering the wildcard at the closest encloser.
 */
function nxdomainProof(zone: SignedZone, name: string): Answer[] {
  if (zone.denial === "nsec3") {
    const { encloser, records } = closestEncloserProof(zone, name);
    return proofs(zone, [...records, zone.nsec3Cover(encloser === "" ? "*" : `*.${encloser}`)]);
  }
  const wildcard = withoutTrailingDot(`*.${closestEncloser(zone, name)}`);
  return proofs(zone, [zone.nsecFor(name), zone.nsecFor(wildcard)]);
}

/** Glue and in-zone addresses for the NS names of a referral (RFC 1034 §4.3.2 step 3b). */
function addressesFor(zone: SignedZone, nsNames: string[]): Answer[] {
  return nsNames.flatMap((n) => [...zone.rrset(n, "A"), ...zone.rrset(n, "AAAA")]);
}

export function answerAuthoritative(tree: SignedTree, q: AuthoritativeQuestion): AuthoritativeAnswer {
  const name = normalizeName(q.name);
  const type = q.type.toUpperCase();
  const fault = faultFor(tree, name, type);
  const from = q.from === undefined ? undefined : tree.zone(q.from);
  const zone = from && isInOrSelf(name, from.origin) ? from : answeringZone(tree, name, type);
  const base = { answers: [] as Answer[], authorities: [] as Answer[], additionals: [] as Answer[] };
  const result = (a: Omit<AuthoritativeAnswer, "fault">): AuthoritativeAnswer => (fault ? { ...a, fault } : a);
  // RFC 1035 §4.1.1 / RFC 2136: a server that holds no zone for the name refuses.
  if (!zone) return result({ rcode: "REFUSED", aa: false, ...base });
  return result(answerFromZone(zone, name, type, q.dnssecOk));
}

/** The ancestor of `name` one label longer than its closest encloser `encloser` (RFC 5155 §1.3 "next closer name"). */
function nextCloser(name: string, encloser: string): string {
  const keep = (encloser === "" ? 0 : encloser.split(".").length) + 1;
  return name.split(".").slice(-keep).join(".");
}

/**
 * A wildcard answer (RFC 4592 §3.3.1, RFC 4035 §3.1.3.3, RFC 5155 §7.2.6): the proof that the query name itself does
 * not exist — the NSEC covering it, or the NSEC3 covering the next closer name.
 */
function wildcardAnswerProof(zone: SignedZone, name: string, encloser: string): Answer[] {
  if (zone.denial === "nsec3") return proofs(zone, [zone.nsec3Cover(nextCloser(name, encloser))]);
  return proofs(zone, [zone.nsecFor(name)]);
}

/**
 * Wildcard NODATA (RFC 4035 §3.1.3.4, RFC 5155 §7.2.5): no exact match (NSEC covering the name / closest encloser
 * proof), and the wildcard's own NSEC or NSEC3, whose bitmap lacks the type.
 */
function wildcardNodataProof(zone: SignedZone, name: string, encloser: string, source: string): Answer[] {
  if (zone.denial === "nsec3") {
    return proofs(zone, [
      zone.nsec3Match(encloser),
      zone.nsec3Cover(nextCloser(name, encloser)),
      zone.nsec3Match(source),
    ]);
  }
  return proofs(zone, [zone.nsecFor(name), zone.rrset(source, "NSEC")[0]]);
}

function answerFromZone(
  zone: SignedZone,
  qname: string,
  type: string,
  dnssecOk: boolean,
): Omit<AuthoritativeAnswer, "fault"> {
  const answers: Answer[] = [];
  // Proofs that a wildcard was expanded on the way (they go with the answer, RFC 4035 §3.1.3.3).
  const expanded: Answer[] = [];
  const positive = () => ({ rcode: "NOERROR" as const, aa: true, answers, authorities: expanded, additionals: [] });
  let name = qname;
  for (let hop = 0; hop <= MAX_CNAME_CHAIN; hop++) {
    const cut = zone.cutFor(name);
    // RFC 4035 §3.1.4.1: DS at the cut is the parent's own data; anything else at or below a cut is a referral.
    if (cut !== undefined && !(type === "DS" && name === cut)) {
      if (answers.length > 0) return positive();
      return referral(zone, cut, dnssecOk);
    }
    // RFC 4592 §3.3.1: a name that does not exist is answered from the wildcard at its closest encloser, if any.
    let owner = name;
    const encloser = closestEncloser(zone, name);
    if (!zone.exists(name)) {
      const source = encloser === "" ? "*" : `*.${encloser}`;
      if (zone.typesAt(source).length > 0) owner = source;
    }
    const types = zone.typesAt(owner);
    // RFC 4592 §3.3.1 / RFC 4035 §5.3.4: the synthesised RRs take the query name; their RRSIGs keep the wildcard's
    // Labels count, which is how a validator recognises the expansion.
    const fetch = (t: string, sigsOnly = false) => {
      const rrs = sigsOnly ? zone.signatures(owner, t) : withSigs(zone, owner, t, dnssecOk);
      return owner === name ? rrs : rrs.map((r) => ({ ...r, name }) as Answer);
    };
    if (types.length > 0) {
      const synthesising = owner !== name && (types.includes(type) || types.includes("CNAME") || type === "ANY");
      if (synthesising && dnssecOk) expanded.push(...wildcardAnswerProof(zone, name, encloser));
      if (type === "ANY") {
        for (const t of types) answers.push(...fetch(t));
        return positive();
      }
      if (type === "RRSIG") {
        for (const t of types) answers.push(...fetch(t, true));
      } else if (types.includes(type)) {
        answers.push(...fetch(type));
      }
      if (answers.length > 0 && (type === "RRSIG" || types.includes(type))) return positive();
      if (types.includes("CNAME") && type !== "CNAME") {
        answers.push(...fetch("CNAME"));
        const target = dataOf<string>(zone.rrset(owner, "CNAME")[0]!);
        // RFC 1034 §4.3.2 step 3a: restart with the target while it is in this zone; otherwise the resolver chases.
        if (!isInOrSelf(target, zone.origin) || target === qname) return positive();
        name = target;
        continue;
      }
      // NODATA (RFC 2308 §2.2): SOA; RFC 4035 §3.1.3.1: the NSEC of the name, whose bitmap lacks the type; at a
      // wildcard, RFC 4035 §3.1.3.4 / RFC 5155 §7.2.5.
      const proof = owner === name ? nodataProof(zone, name) : wildcardNodataProof(zone, name, encloser, owner);
      const authorities = [...negativeSoa(zone, dnssecOk), ...(dnssecOk ? [...expanded, ...proof] : [])];
      return { rcode: "NOERROR", aa: true, answers, authorities, additionals: [] };
    }
    if (zone.exists(name)) {
      // An empty non-terminal: NODATA, proved by the NSEC that covers the name (RFC 4035 §3.1.3.2 / RFC 5155 §7.2.3
      // for the NSEC3 analogue); the next name in that NSEC is a descendant of the qname.
      const authorities = [
        ...negativeSoa(zone, dnssecOk),
        ...(dnssecOk ? [...expanded, ...nodataProof(zone, name)] : []),
      ];
      return { rcode: "NOERROR", aa: true, answers, authorities, additionals: [] };
    }
    const authorities = [
      ...negativeSoa(zone, dnssecOk),
      ...(dnssecOk ? [...expanded, ...nxdomainProof(zone, name)] : []),
    ];
    // RFC 6604 §3: the rcode reflects the last name of a CNAME chain.
    return { rcode: "NXDOMAIN", aa: true, answers, authorities, additionals: [] };
  }
  return positive();
}

/**
 * RFC 1034 §4.3.2 step 3b + RFC 4035 §3.1.4: a referral is not authoritative (AA=0): the child's NS RRset in the
 * authority section, with DO the signed DS RRset or — for an unsigned child — the signed NSEC (or NSEC3, RFC 5155
 * §7.2.7) at the cut whose bitmap shows NS without DS, or with Opt-Out the closest provable encloser proof; glue in the additional section.
 */
function referral(zone: SignedZone, cut: string, dnssecOk: boolean): Omit<AuthoritativeAnswer, "fault"> {
  const ns = zone.rrset(cut, "NS");
  const authorities: Answer[] = [...ns];
  if (dnssecOk) {
    const ds = zone.rrset(cut, "DS");
    if (ds.length > 0) authorities.push(...ds, ...zone.signatures(cut, "DS"));
    else authorities.push(...nodataProof(zone, cut));
  }
  const additionals = addressesFor(
    zone,
    ns.map((r) => dataOf<string>(r)),
  );
  return { rcode: "NOERROR", aa: false, answers: [], authorities, additionals };
}
