// DNS wire forms for DNSSEC: owner names and RDATA in canonical form (RFC 4034 §6), canonical name order (§6.1),
// and the type numbers NSEC bitmaps and RRSIGs carry. dns-packet does the encoding; this module only lower-cases the
// names RFC 4034 §6.2 says to lower-case and strips dns-packet's RDLENGTH prefix.
import { createRequire } from "node:module";
import dnsPacket from "dns-packet";

export type Answer = dnsPacket.Answer;

interface RdataCodec {
  encode(data: unknown, buf?: Buffer, offset?: number): Buffer;
  decode(buf: Buffer, offset?: number): unknown;
}

/** The parts of dns-packet that its type declarations leave out. */
export const packet = dnsPacket as unknown as {
  name: { encode: ((name: string) => Buffer) & { bytes: number } };
  answer: { encode(rr: Answer): Buffer; decode(buf: Buffer): Answer };
  record(type: string): RdataCodec;
};

const require = createRequire(import.meta.url);
const types = require("dns-packet/types.js") as { toType(name: string): number; toString(code: number): string };

/** The numeric RR type ("TLSA" → 52); 0 for a mnemonic dns-packet does not know. */
export function typeCode(type: string): number {
  return types.toType(type.toUpperCase());
}

/** The mnemonic for a type number (52 → "TLSA"). */
export function typeName(code: number): string {
  return types.toString(code);
}

export function labels(name: string): string[] {
  return name === "" ? [] : name.split(".");
}

/** True when `name` equals `origin` or lies below it. */
export function isInOrSelf(name: string, origin: string): boolean {
  return origin === "" || name === origin || name.endsWith(`.${origin}`);
}

/** The parent name ("a.b" → "b", "b" → ""); undefined for the root. */
export function parentName(name: string): string | undefined {
  if (name === "") return undefined;
  const dot = name.indexOf(".");
  return dot < 0 ? "" : name.slice(dot + 1);
}

/**
 * RFC 4034 §6.1: canonical DNS name order — compare the labels from the rightmost one, each as a lower-cased octet
 * string; a name sorts after all its ancestors.
 */
export function compareNames(a: string, b: string): number {
  const la = labels(a.toLowerCase()).reverse();
  const lb = labels(b.toLowerCase()).reverse();
  const n = Math.min(la.length, lb.length);
  for (let i = 0; i < n; i++) {
    const c = Buffer.compare(Buffer.from(la[i]!, "latin1"), Buffer.from(lb[i]!, "latin1"));
    if (c !== 0) return c;
  }
  return la.length - lb.length;
}

/** Owner name in wire form, lower-cased (RFC 4034 §6.2 rule 2), uncompressed (rule 1). */
export function nameWire(name: string): Buffer {
  // dns-packet sizes the buffer for the root name one octet too long: keep only what it wrote.
  const buf = packet.name.encode(name.toLowerCase());
  return buf.subarray(0, packet.name.encode.bytes);
}

const lower = (s: string) => s.toLowerCase();

/**
 * RFC 4034 §6.2 rule 3 (as amended by RFC 6840 §5.1, which drops NSEC from the list): the domain names inside the RDATA
 * of these types are lower-cased in the canonical form. Only the types dns-packet can encode are listed.
 */
function canonicalData(type: string, data: unknown): unknown {
  switch (type) {
    case "NS":
    case "CNAME":
    case "PTR":
    case "DNAME":
      return lower(data as string);
    case "MX": {
      const d = data as { preference?: number; exchange: string };
      return { ...d, exchange: lower(d.exchange) };
    }
    case "SOA": {
      const d = data as { mname: string; rname: string };
      return { ...d, mname: lower(d.mname), rname: lower(d.rname) };
    }
    case "SRV": {
      const d = data as { target: string };
      return { ...d, target: lower(d.target) };
    }
    case "RRSIG": {
      const d = data as { signersName: string };
      return { ...d, signersName: lower(d.signersName) };
    }
    case "RP": {
      const d = data as { mbox: string; txt: string };
      return { ...d, mbox: lower(d.mbox), txt: lower(d.txt) };
    }
    case "NAPTR": {
      const d = data as { replacement: string };
      return { ...d, replacement: lower(d.replacement) };
    }
    default:
      return data;
  }
}

/**
 * dns-packet writes RDLENGTH + RDATA; its buffer can be longer than what it wrote (the root name is sized one octet too
 * long), so the RDLENGTH it wrote decides.
 */
function withoutLength(buf: Buffer): Buffer {
  return buf.subarray(2, 2 + buf.readUInt16BE(0));
}

/** The RDATA of a record in canonical form (RFC 4034 §6.2), without the RDLENGTH prefix dns-packet writes. */
export function canonicalRdata(rr: Answer): Buffer {
  const data = canonicalData(rr.type, (rr as { data: unknown }).data);
  return withoutLength(packet.record(rr.type).encode(data));
}

/** RDATA as stored (no lower-casing) — for the zone file's RFC 3597 generic form. */
export function rdataWire(rr: Answer): Buffer {
  return withoutLength(packet.record(rr.type).encode((rr as { data: unknown }).data));
}

export function ttlOf(rr: Answer): number {
  return (rr as { ttl?: number }).ttl ?? 0;
}

export function dataOf<T>(rr: Answer): T {
  return (rr as unknown as { data: T }).data;
}
