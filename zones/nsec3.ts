// NSEC3 (RFC 5155) arithmetic, pure: the iterated, salted SHA-1 owner-name hash (§5), Base32hex without padding for
// the hashed owner label (§3.3, RFC 4648 §7), and the "covers" test in hash order (§8.3). tree.ts builds the chain,
// answer.ts picks the proofs, validate.ts checks them.
import { createHash } from "node:crypto";
import { labels, nameWire } from "./wire.js";

/** The denial-of-existence settings of one zone. */
export interface Nsec3Params {
  /** RFC 5155 §3.1.3: additional hash iterations (RFC 9276 §3.1: operators SHOULD use 0). */
  iterations: number;
  /** RFC 5155 §3.1.5; RFC 9276 §3.1: operators SHOULD NOT use a salt. */
  salt: Buffer;
  /** RFC 5155 §6: insecure delegations get no NSEC3 of their own; the covering NSEC3 carries the Opt-Out flag. */
  optOut: boolean;
}

/** RFC 5155 §11: hash algorithm 1 = SHA-1, the only one defined. */
export const NSEC3_SHA1 = 1;
/** RFC 5155 §3.1.2.1: the Opt-Out flag is the least significant bit of the flags field. */
export const OPT_OUT_FLAG = 0x01;

/**
 * RFC 9276 §3.2 lets a validator treat NSEC3 with a high iteration count as insecure ("Validating resolvers MAY return
 * an insecure response to their clients when processing an answer with an NSEC3 record having an iteration count
 * greater than a chosen value"). The lab's resolver mode chooses 150 — the limit Debian 12's unbound
 * (val-nsec3-keysize-iterations "1024 150 2048 150 4096 150") applies — so above 150 a denial is insecure, not secure.
 */
export const MAX_VALIDATED_ITERATIONS = 150;

/**
 * RFC 5155 §5: IH(salt, x, 0) = H(x || salt); IH(salt, x, k) = H(IH(salt, x, k-1) || salt); the hash of an owner name
 * is IH(salt, owner, iterations) with the owner in canonical wire form (lower case, uncompressed).
 */
export function nsec3Hash(name: string, salt: Buffer, iterations: number): Buffer {
  let digest = createHash("sha1").update(nameWire(name)).update(salt).digest();
  for (let i = 0; i < iterations; i++) digest = createHash("sha1").update(digest).update(salt).digest();
  return digest;
}

const B32HEX = "0123456789abcdefghijklmnopqrstuv";

/** RFC 4648 §7 "base32hex", lower case, no padding (RFC 5155 §3.3: the form of the hashed owner label). */
export function base32hex(buf: Buffer): string {
  let out = "";
  let bits = 0;
  let value = 0;
  for (const byte of buf) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += B32HEX[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    value &= (1 << bits) - 1;
  }
  if (bits > 0) out += B32HEX[(value << (5 - bits)) & 31];
  return out;
}

/** The inverse of base32hex (undefined when the label is not base32hex). */
export function fromBase32hex(text: string): Buffer | undefined {
  const bytes: number[] = [];
  let bits = 0;
  let value = 0;
  for (const c of text.toLowerCase()) {
    const v = B32HEX.indexOf(c);
    if (v < 0) return undefined;
    value = (value << 5) | v;
    bits += 5;
    if (bits >= 8) {
      bytes.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
    value &= (1 << bits) - 1;
  }
  return Buffer.from(bytes);
}

/** RFC 5155 §3.3: the NSEC3 owner name for `name` in the zone `origin`. */
export function nsec3Owner(name: string, origin: string, p: Pick<Nsec3Params, "salt" | "iterations">): string {
  const label = base32hex(nsec3Hash(name, p.salt, p.iterations));
  return origin === "" ? label : `${label}.${origin}`;
}

/** The hash an NSEC3 owner name carries in its first label. */
export function ownerHash(owner: string): Buffer | undefined {
  const first = labels(owner)[0];
  return first === undefined ? undefined : fromBase32hex(first);
}

/**
 * RFC 5155 §8.3: an NSEC3 covers a hash when owner-hash < hash < next-hash in hash order, the last NSEC3 of the chain
 * (next-hash ≤ owner-hash) covering everything after its owner and before the first.
 */
export function hashCovers(ownerHashValue: Buffer, next: Buffer, hash: Buffer): boolean {
  const afterOwner = Buffer.compare(ownerHashValue, hash) < 0;
  const beforeNext = Buffer.compare(hash, next) < 0;
  if (Buffer.compare(ownerHashValue, next) < 0) return afterOwner && beforeNext;
  return afterOwner || beforeNext;
}
