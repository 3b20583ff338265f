// One zone of the lab's tree as it is built and then served: its RRsets and signatures by owner and type, the cuts
// (delegations) inside it, the lookups the authoritative answerer needs (RRset, cut, NSEC/NSEC3 match and cover), and
// the build steps that need the zone's whole contents — TTL unification (RFC 2181 §5.2), the NSEC chain (RFC 4034 §4,
// RFC 4035 §2.3) or the NSEC3 chain (RFC 5155 §7.1), and signing every authoritative RRset (RFC 4035 §2.2). buildTree
// (tree.ts) fills it.
import type { Algorithm, ZoneKey } from "./keys.js";
import { hashCovers, NSEC3_SHA1, type Nsec3Params, nsec3Hash, nsec3Owner, OPT_OUT_FLAG } from "./nsec3.js";
import { signRRset } from "./sign.js";
import type { SignedZone, ZoneFault, ZoneKeyInfo, ZoneKeys } from "./types.js";
import { type Answer, canonicalRdata, compareNames, dataOf, parentName, ttlOf, typeCode } from "./wire.js";
import { zoneFileText } from "./zonefile.js";

/** TTLs of the generated records; the SOA minimum is the negative-caching TTL (RFC 2308 §4) and the NSEC TTL. */
export const TTL = { soa: 3600, ns: 3600, dnskey: 3600, ds: 3600, glue: 3600, negative: 300 };

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

export interface Window {
  inception: number;
  expiration: number;
}

export class Zone implements SignedZone {
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
  /** Fault "rotate": per "name|TYPE", each record alone with its own RRSIGs, served in turn (first turn in `data`). */
  private readonly turns = new Map<string, { rrset: Answer[]; sigs: Answer[] }[]>();

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

  /**
   * Fault "rotate": the RRset of `type` at `name` is split into one-record RRsets that take turns; the zone keeps the
   * first as its own (so the NSEC bitmap, the zone file and turn 0 show it) and sign() signs each one apart.
   */
  rotate(name: string, type: string): void {
    const records = this.rrset(name, type);
    this.turns.set(
      `${name}|${type}`,
      records.map((rr) => ({ rrset: [rr], sigs: [] })),
    );
    this.data.get(name)!.set(type, records.slice(0, 1));
  }

  atTurn(turn: number): SignedZone {
    if (this.turns.size === 0) return this;
    const pick = (name: string, type: string) => {
      const all = this.turns.get(`${name}|${type.toUpperCase()}`);
      return all?.[turn % all.length];
    };
    // A view: the same zone, with rotating RRsets (and their RRSIGs) swapped for this turn's.
    const view = Object.create(this) as Zone;
    view.rrset = (name, type) => pick(name, type)?.rrset ?? this.rrset(name, type);
    view.signatures = (name, type) => pick(name, type)?.sigs ?? this.signatures(name, type);
    return view;
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
        const signOne = (rrset: Answer[]) => {
          const rrsig = signRRset(rrset, key, this.origin, kinds.includes("expired-signature") ? expired : window);
          if (kinds.includes("bad-signature")) {
            const sig = dataOf<{ signature: Buffer }>(rrsig).signature;
            sig[sig.length >> 1] = (sig[sig.length >> 1] ?? 0) ^ 0xff;
          }
          count++;
          return rrsig;
        };
        let byType = this.sigs.get(name);
        if (!byType) {
          byType = new Map();
          this.sigs.set(name, byType);
        }
        byType.set(type, [signOne(this.rrset(name, type))]);
        // Fault "rotate": every turn is an RRset of its own and carries its own RRSIG (RFC 4034 §3: one per RRset).
        const turns = this.turns.get(`${name}|${type}`);
        if (turns) {
          turns[0]!.sigs = byType.get(type)!;
          for (const t of turns.slice(1)) t.sigs = [signOne(t.rrset)];
        }
      }
    }
    for (const { record } of this.nsec3Chain) {
      this.sigs.set(record.name, new Map([["NSEC3", [signRRset([record], keys.zsk, this.origin, window)]]]));
      count++;
    }
    return count;
  }
}
