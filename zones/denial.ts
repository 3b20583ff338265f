// The validator's side of NSEC3 (RFC 5155 §8): from the NSEC3 records of a negative answer or a referral, decide whether
// they prove NXDOMAIN (§8.4), NODATA (§8.5), no DS at a delegation (§8.6) — "secure" —, only an Opt-Out span or an
// iteration count above the lab's limit (RFC 9276 §3.2) — "insecure" —, or nothing — "bogus". Signatures are checked by
// the caller (validate.ts); this module only does the hash arithmetic over records it is given.
import { hashCovers, MAX_VALIDATED_ITERATIONS, NSEC3_SHA1, nsec3Hash, OPT_OUT_FLAG, ownerHash } from "./nsec3.js";
import { type Answer, dataOf, parentName } from "./wire.js";

export interface Nsec3Data {
  algorithm: number;
  flags: number;
  iterations: number;
  salt: Buffer;
  nextDomain: Buffer;
  rrtypes: string[];
}

export interface DenialVerdict {
  status: "secure" | "insecure" | "bogus";
  why?: string;
}

/** nxdomain, nodata, no-ds (at a delegation), or wildcard: an answer expanded from a wildcard (RFC 5155 §8.8). */
export type DenialKind = "nxdomain" | "nodata" | "no-ds" | "wildcard";

const show = (name: string) => (name === "" ? "." : name);

/**
 * RFC 5155 §8.4–§8.8 over the NSEC3 records of `zone` in `records`: does the answer prove that `name` does not exist
 * (nxdomain), has no `type` (nodata, also at a wildcard), at a delegation has no DS (no-ds), or — for an answer
 * expanded from the wildcard at `wildcardEncloser` — that no closer name exists (wildcard)?
 */
export function proveNsec3(
  records: Answer[],
  zone: string,
  name: string,
  type: string,
  kind: DenialKind,
  wildcardEncloser = "",
): DenialVerdict {
  // RFC 5155 §8.1/§8.2: only NSEC3 of this zone with a known hash algorithm and no unknown flags count.
  const nsec3s = records.filter(
    (r) =>
      r.type === "NSEC3" &&
      parentName(r.name) === zone &&
      dataOf<Nsec3Data>(r).algorithm === NSEC3_SHA1 &&
      (dataOf<Nsec3Data>(r).flags & ~OPT_OUT_FLAG) === 0,
  );
  const first = nsec3s[0];
  if (!first) return { status: "bogus", why: `no NSEC3 of ${show(zone)} proves the denial for ${show(name)}` };
  const { iterations, salt } = dataOf<Nsec3Data>(first);
  // RFC 9276 §3.2: above the chosen limit the answer is insecure (the lab's choice, see MAX_VALIDATED_ITERATIONS).
  if (nsec3s.some((r) => dataOf<Nsec3Data>(r).iterations > MAX_VALIDATED_ITERATIONS)) {
    return {
      status: "insecure",
      why: `NSEC3 of ${show(zone)} uses ${iterations} iterations, above ${MAX_VALIDATED_ITERATIONS}: treated as insecure (RFC 9276 §3.2)`,
    };
  }
  const same = nsec3s.filter((r) => {
    const d = dataOf<Nsec3Data>(r);
    return d.iterations === iterations && d.salt.equals(salt);
  });
  const hashOf = (n: string) => nsec3Hash(n, salt, iterations);
  const matching = (n: string) => {
    const h = hashOf(n);
    return same.find((r) => ownerHash(r.name)?.equals(h));
  };
  const covering = (n: string) => {
    const h = hashOf(n);
    return same.find((r) => {
      const owner = ownerHash(r.name);
      const next = dataOf<Nsec3Data>(r).nextDomain;
      return owner !== undefined && hashCovers(owner, next, h);
    });
  };

  if (kind === "wildcard") {
    // RFC 5155 §8.8: the NSEC3 covering the next closer name (the RRSIG Labels field gave the closest encloser).
    const keep = (wildcardEncloser === "" ? 0 : wildcardEncloser.split(".").length) + 1;
    const next = name.split(".").slice(-keep).join(".");
    return covering(next)
      ? { status: "secure" }
      : { status: "bogus", why: `wildcard answer for ${show(name)}: no NSEC3 covers the next closer name ${next}` };
  }

  if (kind !== "nxdomain") {
    const own = matching(name);
    if (own) {
      const types = dataOf<Nsec3Data>(own).rrtypes;
      if (kind === "no-ds") {
        // RFC 5155 §8.6 + RFC 4035 §5.2: NS present, DS and SOA absent — an insecure delegation.
        if (types.includes("DS") || !types.includes("NS") || types.includes("SOA"))
          return { status: "bogus", why: `the NSEC3 for ${show(name)} does not prove an insecure delegation` };
        return { status: "secure" };
      }
      // RFC 5155 §8.5: the matching NSEC3's bitmap has neither the type nor CNAME.
      if (types.includes(type) || types.includes("CNAME"))
        return { status: "bogus", why: `the NSEC3 for ${show(name)} lists ${type} or CNAME` };
      return { status: "secure" };
    }
    if (kind === "nodata" && type !== "DS") return wildcardNodata(name, type, matching, covering, zone);
  }

  // RFC 5155 §8.3: the closest (provable) encloser — the longest ancestor with a matching NSEC3 — and the NSEC3
  // covering the next closer name.
  let nextCloser = name;
  let encloser: string | undefined;
  for (let n = parentName(name); n !== undefined; n = parentName(n)) {
    if (matching(n)) {
      encloser = n;
      break;
    }
    nextCloser = n;
    if (n === zone) break;
  }
  if (encloser === undefined) return { status: "bogus", why: `no NSEC3 proves a closest encloser for ${show(name)}` };
  const cover = covering(nextCloser);
  if (!cover) return { status: "bogus", why: `no NSEC3 covers the next closer name ${show(nextCloser)}` };
  const optOut = (dataOf<Nsec3Data>(cover).flags & OPT_OUT_FLAG) !== 0;
  if (kind !== "nxdomain") {
    // RFC 5155 §8.6: without a matching NSEC3 the next-closer NSEC3 must have Opt-Out; the delegation is then an
    // unsigned one that Opt-Out skipped, so what lies below is insecure (§9.2).
    if (!optOut) return { status: "bogus", why: `no NSEC3 matches ${show(name)} and the covering one has no Opt-Out` };
    return {
      status: "insecure",
      why: `${show(name)} lies in an Opt-Out span of ${show(zone)}'s NSEC3 chain: an unsigned delegation, no DS`,
    };
  }
  // RFC 5155 §8.4: the wildcard at the closest encloser must be covered too.
  const wildcard = encloser === "" ? "*" : `*.${encloser}`;
  if (!covering(wildcard)) return { status: "bogus", why: `no NSEC3 proves that there is no wildcard ${wildcard}` };
  // RFC 5155 §9.2: an Opt-Out NSEC3 covering the next closer name does not prove that the name is absent (an
  // unsigned delegation may be there): the NXDOMAIN is insecure.
  if (optOut)
    return {
      status: "insecure",
      why: `the NSEC3 covering ${show(nextCloser)} has Opt-Out: the NXDOMAIN is not proven (RFC 5155 §9.2)`,
    };
  return { status: "secure" };
}

/**
 * RFC 5155 §8.7: NODATA answered from a wildcard — a closest encloser proof for the name plus the NSEC3 matching the
 * wildcard at that closest encloser, whose bitmap has neither the type nor CNAME.
 */
function wildcardNodata(
  name: string,
  type: string,
  matching: (n: string) => Answer | undefined,
  covering: (n: string) => Answer | undefined,
  zone: string,
): DenialVerdict {
  let nextCloser = name;
  for (let n = parentName(name); n !== undefined; n = parentName(n)) {
    if (matching(n)) {
      const wildcard = matching(n === "" ? "*" : `*.${n}`);
      const types = wildcard ? dataOf<Nsec3Data>(wildcard).rrtypes : undefined;
      if (covering(nextCloser) && types && !types.includes(type) && !types.includes("CNAME"))
        return { status: "secure" };
      break;
    }
    nextCloser = n;
    if (n === zone) break;
  }
  return { status: "bogus", why: `no NSEC3 matches ${show(name)}, so nothing proves it has no ${type}` };
}
