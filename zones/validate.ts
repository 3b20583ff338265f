// resolveValidated: what a validating resolver holding the lab's root trust anchor concludes for one question,
// computed by really verifying (RFC 4035 §5): the root DNSKEY RRset is checked against the trust-anchor DS, then each
// cut is crossed by DS → DNSKEY (RFC 4035 §5.2) with every RRSIG verified by crypto.verify (§5.3) inside its validity
// window (§5.3.1); an NSEC proving there is no DS makes everything below insecure (§5.2); NXDOMAIN and NODATA must be
// proven by NSEC (§5.4) or NSEC3 (RFC 5155 §8, in denial.ts, with RFC 9276 §3.2's iteration limit); CNAMEs are chased, also into other zones, and the weakest link decides the status.
import { answerAuthoritative, answeringZone, faultFor } from "./answer.js";
import { proveNsec3 } from "./denial.js";
import { type DnskeyData, dsDigest, keyTag, VALIDATED_ALGORITHMS } from "./keys.js";
import { normalizeName, withoutTrailingDot } from "./names.js";
import { labelCount, type RrsigData, verifyRrsig } from "./sign.js";
import type { Rcode, SignedTree, SignedZone, ValidatedAnswer, ZoneFault } from "./types.js";
import { type Answer, compareNames, dataOf, isInOrSelf, labels, parentName } from "./wire.js";
import { rrsigTime } from "./zonefile.js";

type Status = "secure" | "insecure" | "bogus";

/** Where a zone stands in the chain of trust, with its verified keys when secure. */
interface ZoneTrust {
  status: Status;
  keys: DnskeyData[];
  why?: string;
  /** A servfail/timeout met on the way (the resolver could not get the DS or DNSKEY). */
  fault?: ZoneFault;
}

interface DsData {
  keyTag: number;
  algorithm: number;
  digestType: number;
  digest: Buffer;
}

interface Context {
  tree: SignedTree;
  now: number;
  trust: Map<string, ZoneTrust>;
}

/** RFC 1034 §5.3.3 and common resolver practice: give up on CNAME chains longer than this. */
const MAX_CHAIN = 12;

const rank: Record<Status, number> = { secure: 0, insecure: 1, bogus: 2 };
const worst = (a: Status, b: Status): Status => (rank[a] >= rank[b] ? a : b);
const show = (name: string) => (name === "" ? "." : name);

/** Faults that make the resolver fail outright rather than see data. */
const isOutage = (f: ZoneFault | undefined): f is ZoneFault => f?.kind === "servfail" || f?.kind === "timeout";

/** The trust-anchor DS records of the tree ("<owner> <ttl> IN DS <tag> <alg> <type> <hex>"). */
function anchorDs(tree: SignedTree): DsData[] {
  return tree.trustAnchors.ds.map((line) => {
    const f = line.trim().split(/\s+/);
    return {
      keyTag: Number(f[4]),
      algorithm: Number(f[5]),
      digestType: Number(f[6]),
      digest: Buffer.from(f.slice(7).join(""), "hex"),
    };
  });
}

/**
 * RFC 4035 §5.3.1 + §5.3.3: some RRSIG over the RRset, by the zone `signer`, made with one of `keys`, inside its
 * validity window, verifies. Returns undefined when it does, otherwise why not.
 */
function checkRRset(
  ctx: Context,
  rrset: Answer[],
  sigs: Answer[],
  keys: DnskeyData[],
  signer: string,
): string | undefined {
  const first = rrset[0];
  if (!first) return undefined;
  const what = `${first.type} at ${show(first.name)}`;
  const covering = sigs.filter((s) => {
    const d = dataOf<RrsigData>(s);
    return s.name === first.name && d.typeCovered === first.type;
  });
  if (covering.length === 0) return `no RRSIG over ${what} (zone ${show(signer)} is signed)`;
  const nowS = Math.floor(ctx.now / 1000);
  let why = "";
  for (const sig of covering) {
    const d = dataOf<RrsigData>(sig);
    if (normalizeName(d.signersName) !== signer) {
      why ||= `RRSIG over ${what} names signer ${show(d.signersName)}, not the zone ${show(signer)}`;
      continue;
    }
    const candidates = keys.filter((k) => keyTag(k) === d.keyTag && k.algorithm === d.algorithm);
    if (candidates.length === 0) {
      why ||= `RRSIG over ${what} was made with key ${d.keyTag}, which is not in the DNSKEY RRset of ${show(signer)}`;
      continue;
    }
    if (nowS > d.expiration) {
      why ||= `RRSIG over ${what} expired at ${rrsigTime(d.expiration)} (key ${d.keyTag})`;
      continue;
    }
    if (nowS < d.inception) {
      why ||= `RRSIG over ${what} is not valid before ${rrsigTime(d.inception)} (key ${d.keyTag})`;
      continue;
    }
    if (candidates.some((k) => verifyRrsig(sig, rrset, k))) return undefined;
    why ||= `RRSIG over ${what} does not verify with key ${d.keyTag}`;
  }
  return why;
}

/** RFC 4035 §5.2: a DNSKEY matches a DS when key tag, algorithm and the SHA-256 digest of owner | RDATA agree. */
function dsMatches(owner: string, ds: DsData, key: DnskeyData): boolean {
  return (
    ds.digestType === 2 &&
    ds.algorithm === key.algorithm &&
    ds.keyTag === keyTag(key) &&
    dsDigest(owner, key).equals(ds.digest)
  );
}

/** RFC 4035 §5.2: the zone's DNSKEY RRset is trusted when a key matching a DS signs it. */
function trustKeys(ctx: Context, zone: SignedZone, dsSet: DsData[]): ZoneTrust {
  const origin = zone.origin;
  const a = answerAuthoritative(ctx.tree, { name: origin, type: "DNSKEY", dnssecOk: true, from: origin });
  if (isOutage(a.fault))
    return { status: "bogus", keys: [], fault: a.fault, why: `DNSKEY query for ${show(origin)}: ${a.fault.kind}` };
  const rrset = a.answers.filter((r) => r.type === "DNSKEY" && r.name === origin);
  const keys = rrset.map((r) => dataOf<DnskeyData>(r));
  if (keys.length === 0) {
    return { status: "bogus", keys: [], why: `${show(origin)} has a DS in its parent but publishes no DNSKEY` };
  }
  const entry = keys.filter((k) => dsSet.some((ds) => dsMatches(origin, ds, k)));
  if (entry.length === 0) {
    const tags = dsSet.map((d) => d.keyTag).join(", ");
    return {
      status: "bogus",
      keys: [],
      why: `DS ${tags} for ${show(origin)} matches no DNSKEY of the zone (digest or key tag differs: wrong DS)`,
    };
  }
  const sigs = a.answers.filter((r) => r.type === "RRSIG");
  const why = checkRRset(ctx, rrset, sigs, entry, origin);
  if (why) return { status: "bogus", keys: [], why };
  // RFC 4034 §2.1.1: only keys with the Zone Key bit may verify zone data.
  return { status: "secure", keys: keys.filter((k) => (k.flags & 0x0100) !== 0) };
}

/** Where `zone` stands: the chain of trust from the root down to it (memoised per question). */
function trustFor(ctx: Context, zone: SignedZone): ZoneTrust {
  const cached = ctx.trust.get(zone.origin);
  if (cached) return cached;
  const result = computeTrust(ctx, zone);
  ctx.trust.set(zone.origin, result);
  return result;
}

function computeTrust(ctx: Context, zone: SignedZone): ZoneTrust {
  const { tree } = ctx;
  if (zone.parent === undefined) {
    const anchors = anchorDs(tree);
    if (anchors.length === 0)
      return { status: "insecure", keys: [], why: "the lab's root is unsigned: no trust anchor" };
    return trustKeys(ctx, zone, anchors);
  }
  const parent = tree.zone(zone.parent);
  if (!parent) return { status: "bogus", keys: [], why: `no parent zone ${show(zone.parent)}` };
  const up = trustFor(ctx, parent);
  if (up.status !== "secure") return up;
  const origin = zone.origin;
  // RFC 4035 §3.1.4.1: the DS comes from the parent side of the cut.
  const a = answerAuthoritative(tree, { name: origin, type: "DS", dnssecOk: true, from: parent.origin });
  if (isOutage(a.fault))
    return { status: "bogus", keys: [], fault: a.fault, why: `DS query for ${origin}: ${a.fault.kind}` };
  const ds = a.answers.filter((r) => r.type === "DS" && r.name === origin);
  if (ds.length > 0) {
    const why = checkRRset(ctx, ds, a.answers, up.keys, parent.origin);
    if (why) return { status: "bogus", keys: [], why };
    const dsSet = ds.map((r) => dataOf<DsData>(r));
    // RFC 4035 §5.2: a DS RRset listing no algorithm the validator supports is treated like a proof of no DS.
    if (!dsSet.some((d) => VALIDATED_ALGORITHMS.includes(d.algorithm))) {
      const algs = [...new Set(dsSet.map((d) => d.algorithm))].join(", ");
      return {
        status: "insecure",
        keys: [],
        why: `${origin} is insecure: its DS RRset lists only algorithm ${algs}, which this validator does not implement`,
      };
    }
    return trustKeys(ctx, zone, dsSet);
  }
  if (parent.denial === "nsec3") {
    // RFC 5155 §8.6: the NSEC3 matching the cut (NS, no DS), or an Opt-Out span covering it.
    for (const set of rrsets(a.authorities).filter((s) => s[0]?.type === "NSEC3")) {
      const why = checkRRset(ctx, set, a.authorities, up.keys, parent.origin);
      if (why) return { status: "bogus", keys: [], why };
    }
    const proof = proveNsec3(a.authorities, parent.origin, origin, "DS", "no-ds");
    if (proof.status === "bogus") return { status: "bogus", keys: [], why: proof.why ?? "" };
    return {
      status: "insecure",
      keys: [],
      why:
        proof.why ??
        `${origin} is an insecure delegation: ${show(parent.origin)} proves with NSEC3 that there is no DS`,
    };
  }
  // RFC 4035 §5.2: no DS — the parent must prove it with the NSEC at the cut (NS set, DS and SOA clear).
  const nsec = a.authorities.find((r) => r.type === "NSEC" && r.name === origin);
  if (!nsec) {
    return { status: "bogus", keys: [], why: `${show(parent.origin)} neither publishes nor denies a DS for ${origin}` };
  }
  const why = checkRRset(ctx, [nsec], a.authorities, up.keys, parent.origin);
  if (why) return { status: "bogus", keys: [], why };
  const types = dataOf<{ rrtypes: string[] }>(nsec).rrtypes;
  if (types.includes("DS") || !types.includes("NS") || types.includes("SOA")) {
    return {
      status: "bogus",
      keys: [],
      why: `the NSEC at ${origin} does not prove an insecure delegation (types ${types.join(" ")})`,
    };
  }
  return {
    status: "insecure",
    keys: [],
    why: `${origin} is an insecure delegation: ${show(parent.origin)} proves with NSEC that there is no DS`,
  };
}

/** RFC 4034 §4.1.1 / RFC 4035 §5.4: does the NSEC (owner → next) cover `name` (owner < name < next, wrapping)? */
function covers(nsec: Answer, name: string): boolean {
  const next = dataOf<{ nextDomain: string }>(nsec).nextDomain;
  if (compareNames(nsec.name, name) >= 0) return false;
  return compareNames(name, next) < 0 || compareNames(next, nsec.name) <= 0;
}

function commonAncestor(a: string, b: string): string {
  for (let n: string | undefined = a; n !== undefined; n = parentName(n)) if (isInOrSelf(b, n)) return n;
  return "";
}

/** The closest encloser an NSEC covering `name` implies: the longer common ancestor with its owner or next name. */
function closestEncloserOf(name: string, cover: Answer): string {
  const a = commonAncestor(name, cover.name);
  const b = commonAncestor(name, dataOf<{ nextDomain: string }>(cover).nextDomain);
  return a.length >= b.length ? a : b;
}

/**
 * RFC 4035 §5.3.4 / RFC 5155 §8.8: an RRset whose RRSIG Labels field is smaller than its owner's label count was
 * expanded from the wildcard at the owner's last `sigLabels` labels; the answer must prove no closer name exists — an
 * NSEC covering the owner, or the NSEC3 covering the next closer name.
 */
function proveWildcard(zone: SignedZone, authorities: Answer[], owner: string, type: string, sigLabels: number) {
  const encloser = sigLabels === 0 ? "" : labels(owner).slice(-sigLabels).join(".");
  if (zone.denial === "nsec3") return proveNsec3(authorities, zone.origin, owner, type, "wildcard", encloser);
  const ok = authorities.some((r) => r.type === "NSEC" && covers(r, owner));
  return ok
    ? { status: "secure" as const }
    : { status: "bogus" as const, why: `wildcard answer for ${show(owner)}: no NSEC proves there is no closer name` };
}

/** RFC 4035 §5.4: the NSEC records in `authorities` prove that `name` has no `type` (NODATA) or does not exist. */
function proveDenial(authorities: Answer[], name: string, type: string, nxdomain: boolean): string | undefined {
  const nsecs = authorities.filter((r) => r.type === "NSEC");
  if (!nxdomain) {
    const own = nsecs.find((r) => r.name === name);
    if (own) {
      const types = dataOf<{ rrtypes: string[] }>(own).rrtypes;
      if (types.includes(type) || types.includes("CNAME")) return `the NSEC at ${show(name)} lists ${type} or CNAME`;
      return undefined;
    }
    // An empty non-terminal: the covering NSEC's next name lies below the name.
    const ent = nsecs.find((r) => covers(r, name) && isInOrSelf(dataOf<{ nextDomain: string }>(r).nextDomain, name));
    if (ent) return undefined;
    // RFC 4035 §3.1.3.4 / §5.4: wildcard NODATA — an NSEC covering the name and the NSEC of the wildcard at the
    // closest encloser, whose bitmap lacks the type.
    const cover = nsecs.find((r) => covers(r, name));
    if (cover) {
      const wildcard = withoutTrailingDot(`*.${closestEncloserOf(name, cover)}`);
      const own = nsecs.find((r) => r.name === wildcard);
      const types = own ? dataOf<{ rrtypes: string[] }>(own).rrtypes : undefined;
      if (types && !types.includes(type) && !types.includes("CNAME")) return undefined;
    }
    return `no NSEC proves that ${show(name)} has no ${type}`;
  }
  const cover = nsecs.find((r) => covers(r, name));
  if (!cover) return `no NSEC proves that ${show(name)} does not exist`;
  const encloser = closestEncloserOf(name, cover);
  const wildcard = encloser === "" ? "*" : `*.${encloser}`;
  if (!nsecs.some((r) => covers(r, wildcard))) return `no NSEC proves that there is no wildcard ${wildcard}`;
  return undefined;
}

/** Groups records into RRsets (RRSIGs left out), in order of appearance. */
function rrsets(records: Answer[]): Answer[][] {
  const sets = new Map<string, Answer[]>();
  for (const r of records) {
    if (r.type === "RRSIG") continue;
    const key = `${r.name}|${r.type}`;
    const list = sets.get(key);
    if (list) list.push(r);
    else sets.set(key, [r]);
  }
  return [...sets.values()];
}

/**
 * The chain of trust per zone is the same for every question: it is kept per tree for one minute of the tree's clock
 * (signature windows are hours to days wide, so a minute's granularity cannot flip a verdict that matters).
 */
const trustCache = new WeakMap<SignedTree, { minute: number; trust: Map<string, ZoneTrust> }>();

export function resolveValidated(tree: SignedTree, q: { name: string; type: string; now?: number }): ValidatedAnswer {
  const now = q.now ?? tree.now();
  const minute = Math.floor(now / 60_000);
  let cached = trustCache.get(tree);
  if (cached?.minute !== minute) {
    cached = { minute, trust: new Map() };
    trustCache.set(tree, cached);
  }
  const ctx: Context = { tree, now, trust: cached.trust };
  return resolve(ctx, normalizeName(q.name), q.type.toUpperCase(), 0, new Set());
}

function resolve(ctx: Context, name: string, type: string, depth: number, seen: Set<string>): ValidatedAnswer {
  const { tree } = ctx;
  const zone = answeringZone(tree, name, type);
  if (!zone)
    return { rcode: "REFUSED", status: "insecure", answers: [], authorities: [], why: `${name} is not in the lab` };
  const own = faultFor(tree, name, type);
  const trust = trustFor(ctx, zone);
  if (trust.fault) return servfail(trust.fault, trust.why);
  const a = answerAuthoritative(tree, { name, type, dnssecOk: true });
  if (isOutage(a.fault)) return servfail(a.fault, `${a.fault.kind} for ${type} at ${show(name)}`);
  let status: Status = trust.status;
  let why = trust.why;
  const note = (s: Status, w: string | undefined) => {
    if (rank[s] > rank[status] || (why === undefined && w !== undefined && s !== "secure")) why = w;
    status = worst(status, s);
  };

  if (trust.status === "secure") {
    for (const set of [...rrsets(a.answers), ...rrsets(a.authorities)]) {
      const w = checkRRset(ctx, set, [...a.answers, ...a.authorities], trust.keys, zone.origin);
      if (w) {
        note("bogus", w);
        break;
      }
    }
    for (const set of rrsets(a.answers)) {
      const { name: owner, type: t } = set[0]!;
      const sig = a.answers.find(
        (r) => r.type === "RRSIG" && r.name === owner && dataOf<RrsigData>(r).typeCovered === t,
      );
      // RFC 4034 §3.1.3: a literal "*" owner counts without its wildcard label.
      const sigLabels = sig ? dataOf<RrsigData>(sig).labels : labelCount(owner);
      if (sigLabels >= labelCount(owner)) continue;
      const w = proveWildcard(zone, a.authorities, owner, t, sigLabels);
      if (w.status !== "secure") note(w.status, w.why);
    }
  }

  // The end of the CNAME chain inside this answer.
  let last = name;
  const hops = new Set([name]);
  for (;;) {
    const c = a.answers.find((r) => r.type === "CNAME" && r.name === last);
    if (!c || type === "CNAME") break;
    last = dataOf<string>(c);
    if (hops.has(last)) break;
    hops.add(last);
  }
  const answered = a.answers.some((r) => r.name === last && (r.type === type || type === "ANY"));
  const rcode = a.rcode as Rcode;
  const withFault = (r: ValidatedAnswer): ValidatedAnswer => (own && !r.fault ? { ...r, fault: own } : r);

  if (!answered && rcode === "NOERROR" && last !== name && a.authorities.length === 0) {
    // RFC 1034 §4.3.2 step 3a, §5.3.3: the chain leaves the zone — chase the target like a resolver does.
    if (depth >= MAX_CHAIN || seen.has(last)) {
      return withFault({
        rcode: "SERVFAIL",
        status: "bogus",
        answers: a.answers,
        authorities: [],
        why: `CNAME loop at ${last}`,
      });
    }
    seen.add(name);
    const sub = resolve(ctx, last, type, depth + 1, seen);
    note(sub.status, sub.why);
    const out: ValidatedAnswer = {
      rcode: sub.rcode,
      status,
      answers: [...a.answers, ...sub.answers],
      authorities: sub.authorities,
    };
    if (why !== undefined && status !== "secure") out.why = why;
    if (sub.fault) out.fault = sub.fault;
    return withFault(out);
  }

  if (!answered && status === "secure" && (rcode === "NXDOMAIN" || rcode === "NOERROR")) {
    const denier = answeringZone(tree, last, type) ?? zone;
    if (denier.denial === "nsec3") {
      const kind = rcode === "NXDOMAIN" ? "nxdomain" : "nodata";
      const proof = proveNsec3(a.authorities, denier.origin, last, type, kind);
      if (proof.status !== "secure") note(proof.status, proof.why);
    } else {
      const w = proveDenial(a.authorities, last, type, rcode === "NXDOMAIN");
      if (w) note("bogus", w);
    }
  }
  const out: ValidatedAnswer = { rcode, status, answers: a.answers, authorities: a.authorities };
  if (why !== undefined && status !== "secure") out.why = why;
  return withFault(out);
}

function servfail(fault: ZoneFault | undefined, why: string | undefined): ValidatedAnswer {
  const out: ValidatedAnswer = { rcode: "SERVFAIL", status: "bogus", answers: [], authorities: [] };
  if (fault) out.fault = fault;
  if (why) out.why = why;
  return out;
}
