// RRSIG creation and verification (RFC 4034 §3, RFC 4035 §5.3). The signature covers the RRSIG RDATA without the
// signature field followed by the RRset in canonical form (RFC 4034 §3.1.8.1, §6.2, §6.3); the algorithms are
// RSASHA256 (RFC 5702 §3: PKCS #1 v1.5), ECDSAP256SHA256 (RFC 6605 §4: r | s, 32 octets each) and Ed25519
// (RFC 8080 §4: the 64-octet signature of RFC 8032).
import { type KeyObject, sign, verify } from "node:crypto";
import { type DnskeyData, publicKeyFromDnskey, type ZoneKey } from "./keys.js";
import { type Answer, canonicalRdata, dataOf, labels, nameWire, packet, typeCode } from "./wire.js";

export interface RrsigData {
  typeCovered: string;
  algorithm: number;
  labels: number;
  originalTTL: number;
  expiration: number;
  inception: number;
  keyTag: number;
  signersName: string;
  signature: Buffer;
}

/** RFC 4034 §3.1.3: the number of labels in the owner name, not counting the root or a leading wildcard "*". */
export function labelCount(owner: string): number {
  const l = labels(owner);
  return l[0] === "*" ? l.length - 1 : l.length;
}

/**
 * RFC 4034 §3.1.8.1: signed data = RRSIG_RDATA (without signature) | RR(1) | RR(2) | ..., where each RR is
 * owner | type | class | original TTL | RDLENGTH | RDATA in canonical form, the RRs sorted by their canonical RDATA
 * (RFC 4034 §6.3, as left-justified octet strings) and duplicates removed.
 */
export function signedData(sig: Omit<RrsigData, "signature">, rrset: Answer[]): Buffer {
  const head = packet
    .record("RRSIG")
    .encode({ ...sig, signersName: sig.signersName.toLowerCase(), signature: Buffer.alloc(0) });
  const parts: Buffer[] = [head.subarray(2, 2 + head.readUInt16BE(0))];
  const rdatas = rrset.map(canonicalRdata).sort(Buffer.compare);
  const unique = rdatas.filter((r, i) => i === 0 || !r.equals(rdatas[i - 1]!));
  const first = rrset[0];
  if (first === undefined) throw new Error("cannot sign an empty RRset");
  // RFC 4035 §5.3.2: the owner is reconstructed from the Labels field (a wildcard expansion would shorten it).
  const ownerLabels = labels(first.name.toLowerCase());
  const owner =
    ownerLabels.length > sig.labels
      ? ["*", ...ownerLabels.slice(ownerLabels.length - sig.labels)].join(".")
      : first.name;
  const ownerWire = nameWire(owner);
  const fixed = Buffer.alloc(8);
  fixed.writeUInt16BE(typeCode(first.type), 0);
  fixed.writeUInt16BE(1, 2); // class IN
  fixed.writeUInt32BE(sig.originalTTL >>> 0, 4);
  for (const rdata of unique) {
    const len = Buffer.alloc(2);
    len.writeUInt16BE(rdata.length, 0);
    parts.push(ownerWire, fixed, len, rdata);
  }
  return Buffer.concat(parts);
}

function cryptoSign(algorithm: number, data: Buffer, key: KeyObject): Buffer {
  if (algorithm === 13) return sign("sha256", data, { key, dsaEncoding: "ieee-p1363" });
  if (algorithm === 15) return sign(null, data, key);
  // RFC 4034 App. A.1 / RFC 3110 §3: RSAMD5 is PKCS #1 v1.5 over MD5 (signed so that the zone is well formed; no
  // validator of this decade checks it, RFC 8624 §3.1).
  if (algorithm === 1) return sign("md5", data, key);
  return sign("sha256", data, key);
}

function cryptoVerify(algorithm: number, data: Buffer, key: KeyObject, signature: Buffer): boolean {
  if (algorithm === 13) return verify("sha256", data, { key, dsaEncoding: "ieee-p1363" }, signature);
  if (algorithm === 15) return verify(null, data, key, signature);
  if (algorithm === 8) return verify("sha256", data, key, signature);
  return false;
}

/** One RRSIG record over `rrset`, made with `key` for the zone `signer`, valid from inception to expiration (s). */
export function signRRset(
  rrset: Answer[],
  key: ZoneKey,
  signer: string,
  window: { inception: number; expiration: number },
): Answer {
  const first = rrset[0]!;
  const ttl = Math.min(...rrset.map((r) => (r as { ttl?: number }).ttl ?? 0));
  const sig: Omit<RrsigData, "signature"> = {
    typeCovered: first.type,
    algorithm: key.algorithm,
    labels: labelCount(first.name),
    originalTTL: ttl,
    expiration: window.expiration >>> 0,
    inception: window.inception >>> 0,
    keyTag: key.keyTag,
    signersName: signer,
  };
  const signature = cryptoSign(key.algorithm, signedData(sig, rrset), key.privateKey);
  return { name: first.name, type: "RRSIG", ttl, class: "IN", data: { ...sig, signature } } as Answer;
}

/** Imported public keys, per DNSKEY key buffer (importing costs more than verifying). */
const publicKeys = new WeakMap<Buffer, KeyObject>();

/** RFC 4035 §5.3.1 + §5.3.3: does `rrsig` verify over `rrset` with `dnskey`? (The validity window is checked apart.) */
export function verifyRrsig(rrsig: Answer, rrset: Answer[], dnskey: DnskeyData): boolean {
  const sig = dataOf<RrsigData>(rrsig);
  if (sig.algorithm !== dnskey.algorithm) return false;
  let key = publicKeys.get(dnskey.key);
  if (key === undefined) {
    try {
      key = publicKeyFromDnskey(dnskey);
    } catch {
      return false;
    }
    publicKeys.set(dnskey.key, key);
  }
  const { signature, ...rest } = sig;
  try {
    return cryptoVerify(sig.algorithm, signedData(rest, rrset), key, signature);
  } catch {
    return false;
  }
}
