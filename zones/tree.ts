// buildTree: from a list of zone specs (the lab's fake root "", the suffix zone, one child per scenario) to signed
// zones. Each zone gets its SOA and NS RRset, addresses for in-zone name servers, at every cut the child's NS RRset,
// glue and — for a signed child — its DS (RFC 4034 §5); a signed zone also gets DNSKEY (KSK 257 + ZSK 256), the NSEC
// chain (RFC 4034 §4, RFC 4035 §2.3) or the NSEC3 chain (RFC 5155 §7.1) and RRSIGs over every authoritative RRset (RFC 4035 §2.2). Faults are data: a
// broken or expired signature is made here; servfail/timeout/truncate are left for the server to act on.
import {
  ALGORITHM_NAMES,
  type Algorithm,
  dsDigest,
  type KeyCounters,
  prepareKeyDir,
  type ZoneKey,
  zoneKey,
} from "./keys.js";
import { hashCovers, NSEC3_SHA1, type Nsec3Params, nsec3Hash, nsec3Owner, OPT_OUT_FLAG } from "./nsec3.js";
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
  /** RFC 5155: the NSEC3 chain in hash order (kept apart from the names: a hashed owner is not a name of the zone). */
  private nsec3Chain: { hash: Buffer; record: Answer }[] = [];
  private readonly nsec3ByOwner = new Map<string, Answer>();

  constructor(
    readonly origin: string,
    readonly signed: boolean,
    readonly algorithm: Algorithm,
    readonly parent: string | undefined,
    readonly faults: ZoneFault[],
    cuts: string[],
    private readonly zoneKeys: ZoneKeys | undefined,
    readonly nsec3: Nsec3Params | undefined,
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

  get denial(): "nsec" | "nsec3" {
    return this.nsec3 ? "nsec3" : "nsec";
  }

  add(rr: Answer): void {
    put(this.data, rr);
  }

  rrset(name: string, type: string): Answer[] {
    const t = type.toUpperCase();
    if (t === "NSEC3") {
      const rr = this.nsec3ByOwner.get(name);
      return rr ? [rr] : [];
    }
    return this.data.get(name)?.get(t) ?? [];
  }

  nsec3Match(name: string): Answer | undefined {
    if (!this.nsec3) return undefined;
    return this.nsec3ByOwner.get(nsec3Owner(name, this.origin, this.nsec3));
  }

  nsec3Cover(name: string): Answer | undefined {
    if (!this.nsec3 || this.nsec3Chain.length === 0) return undefined;
    const hash = nsec3Hash(name, this.nsec3.salt, this.nsec3.iterations);
    const chain = this.nsec3Chain;
    // The last link whose hash is below `hash`; below the first link, the last one wraps around (RFC 5155 §8.3).
    let lo = -1;
    let hi = chain.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (Buffer.compare(chain[mid]!.hash, hash) < 0) lo = mid;
      else hi = mid - 1;
    }
    const link = chain[lo < 0 ? chain.length - 1 : lo]!;
    if (link.hash.equals(hash)) return undefined;
    const next = dataOf<{ nextDomain: Buffer }>(link.record).nextDomain;
    return hashCovers(link.hash, next, hash) ? link.record : undefined;
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
    for (const { record } of this.nsec3Chain) out.push(record, ...this.signatures(record.name, "NSEC3"));
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
   * RFC 5155 §7.1: one NSEC3 per authoritative name, per delegation point and per empty non-terminal, owned by the
   * Base32hex hash of the name, linked in hash order (the last back to the first). Type bitmap: the types present
   * plus RRSIG when the name holds signed RRsets (none for an empty non-terminal or an unsigned delegation); at a cut
   * NS and DS. With Opt-Out (§6, §7.1) unsigned delegations get no NSEC3 and every NSEC3 carries the Opt-Out flag.
   * The apex holds NSEC3PARAM (§4) with the same parameters (flags 0).
   */
  buildNsec3Chain(p: Nsec3Params): void {
    const param = Buffer.alloc(5 + p.salt.length);
    param.writeUInt8(NSEC3_SHA1, 0);
    param.writeUInt8(0, 1);
    param.writeUInt16BE(p.iterations, 2);
    param.writeUInt8(p.salt.length, 4);
    p.salt.copy(param, 5);
    this.add({ name: this.origin, type: "NSEC3PARAM", ttl: TTL.negative, class: "IN", data: param } as Answer);
    const unsignedCut = (n: string) => this.cutSet.has(n) && this.rrset(n, "DS").length === 0;
    const originals = new Set<string>();
    for (const name of this.names()) {
      if (!this.cutSet.has(name) && this.cutFor(name) !== undefined) continue; // glue below a cut
      if (p.optOut && unsignedCut(name)) continue;
      for (let n: string | undefined = name; n !== undefined; n = parentName(n)) {
        originals.add(n);
        if (n === this.origin) break;
      }
    }
    const links = [...originals]
      .map((name) => ({ name, hash: nsec3Hash(name, p.salt, p.iterations) }))
      .sort((a, b) => Buffer.compare(a.hash, b.hash));
    this.nsec3Chain = links.map(({ name, hash }, i) => {
      let types = this.typesAt(name);
      if (this.cutSet.has(name)) types = types.filter((t) => t === "NS" || t === "DS");
      const signedHere = types.length > 0 && !unsignedCut(name);
      const rrtypes = [...new Set([...types, ...(signedHere ? ["RRSIG"] : [])])].sort(byTypeCode);
      const record = {
        name: nsec3Owner(name, this.origin, p),
        type: "NSEC3",
        ttl: TTL.negative,
        class: "IN",
        data: {
          algorithm: NSEC3_SHA1,
          flags: p.optOut ? OPT_OUT_FLAG : 0,
          iterations: p.iterations,
          salt: p.salt,
          nextDomain: links[(i + 1) % links.length]!.hash,
          rrtypes,
        },
      } as Answer;
      this.nsec3ByOwner.set(record.name, record);
      return { hash, record };
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
    for (const { record } of this.nsec3Chain) {
      this.sigs.set(record.name, new Map([["NSEC3", [signRRset([record], keys.zsk, this.origin, window)]]]));
      count++;
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
  nsec3: Nsec3Params | undefined;
  parent: string | undefined;
  children: string[];
}

function prepare(spec: ZoneSpec): Omit<Prepared, "parent" | "children"> {
  const origin = normalizeName(spec.origin);
  const where = `zone ${origin || "."}`;
  const algorithm = spec.algorithm ?? 13;
  if (!Object.keys(ALGORITHM_NAMES).map(Number).includes(algorithm)) {
    throw new ZoneError(
      `${where}: algorithm ${algorithm} is not supported; use 8 (RSASHA256), 13 (ECDSAP256SHA256), 15 (ED25519) or 1 (RSAMD5, which validators do not implement)`,
    );
  }
  if (!spec.nameservers?.length) {
    throw new ZoneError(`${where}: no name servers; give at least one { name, address } in nameservers`);
  }
  const nsec3 = nsec3Params(spec, where);
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
    nsec3,
  };
}

/** The NSEC3 parameters of a spec (RFC 5155 §3.1): iterations 0–65535 (16 bits), salt 0–255 octets of hex. */
function nsec3Params(spec: ZoneSpec, where: string): Nsec3Params | undefined {
  const denial = spec.denial ?? "nsec";
  if (denial !== "nsec" && denial !== "nsec3") {
    throw new ZoneError(`${where}: denial "${String(denial)}" is unknown; use "nsec" or "nsec3"`);
  }
  if (denial === "nsec") {
    if (spec.nsec3 !== undefined) {
      throw new ZoneError(`${where}: nsec3 parameters are given but denial is "nsec"; set denial: "nsec3"`);
    }
    return undefined;
  }
  const iterations = spec.nsec3?.iterations ?? 0;
  if (!Number.isInteger(iterations) || iterations < 0 || iterations > 65535) {
    throw new ZoneError(`${where}: NSEC3 iterations ${iterations} is not an integer from 0 to 65535 (RFC 5155 §3.1.3)`);
  }
  const saltText = (spec.nsec3?.salt ?? "").replace(/^-$/, "");
  if (!/^([0-9a-fA-F]{2}){0,255}$/.test(saltText)) {
    throw new ZoneError(
      `${where}: NSEC3 salt "${saltText}" is not 0 to 255 octets of hex (RFC 5155 §3.3); write e.g. "aabbccdd", or "" for none`,
    );
  }
  return { iterations, salt: Buffer.from(saltText, "hex"), optOut: spec.nsec3?.optOut ?? false };
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
