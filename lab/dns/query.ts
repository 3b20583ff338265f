// Reading one DNS query off the wire, defensively. Anything a client sends reaches this code — stub resolvers,
// unbound, and the garbage test's bit-flipped and truncated packets — so it decides, without ever throwing, between:
// a query to answer, a header-only error reply (FORMERR/NOTIMP with the id echoed), or silence (not even a header).
// The wire format itself is decoded by dns-packet; this module adds the checks dns-packet leaves to the caller.
import dnsPacket from "dns-packet";

/** RFC 1035 §4.1.1 header bits. */
export const QR = 0x8000;
export const AA = 0x0400;
export const TC = 0x0200;
export const RD = 0x0100;
export const RA = 0x0080;
export const AD = 0x0020;
export const CD = 0x0010;

/** RFC 1035 §4.1.1 / RFC 6895 §2.3 response codes (low 4 bits of the header; BADVERS lives in OPT). */
export const RCODE = {
  NOERROR: 0,
  FORMERR: 1,
  SERVFAIL: 2,
  NXDOMAIN: 3,
  NOTIMP: 4,
  REFUSED: 5,
  BADVERS: 16,
} as const;
const RCODE_NAMES: Record<number, string> = Object.fromEntries(Object.entries(RCODE).map(([k, v]) => [v, k]));

export function rcodeName(code: number): string {
  return RCODE_NAMES[code] ?? `RCODE${code}`;
}

/** Accepts dns-packet's rcode strings ("NXDOMAIN") or numbers. */
export function rcodeNumber(rcode: string | number | undefined): number {
  if (rcode === undefined) return 0;
  if (typeof rcode === "number") return rcode;
  const n = (RCODE as Record<string, number>)[rcode.toUpperCase()];
  return n ?? RCODE.SERVFAIL;
}

/** RFC 6891 §6.2.3: the largest UDP answer the lab sends; 1232 is the DNS Flag Day 2020 value that avoids IP fragments. */
export const MAX_UDP_PAYLOAD = 1232;
/** RFC 1035 §4.2.1: UDP messages without EDNS are limited to 512 octets. */
export const CLASSIC_UDP_PAYLOAD = 512;

export interface ParsedQuery {
  kind: "query";
  id: number;
  /** Header flags of the query (RD, CD, AD are what matter). */
  flags: number;
  rd: boolean;
  cd: boolean;
  /** The AD bit in a query asks for AD in the answer (RFC 6840 §5.7). */
  ad: boolean;
  /** The question exactly as sent (name case preserved), to echo in the answer (RFC 1035 §4.1.2). */
  question: Buffer;
  /** Lower-case, no trailing dot, root = "" (dns-packet's convention). */
  name: string;
  qtype: number;
  /** dns-packet's type name: "TLSA", "A", … or "UNKNOWN_65280". */
  type: string;
  qclass: number;
  /** The query carried an OPT record (RFC 6891 §6.1.1). */
  edns: boolean;
  /** DNSSEC OK bit from the OPT record (RFC 3225 §3). */
  dnssecOk: boolean;
  /** The requested UDP payload size, clamped to [512, MAX_UDP_PAYLOAD] (RFC 6891 §6.2.5); 512 without EDNS. */
  udpPayload: number;
  /** EDNS version above 0: answer BADVERS (RFC 6891 §6.1.3). */
  badVersion: boolean;
}

/** Reply with only a header: the question could not be read, but the header could (id echoed, QR set). */
export interface HeaderOnlyReply {
  kind: "header-reply";
  id: number;
  flags: number;
  rcode: number;
  why: string;
}

export interface Silence {
  kind: "drop";
  why: string;
}

export type QueryParse = ParsedQuery | HeaderOnlyReply | Silence;

/** The smallest question (root name, type, class) and the smallest resource record (root name + 10 octets). */
const MIN_QUESTION = 5;
const MIN_RR = 11;

export function parseQuery(msg: Buffer): QueryParse {
  // RFC 1035 §4.1.1: without 12 octets there is no id to echo; a reply could not be matched by anyone.
  if (msg.length < 12) return { kind: "drop", why: "shorter than a DNS header" };
  const id = msg.readUInt16BE(0);
  const flags = msg.readUInt16BE(2);
  // Never answer a response: two servers would bounce packets at each other forever.
  if (flags & QR) return { kind: "drop", why: "QR=1 (a response, not a query)" };
  const formerr = (why: string): HeaderOnlyReply => ({ kind: "header-reply", id, flags, rcode: RCODE.FORMERR, why });
  const opcode = (flags >> 11) & 0xf;
  // RFC 1035 §4.1.1: only standard queries (opcode 0); NOTIFY, UPDATE, IQUERY are not implemented here.
  if (opcode !== 0) return { kind: "header-reply", id, flags, rcode: RCODE.NOTIMP, why: `opcode ${opcode}` };
  const qdcount = msg.readUInt16BE(4);
  const ancount = msg.readUInt16BE(6);
  const nscount = msg.readUInt16BE(8);
  const arcount = msg.readUInt16BE(10);
  // Absurd counts are refused before dns-packet allocates arrays of that length.
  if (qdcount * MIN_QUESTION + (ancount + nscount + arcount) * MIN_RR > msg.length - 12) {
    return formerr("section counts larger than the message");
  }
  // RFC 9619: a query carries exactly one question.
  if (qdcount !== 1) return formerr(`QDCOUNT ${qdcount}`);
  if (ancount !== 0 || nscount !== 0) return formerr("answer/authority records in a query");

  // The question's name must be plain labels: a compression pointer in the first name can only point into the header.
  let off = 12;
  for (let labels = 0; ; labels++) {
    if (off >= msg.length || labels > 127) return formerr("question name runs past the message");
    const len = msg[off] as number;
    if (len === 0) {
      off += 1;
      break;
    }
    if ((len & 0xc0) !== 0) return formerr("compression pointer or extended label in the question name");
    off += 1 + len;
  }
  if (off + 4 > msg.length) return formerr("question cut short");
  if (off - 12 > 255) return formerr("question name longer than 255 octets (RFC 1035 §2.3.4)");
  const question = msg.subarray(12, off + 4);
  const qtype = msg.readUInt16BE(off);
  const qclass = msg.readUInt16BE(off + 2);

  let decoded: dnsPacket.DecodedPacket;
  try {
    decoded = dnsPacket.decode(msg);
  } catch (err) {
    return formerr(`undecodable: ${(err as Error).message}`);
  }
  const q = decoded.questions?.[0];
  if (!q || typeof q.name !== "string") return formerr("no question");
  const name = q.name === "." ? "" : q.name.toLowerCase();

  let edns = false;
  let dnssecOk = false;
  let udpPayload = CLASSIC_UDP_PAYLOAD;
  let badVersion = false;
  for (const rr of decoded.additionals ?? []) {
    if (rr.type !== "OPT") continue;
    // RFC 6891 §6.1.1: more than one OPT, or an OPT whose owner is not the root, is a format error.
    if (edns) return formerr("more than one OPT record (RFC 6891 §6.1.1)");
    if (rr.name !== "." && rr.name !== "") return formerr("OPT record not owned by the root (RFC 6891 §6.1.2)");
    edns = true;
    const opt = rr as dnsPacket.OptAnswer & { ednsVersion?: number };
    // RFC 3225 §3: DO is the top bit of the OPT TTL's flag half.
    dnssecOk = ((opt.flags ?? 0) & 0x8000) !== 0;
    // RFC 6891 §6.2.5: sizes below 512 are treated as 512; the lab never sends more than MAX_UDP_PAYLOAD.
    udpPayload = Math.min(Math.max(opt.udpPayloadSize ?? CLASSIC_UDP_PAYLOAD, CLASSIC_UDP_PAYLOAD), MAX_UDP_PAYLOAD);
    badVersion = (opt.ednsVersion ?? 0) > 0;
  }

  return {
    kind: "query",
    id,
    flags,
    rd: (flags & RD) !== 0,
    cd: (flags & CD) !== 0,
    ad: (flags & AD) !== 0,
    question,
    name,
    qtype,
    type: q.type,
    qclass,
    edns,
    dnssecOk,
    udpPayload,
    badVersion,
  };
}

/** A 12-octet reply to a query whose header was readable: id, opcode and RD echoed, QR set, counts zero. */
export function headerOnlyReply(r: HeaderOnlyReply): Buffer {
  const buf = Buffer.alloc(12);
  buf.writeUInt16BE(r.id, 0);
  buf.writeUInt16BE(QR | (r.flags & (0x7800 | RD | CD)) | (r.rcode & 0xf), 2);
  return buf;
}
