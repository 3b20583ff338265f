// The surface of zones/ (docs/contracts.md, "zones/"): what a zone is made of going in (ZoneSpec, ZoneFault), and what
// comes out (SignedTree, SignedZone, the answers of answerAuthoritative and resolveValidated).
import type { Algorithm, ZoneKey } from "./keys.js";
import type { Nsec3Params } from "./nsec3.js";
import type { Answer } from "./wire.js";

export type { Algorithm } from "./keys.js";
export type { Nsec3Params } from "./nsec3.js";
export type { Answer } from "./wire.js";

export interface ZoneSpec {
  /** "" (root), "lab.example", "ta-baseline.lab.example". */
  origin: string;
  /** MX, A, AAAA, CNAME, TXT, TLSA ...; SOA/NS/DNSKEY/NSEC/RRSIG and the DS/glue at cuts are generated. */
  records: Answer[];
  /** The NS RRset; glue is added in the parent when in-bailiwick. */
  nameservers: { name: string; address: string }[];
  /** false = unsigned zone (insecure delegation: the parent proves there is no DS). */
  signed: boolean;
  /** Default 13. */
  algorithm?: Algorithm | undefined;
  /** What the parent publishes for a signed child (default correct). */
  ds?: "correct" | "wrong" | undefined;
  faults?: ZoneFault[] | undefined;
  /** Authenticated denial of existence: NSEC (RFC 4034 §4, the default) or hashed NSEC3 (RFC 5155). */
  denial?: "nsec" | "nsec3" | undefined;
  /** NSEC3 parameters (with denial "nsec3"); defaults follow RFC 9276 §3.1: 0 iterations, no salt, no opt-out. */
  nsec3?: { iterations?: number | undefined; salt?: string | undefined; optOut?: boolean | undefined } | undefined;
}

export type ZoneFault =
  | { kind: "bad-signature"; name: string; type: string }
  | { kind: "expired-signature"; name: string; type: string }
  | { kind: "servfail"; name: string; type: string }
  | { kind: "timeout"; name: string; type: string }
  | { kind: "truncate-udp"; name: string; type: string }
  /**
   * The RRset's records take turns: each is an RRset of its own, signed on its own, and successive queries get the
   * next one (an `_mta-sts` TXT whose id changes between fetches, RFC 8461 §3.1). The server picks the turn.
   */
  | { kind: "rotate"; name: string; type: string };

export type Rcode = "NOERROR" | "NXDOMAIN" | "SERVFAIL" | "REFUSED";

export interface AuthoritativeAnswer {
  rcode: Rcode;
  aa: boolean;
  answers: Answer[];
  authorities: Answer[];
  additionals: Answer[];
  /** A fault configured for this name/type (servfail/timeout/truncate-udp change the server's behaviour). */
  fault?: ZoneFault;
}

export interface ValidatedAnswer {
  rcode: Rcode;
  status: "secure" | "insecure" | "bogus";
  /** The answer RRsets (CNAME chain included) with their RRSIGs. */
  answers: Answer[];
  /** For NXDOMAIN/NODATA: the SOA and the NSEC proofs with their RRSIGs. */
  authorities: Answer[];
  fault?: ZoneFault;
  /** Why the status is what it is, e.g. "RRSIG over TLSA at _25._tcp.mx.x.lab.example does not verify with key 12345". */
  why?: string;
}

/** A zone's public key material (the private keys stay inside zones/). */
export interface ZoneKeyInfo {
  flags: 256 | 257;
  algorithm: Algorithm;
  keyTag: number;
  /** DNSKEY public key field, base64. */
  publicKey: string;
}

export interface SignedZone {
  origin: string;
  signed: boolean;
  algorithm: Algorithm;
  /** The parent zone's origin; undefined for the root. */
  parent: string | undefined;
  /** Delegation points (child zone origins) in this zone. */
  cuts: string[];
  keys: ZoneKeyInfo[];
  faults: ZoneFault[];
  /** How the signed zone denies existence; "nsec" for an unsigned zone too (it has neither). */
  denial: "nsec" | "nsec3";
  /** The zone's NSEC3 parameters when denial is "nsec3". */
  nsec3: Nsec3Params | undefined;
  /** The RRset of `type` at `name` held in this zone (glue and the DS/NS at cuts included); [] when none. */
  rrset(name: string, type: string): Answer[];
  /** RRSIGs over the RRset of `type` at `name`. */
  signatures(name: string, type: string): Answer[];
  /** Types with data at `name` (RRSIG not listed). */
  typesAt(name: string): string[];
  /** The child origin whose cut holds `name` (name at or below it), if any. */
  cutFor(name: string): string | undefined;
  /** True when `name` owns records or is an empty non-terminal of this zone (RFC 4592 §2.2.2). */
  exists(name: string): boolean;
  /** The NSEC whose owner ≤ name < next in canonical order (RFC 4034 §4.1.1) — the one covering or matching name. */
  nsecFor(name: string): Answer | undefined;
  /** RFC 5155 §7.2: the NSEC3 whose hashed owner matches `name`, if the chain has one. */
  nsec3Match(name: string): Answer | undefined;
  /** RFC 5155 §7.2: the NSEC3 whose owner hash < H(name) < next hash (wrapping), when none matches. */
  nsec3Cover(name: string): Answer | undefined;
  /** Every record in canonical order (SOA first), RRSIGs after the RRset they cover. */
  records(): Answer[];
  /** RFC 1035 §5 presentation form, fully-qualified names (a rotating RRset shows its first turn). */
  toZoneFile(): string;
  /** The zone as served on the `turn`-th query of a rotating RRset: each one holds its (turn mod count)-th record. */
  atTurn(turn: number): SignedZone;
}

export interface SignedTree {
  zones: SignedZone[];
  /** Presentation form, for unbound / delv / BIND. */
  trustAnchors: { ds: string[]; dnskey: string[] };
  /** Closest enclosing zone (authoritative data lives there). */
  zoneFor(qname: string): SignedZone | undefined;
  /** The zone with exactly this origin. */
  zone(origin: string): SignedZone | undefined;
  /** Validation time: opts.now when given to buildTree, otherwise the wall clock at each call (ms since epoch). */
  now(): number;
  /** What building cost: key generation versus cached keys, milliseconds. */
  stats: { keysGenerated: number; keysLoaded: number; ms: number; signatures: number };
  /** The tree with every zone at atTurn(turn) (fault "rotate"); turn 0 is the tree itself. */
  atTurn(turn: number): SignedTree;
}

/** Internal: the private side of a zone, for signing only. */
export interface ZoneKeys {
  ksk: ZoneKey;
  zsk: ZoneKey;
}

/** Bad input to buildTree; the message names the zone and record and says what to change. */
export class ZoneError extends Error {
  override name = "ZoneError";
}
