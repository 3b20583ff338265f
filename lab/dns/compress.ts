// Record sections with RFC 1035 §4.1.4 name compression. dns-packet encodes every name in full; real servers point
// repeated owner names back at the question, which keeps a 9- or 14-record TLSA RRset under the 1232-octet UDP limit
// instead of forcing every client through TC and a TCP retry. Only owner names are compressed: names inside RDATA are
// left as dns-packet writes them (RFC 3597 §4 forbids compression in RDATA of types defined after RFC 1035, and
// RFC 4034 §6.2 keeps RRSIG signer and NSEC next names uncompressed).
import dnsPacket from "dns-packet";

/** Pointers are 14-bit offsets from the start of the message (RFC 1035 §4.1.4). */
const MAX_POINTER = 0x3fff;
const HEADER = 12;

export interface EncodedSections {
  sections: Buffer;
  an: number;
  ns: number;
  ar: number;
}

/** Wire length of the (uncompressed) name starting at `off`. */
function nameLength(buf: Buffer, off: number): number {
  let i = off;
  while ((buf[i] as number) !== 0) i += 1 + (buf[i] as number);
  return i + 1 - off;
}

/**
 * Every suffix of the wire name at `off`, from the whole name down to the last label: its offset in `buf` and, as the
 * key to match on, its wire bytes lower-cased (length-prefixed labels, so "a.b" as one label never equals "a" "b").
 */
function suffixes(buf: Buffer, off: number): { key: string; at: number }[] {
  const end = off + nameLength(buf, off);
  const out: { key: string; at: number }[] = [];
  for (let i = off; (buf[i] as number) !== 0; i += 1 + (buf[i] as number)) {
    out.push({ key: buf.toString("latin1", i, end).toLowerCase(), at: i });
  }
  return out;
}

/**
 * Encodes answer, authority and additional records to follow a question whose name is `questionName` (wire form, any
 * case); the result is valid for any question with the same name up to case, placed at offset 12.
 */
export function encodeCompressed(
  questionName: Buffer,
  answers: dnsPacket.Answer[],
  authorities: dnsPacket.Answer[],
  additionals: dnsPacket.Answer[],
): EncodedSections {
  const known = new Map<string, number>();
  for (const s of suffixes(questionName, 0)) known.set(s.key, HEADER + s.at);
  // Offset in the final message where the record sections begin: header, question name, QTYPE, QCLASS.
  const start = HEADER + questionName.length + 4;
  const parts: Buffer[] = [];
  let length = 0;
  for (const rr of [...answers, ...authorities, ...additionals]) {
    const one = dnsPacket.encode({ type: "response", id: 0, flags: 0, questions: [], answers: [rr] });
    const ownerLength = nameLength(one, HEADER);
    const owner = suffixes(one, HEADER);
    // The longest suffix of the owner name already in the message becomes a pointer; the labels before it are written.
    let cut = owner.findIndex((s) => known.has(s.key));
    if (cut === -1) cut = owner.length;
    const pointer = cut < owner.length ? known.get(owner[cut]?.key ?? "") : undefined;
    const labelBytes = pointer === undefined ? ownerLength - 1 : (owner[cut]?.at ?? HEADER) - HEADER;
    const here = start + length;
    for (const s of owner.slice(0, cut)) {
      const at = here + (s.at - HEADER);
      if (!known.has(s.key) && at <= MAX_POINTER) known.set(s.key, at);
    }
    const head = one.subarray(HEADER, HEADER + labelBytes);
    const tail = pointer === undefined ? Buffer.from([0]) : Buffer.from([0xc0 | (pointer >> 8), pointer & 0xff]);
    const rest = one.subarray(HEADER + ownerLength);
    parts.push(head, tail, rest);
    length += head.length + tail.length + rest.length;
  }
  return {
    sections: Buffer.concat(parts, length),
    an: answers.length,
    ns: authorities.length,
    ar: additionals.length,
  };
}
