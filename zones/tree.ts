// buildTree: from a list of zone specs (the lab's fake root "", the suffix zone, one child per scenario) to signed
// zones. Each zone gets its SOA and NS RRset, addresses for in-zone name servers, at every cut the child's NS RRset,
// glue and — for a signed child — its DS (RFC 4034 §5); a signed zone also gets DNSKEY (KSK 257 + ZSK 256), the NSEC
// chain (RFC 4034 §4, RFC 4035 §2.3) or the NSEC3 chain (RFC 5155 §7.1) and RRSIGs over every authoritative RRset
// (RFC 4035 §2.2). Faults are data: a broken or expired signature is made here; servfail/timeout/truncate are left for
// the server to act on. The checks of a spec live in spec.ts; the zone itself, its denial chain and its signing in
// zone.ts.
import { dsDigest, type KeyCounters, prepareKeyDir, zoneKey } from "./keys.js";
import { normalizeName } from "./names.js";
import { type Prepared, prepare } from "./spec.js";
import { type SignedTree, type SignedZone, ZoneError, type ZoneKeys, type ZoneSpec } from "./types.js";
import { type Answer, isInOrSelf, parentName } from "./wire.js";
import { TTL, Zone } from "./zone.js";

export interface BuildOptions {
  /** Where zone keys are cached (created 0700, private keys 0600); without it keys live in memory only. */
  dir?: string | undefined;
  /** The signing clock (inception/expiration are computed from it); default now. */
  now?: Date | undefined;
}

/** RFC 4035 §5.3.1: inception a little in the past absorbs clock skew; expiration some days ahead. */
const INCEPTION_SKEW_S = 3600;
const VALIDITY_S = 14 * 86400;

function addressRecord(name: string, address: string, ttl: number): Answer {
  return address.includes(":")
    ? { name, type: "AAAA", ttl, class: "IN", data: address }
    : { name, type: "A", ttl, class: "IN", data: address };
}

function dsPresentation(owner: string, ttl: number, keyTag: number, algorithm: number, digest: Buffer): string {
  return `${owner === "" ? "." : `${owner}.`} ${ttl} IN DS ${keyTag} ${algorithm} 2 ${digest.toString("hex").toUpperCase()}`;
}

/** Parent = the closest enclosing origin in the list; the list must contain "" (the lab's fake root). */
export async function buildTree(zones: ZoneSpec[], opts: BuildOptions = {}): Promise<SignedTree> {
  const started = performance.now();
  const prepared = new Map<string, Prepared>();
  for (const spec of zones) {
    const p = prepare(spec);
    if (prepared.has(p.origin)) {
      throw new ZoneError(`zone ${p.origin || "."} is listed twice; merge its records into one ZoneSpec`);
    }
    prepared.set(p.origin, { ...p, parent: undefined, children: [] });
  }
  if (!prepared.has("")) {
    throw new ZoneError('the zone list has no root zone (origin ""); the lab needs its own root to anchor DNSSEC');
  }
  for (const p of prepared.values()) {
    for (let n = parentName(p.origin); n !== undefined; n = parentName(n)) {
      const parent = prepared.get(n);
      if (parent) {
        p.parent = n;
        parent.children.push(p.origin);
        break;
      }
    }
  }

  // Keys first: a parent's DS needs the child's KSK.
  if (opts.dir !== undefined) prepareKeyDir(opts.dir);
  const counters: KeyCounters = { generated: 0, loaded: 0 };
  const keys = new Map<string, ZoneKeys>();
  await Promise.all(
    [...prepared.values()]
      .filter((p) => p.spec.signed)
      .map(async (p) => {
        const [ksk, zsk] = await Promise.all([
          zoneKey(p.origin, p.algorithm, "ksk", opts.dir, counters),
          zoneKey(p.origin, p.algorithm, "zsk", opts.dir, counters),
        ]);
        keys.set(p.origin, { ksk, zsk });
      }),
  );

  const fixedNow = opts.now?.getTime();
  const nowS = Math.floor((fixedNow ?? Date.now()) / 1000);
  const window = { inception: nowS - INCEPTION_SKEW_S, expiration: nowS + VALIDITY_S };
  // Expired well beyond validators' clock-skew allowance: unbound accepts a signature up to val-sig-skew-max (one day
  // by default) past its expiration, so a window ending just one day ago validates some of the time.
  const expired = { inception: nowS - 30 * 86400, expiration: nowS - 10 * 86400 };

  const built: Zone[] = [];
  let signatures = 0;
  for (const p of prepared.values()) {
    const where = `zone ${p.origin || "."}`;
    const zone = new Zone(
      p.origin,
      p.spec.signed,
      p.algorithm,
      p.parent,
      p.faults,
      p.children,
      keys.get(p.origin),
      p.spec.signed ? p.nsec3 : undefined,
    );
    const ns0 = p.nameservers[0]!.name;
    // RFC 1035 §3.3.13; serial = signing time in seconds (increases with every rebuild).
    zone.add({
      name: p.origin,
      type: "SOA",
      ttl: TTL.soa,
      class: "IN",
      data: {
        mname: ns0,
        rname: p.origin === "" ? "hostmaster" : `hostmaster.${p.origin}`,
        serial: nowS >>> 0,
        refresh: 3600,
        retry: 600,
        expire: 7 * 86400,
        minimum: TTL.negative,
      },
    });
    for (const ns of p.nameservers) zone.add({ name: p.origin, type: "NS", ttl: TTL.ns, class: "IN", data: ns.name });
    const k = keys.get(p.origin);
    if (k) {
      for (const key of [k.ksk, k.zsk])
        zone.add({ name: p.origin, type: "DNSKEY", ttl: TTL.dnskey, class: "IN", data: key.dnskey });
    }
    for (const rr of p.records) {
      const cut = zone.cutFor(rr.name);
      if (cut !== undefined) {
        throw new ZoneError(
          `${where}: the ${rr.type} record at ${rr.name} lies in the delegated zone ${cut}; put it in that zone's records`,
        );
      }
      zone.add(rr);
    }
    // Addresses of this zone's own name servers (authoritative data here when the name is in the zone, not below a cut).
    for (const ns of p.nameservers) {
      if (isInOrSelf(ns.name, p.origin) && zone.cutFor(ns.name) === undefined) {
        zone.add(addressRecord(ns.name, ns.address, TTL.glue));
      }
    }
    // Cuts: the child's NS RRset, glue for in-bailiwick name servers (RFC 1034 §4.2.1), the DS for a signed child.
    for (const childOrigin of p.children) {
      const child = prepared.get(childOrigin)!;
      for (const ns of child.nameservers) {
        zone.add({ name: childOrigin, type: "NS", ttl: TTL.ns, class: "IN", data: ns.name });
        if (isInOrSelf(ns.name, childOrigin)) zone.add(addressRecord(ns.name, ns.address, TTL.glue));
      }
      const ck = keys.get(childOrigin);
      if (ck) {
        const digest = dsDigest(childOrigin, ck.ksk.dnskey);
        // ds: "wrong" — a digest that matches no key of the child: the delegation becomes bogus (RFC 4035 §5.2).
        if (child.spec.ds === "wrong") for (let i = 0; i < digest.length; i++) digest[i] = digest[i]! ^ 0x5a;
        zone.add({
          name: childOrigin,
          type: "DS",
          ttl: TTL.ds,
          class: "IN",
          data: { keyTag: ck.ksk.keyTag, algorithm: ck.ksk.algorithm, digestType: 2, digest },
        });
      }
    }
    checkCnames(zone, where);
    zone.unifyTtls();
    for (const f of p.faults.filter((x) => x.kind === "rotate")) {
      if (zone.rrset(f.name, f.type).length < 2) {
        throw new ZoneError(
          `${where}: fault rotate names ${f.type} at ${f.name || "."}, which needs at least two records to take turns; ` +
            "add the other records or drop the fault",
        );
      }
      zone.rotate(f.name, f.type);
    }
    if (k && zone.nsec3) zone.buildNsec3Chain(zone.nsec3);
    else if (k) zone.buildNsecChain();
    zone.indexNames();

    // Signature faults of this zone, plus DS faults the children list for their own origin (the DS lives here).
    const sigFaults = [
      ...p.faults,
      ...p.children.flatMap((c) => prepared.get(c)!.faults.filter((f) => f.name === c && f.type === "DS")),
    ].filter((f) => f.kind === "bad-signature" || f.kind === "expired-signature");
    for (const f of sigFaults) {
      if (f.type === "DS" && f.name === p.origin) continue; // the DS is the parent's: signed (and broken) there
      if (!k || zone.rrset(f.name, f.type).length === 0) {
        throw new ZoneError(
          `${where}: fault ${f.kind} names ${f.type} at ${f.name || "."}, but ${
            k ? "the zone has no such RRset" : "the zone is unsigned"
          }; fix the fault's name/type or sign the zone`,
        );
      }
    }
    signatures += zone.sign(window, expired, (name, type) =>
      sigFaults.filter((f) => f.name === name && f.type === type).map((f) => f.kind),
    );
    built.push(zone);
  }

  // The trust anchor: the root's KSK, as DS and as DNSKEY (RFC 4034 §5.1, §2.2 presentation forms).
  const trustAnchors = { ds: [] as string[], dnskey: [] as string[] };
  const rootKeys = keys.get("");
  if (rootKeys) {
    const { ksk } = rootKeys;
    trustAnchors.ds.push(dsPresentation("", TTL.ds, ksk.keyTag, ksk.algorithm, dsDigest("", ksk.dnskey)));
    trustAnchors.dnskey.push(`. ${TTL.dnskey} IN DNSKEY 257 3 ${ksk.algorithm} ${ksk.dnskey.key.toString("base64")}`);
  }

  const stats = {
    keysGenerated: counters.generated,
    keysLoaded: counters.loaded,
    ms: Math.round(performance.now() - started),
    signatures,
  };
  const treeOf = (zones: SignedZone[]): SignedTree => {
    const byOrigin = new Map(zones.map((z) => [z.origin, z]));
    return {
      zones,
      trustAnchors,
      zoneFor(qname: string) {
        for (let n: string | undefined = normalizeName(qname); n !== undefined; n = parentName(n)) {
          const z = byOrigin.get(n);
          if (z) return z;
        }
        return undefined;
      },
      zone(origin: string) {
        return byOrigin.get(normalizeName(origin));
      },
      now: () => fixedNow ?? Date.now(),
      stats,
      atTurn: (turn: number) => (turn === 0 || !rotating ? tree : treeOf(built.map((z) => z.atTurn(turn)))),
    };
  };
  const rotating = [...prepared.values()].some((p) => p.faults.some((f) => f.kind === "rotate"));
  const tree = treeOf(built);
  return tree;
}

/** RFC 1034 §3.6.2 / RFC 2181 §10.1: a CNAME owner has no other data (DNSSEC records aside). */
function checkCnames(zone: Zone, where: string): void {
  for (const name of zone.names()) {
    const types = zone.typesAt(name);
    if (types.includes("CNAME") && types.length > 1) {
      throw new ZoneError(
        `${where}: ${name} has a CNAME and also ${types.filter((t) => t !== "CNAME").join(", ")}; a CNAME owner can hold nothing else`,
      );
    }
    if (zone.rrset(name, "CNAME").length > 1) {
      throw new ZoneError(`${where}: ${name} has more than one CNAME; keep one`);
    }
  }
}
