// buildTree: from a list of zone specs (the lab's fake root "", the suffix zone, one child per scenario) to signed
// zones. Each zone gets its SOA and NS RRset, addresses for in-zone name servers, at every cut the child's NS RRset,
// glue and — for a signed child — its DS (RFC 4034 §5); a signed zone also gets DNSKEY (KSK 257 + ZSK 256), the NSEC
// chain (RFC 4034 §4, RFC 4035 §2.3) and RRSIGs over every authoritative RRset (RFC 4035 §2.2). Faults are data: a
// broken or expired signature is made here; servfail/timeout/truncate are left for the server to act on.
import { type Algorithm, dsDigest, type KeyCounters, prepareKeyDir, type ZoneKey, zoneKey } from "./keys.js";
import { signRRset } from "./sign.js";
import {
  type SignedTree,
  type SignedZone,
  ZoneError,
  type ZoneFault,
  type ZoneKeyInfo,
  type ZoneKeys,
  type ZoneSpec,
} from "./types.js";
import {
  type Answer,
  canonicalRdata,
  compareNames,
  dataOf,
  isInOrSelf,
  normalizeName,
  parentName,
  ttlOf,
  typeCode,
} from "./wire.js";
import { zoneFileText } from "./zonefile.js";

export interface BuildOptions {
  /** Where zone keys are cached (created 0700, private keys 0600); without it keys live in memory only. */
  dir?: string | undefined;
  /** The signing clock (inception/expiration are computed from it); default now. */
  now?: Date | undefined;
}

/** TTLs of the generated records; the SOA minimum is the negative-caching TTL (RFC 2308 §4) and the NSEC TTL. */
const TTL = { soa: 3600, ns: 3600, dnskey: 3600, ds: 3600, glue: 3600, negative: 300 };
/** RFC 4035 §5.3.1: inception a little in the past absorbs clock skew; expiration some days ahead. */
const INCEPTION_SKEW_S = 3600;
const VALIDITY_S = 14 * 86400;

/** Types the zone builder generates itself; a spec listing them is an error. */
const GENERATED = new Set(["SOA", "NS", "DNSKEY", "NSEC", "NSEC3", "NSEC3PARAM", "RRSIG", "DS"]);

/** Names in record data, normalised like owner names. */
function normalizeRecord(rr: Answer, origin: string): Answer {
  const name = normalizeName(rr.name);
  const out = { ...rr, name, class: "IN", ttl: (rr as { ttl?: number }).ttl ?? 300 } as Answer & { data: unknown };
  const data = (rr as { data: unknown }).data;
  switch (rr.type) {
    case "TXT":
      // dns-packet turns the strings of a TXT array into Buffers in place: keep the caller's array as it was.
      if (Array.isArray(data)) out.data = [...data];
      break;
    case "CNAME":
    case "DNAME":
    case "PTR":
    case "NS":
      out.data = normalizeName(data as string);
      break;
    case "MX":
      out.data = { ...(data as object), exchange: normalizeName((data as { exchange: string }).exchange) };
      break;
    case "SRV":
      out.data = { ...(data as object), target: normalizeName((data as { target: string }).target) };
      break;
  }
  try {
    canonicalRdata(out);
  } catch (err) {
    throw new ZoneError(
      `zone ${origin || "."}: the ${rr.type} record at ${name || "."} cannot be encoded (${(err as Error).message}); ` +
        "check its data field against dns-packet's record format",
    );
  }
  return out;
}

function normalizeFault(f: ZoneFault): ZoneFault {
  return { ...f, name: normalizeName(f.name), type: f.type.toUpperCase() };
}

type RRsets = Map<string, Map<string, Answer[]>>;

function put(map: RRsets, rr: Answer): void {
  let byType = map.get(rr.name);
  if (!byType) {
    byType = new Map();
    map.set(rr.name, byType);
  }
  const list = byType.get(rr.type);
  if (!list) {
    byType.set(rr.type, [rr]);
    return;
  }
  // RFC 2181 §5: an RRset holds no duplicate records.
  const wire = canonicalRdata(rr);
  if (!list.some((x) => canonicalRdata(x).equals(wire))) list.push(rr);
}

const byTypeCode = (a: string, b: string) => typeCode(a) - typeCode(b);

class Zone implements SignedZone {
  readonly cuts: string[];
  readonly keys: ZoneKeyInfo[];
  private readonly data: RRsets = new Map();
  private readonly sigs: RRsets = new Map();
  private readonly cutSet: Set<string>;
  private readonly existing = new Set<string>();
  private nsecOwners: string[] = [];

  constructor(
    readonly origin: string,
    readonly signed: boolean,
    readonly algorithm: Algorithm,
    readonly parent: string | undefined,
    readonly faults: ZoneFault[],
    cuts: string[],
    private readonly zoneKeys: ZoneKeys | undefined,
  ) {
    this.cuts = [...cuts].sort(compareNames);
    this.cutSet = new Set(cuts);
    this.keys = zoneKeys
      ? [zoneKeys.ksk, zoneKeys.zsk].map((k) => ({
          flags: k.flags,
          algorithm: k.algorithm,
          keyTag: k.keyTag,
          publicKey: k.dnskey.key.toString("base64"),
        }))
      : [];
  }

  add(rr: Answer): void {
    put(this.data, rr);
  }

  rrset(name: string, type: string): Answer[] {
    return this.data.get(name)?.get(type.toUpperCase()) ?? [];
  }

  signatures(name: string, type: string): Answer[] {
    return this.sigs.get(name)?.get(type.toUpperCase()) ?? [];
  }

  typesAt(name: string): string[] {
    return [...(this.data.get(name)?.keys() ?? [])].sort(byTypeCode);
  }

  cutFor(name: string): string | undefined {
    // Walk up from name towards the origin; the first cut met is the one that holds it.
    for (let n: string | undefined = name; n !== undefined && n !== this.origin; n = parentName(n)) {
      if (this.cutSet.has(n)) return n;
      if (n === "") break;
    }
    return undefined;
  }

  exists(name: string): boolean {
    return this.existing.has(name);
  }

  nsecFor(name: string): Answer | undefined {
    const owners = this.nsecOwners;
    if (owners.length === 0) return undefined;
    // The last owner ≤ name; every name of the zone sorts after the origin, the first owner.
    let lo = 0;
    let hi = owners.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (compareNames(owners[mid]!, name) <= 0) lo = mid;
      else hi = mid - 1;
    }
    return this.rrset(owners[lo]!, "NSEC")[0];
  }

  names(): string[] {
    return [...this.data.keys()].sort(compareNames);
  }

  records(): Answer[] {
    const out: Answer[] = [];
    for (const name of this.names()) {
      const types = this.typesAt(name);
      // The SOA opens the zone file (RFC 1035 §5.2).
      if (name === this.origin) types.sort((a, b) => (a === "SOA" ? -1 : b === "SOA" ? 1 : byTypeCode(a, b)));
      for (const type of types) {
        out.push(...this.rrset(name, type), ...this.signatures(name, type));
      }
    }
    return out;
  }

  toZoneFile(): string {
    return zoneFileText(this);
  }

  /** RFC 2181 §5.2: all records of an RRset carry the same TTL — the smallest given. */
  unifyTtls(): void {
    for (const byType of this.data.values()) {
      for (const list of byType.values()) {
        const ttl = Math.min(...list.map(ttlOf));
        for (const rr of list) (rr as { ttl?: number }).ttl = ttl;
      }
    }
  }

  /** Names that exist, empty non-terminals included (RFC 4592 §2.2.2), for NXDOMAIN versus NODATA. */
  indexNames(): void {
    for (const name of this.data.keys()) {
      for (let n: string | undefined = name; n !== undefined; n = parentName(n)) {
        this.existing.add(n);
        if (n === this.origin) break;
      }
    }
  }

  /**
   * RFC 4034 §4 and RFC 4035 §2.3: one NSEC per authoritative name and per delegation point, in canonical order, the
   * last pointing back at the origin; glue below a cut gets none. Type bitmap (RFC 4034 §4.1.2): the types present
   * plus NSEC and RRSIG; at a cut only NS, DS (when present), NSEC and RRSIG (RFC 4035 §2.3).
   */
  buildNsecChain(): void {
    const owners = this.names().filter((n) => this.cutSet.has(n) || this.cutFor(n) === undefined);
    this.nsecOwners = owners;
    owners.forEach((owner, i) => {
      const next = owners[(i + 1) % owners.length]!;
      let types = this.typesAt(owner);
      if (this.cutSet.has(owner)) types = types.filter((t) => t === "NS" || t === "DS");
      const rrtypes = [...new Set([...types, "NSEC", "RRSIG"])].sort(byTypeCode);
      this.add({ name: owner, type: "NSEC", ttl: TTL.negative, class: "IN", data: { nextDomain: next, rrtypes } });
    });
  }

  /**
   * RFC 4035 §2.2: every authoritative RRset is signed — DNSKEY by the KSK, the rest by the ZSK; at a cut only DS and
   * NSEC (the NS RRset there and glue are not authoritative). Faults: expired = a window in the past; bad = a
   * signature with one octet flipped, so it cannot verify.
   */
  sign(window: Window, expired: Window, faultFor: (name: string, type: string) => ZoneFault["kind"][]): number {
    const keys = this.zoneKeys;
    if (!keys) return 0;
    let count = 0;
    for (const name of this.names()) {
      const cut = this.cutFor(name);
      if (cut !== undefined && cut !== name) continue;
      for (const type of this.typesAt(name)) {
        if (cut !== undefined && type !== "DS" && type !== "NSEC") continue;
        const kinds = faultFor(name, type);
        const key: ZoneKey = type === "DNSKEY" ? keys.ksk : keys.zsk;
        const rrsig = signRRset(
          this.rrset(name, type),
          key,
          this.origin,
          kinds.includes("expired-signature") ? expired : window,
        );
        if (kinds.includes("bad-signature")) {
          const sig = dataOf<{ signature: Buffer }>(rrsig).signature;
          sig[sig.length >> 1] = (sig[sig.length >> 1] ?? 0) ^ 0xff;
        }
        let byType = this.sigs.get(name);
        if (!byType) {
          byType = new Map();
          this.sigs.set(name, byType);
        }
        byType.set(type, [rrsig]);
        count++;
      }
    }
    return count;
  }
}

interface Window {
  inception: number;
  expiration: number;
}

interface Prepared {
  spec: ZoneSpec;
  origin: string;
  records: Answer[];
  nameservers: { name: string; address: string }[];
  faults: ZoneFault[];
  algorithm: Algorithm;
  parent: string | undefined;
  children: string[];
}

function prepare(spec: ZoneSpec): Omit<Prepared, "parent" | "children"> {
  const origin = normalizeName(spec.origin);
  const where = `zone ${origin || "."}`;
  const algorithm = spec.algorithm ?? 13;
  if (![8, 13, 15].includes(algorithm)) {
    throw new ZoneError(
      `${where}: algorithm ${algorithm} is not supported; use 8 (RSASHA256), 13 (ECDSAP256SHA256) or 15 (ED25519)`,
    );
  }
  if (!spec.nameservers?.length) {
    throw new ZoneError(`${where}: no name servers; give at least one { name, address } in nameservers`);
  }
  const records = (spec.records ?? []).map((rr) => normalizeRecord(rr, origin));
  for (const rr of records) {
    if (!isInOrSelf(rr.name, origin)) {
      throw new ZoneError(
        `${where}: the ${rr.type} record at ${rr.name || "."} lies outside the zone; move it to the zone that holds that name`,
      );
    }
    if (GENERATED.has(rr.type)) {
      throw new ZoneError(
        `${where}: ${rr.type} records are generated (found one at ${rr.name || "."}); remove it from the records`,
      );
    }
  }
  return {
    spec,
    origin,
    records,
    nameservers: spec.nameservers.map((ns) => ({ name: normalizeName(ns.name), address: ns.address })),
    faults: (spec.faults ?? []).map(normalizeFault),
    algorithm,
  };
}

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
    const zone = new Zone(p.origin, p.spec.signed, p.algorithm, p.parent, p.faults, p.children, keys.get(p.origin));
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
    if (k) zone.buildNsecChain();
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

  const byOrigin = new Map(built.map((z) => [z.origin, z as SignedZone]));
  return {
    zones: built,
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
    stats: {
      keysGenerated: counters.generated,
      keysLoaded: counters.loaded,
      ms: Math.round(performance.now() - started),
      signatures,
    },
  };
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
