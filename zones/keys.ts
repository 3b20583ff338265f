// DNSSEC zone keys: generation with Node's crypto, the DNSKEY public-key field per algorithm, the key tag
// (RFC 4034 Appendix B), DS digests (RFC 4034 §5.1.4, SHA-256 per RFC 4509) and a key cache on disk so that a warm
// start generates no keys. Each zone has a KSK (flags 257, signs the DNSKEY RRset, the parent's DS points at it) and a
// ZSK (flags 256, signs everything else) — RFC 4034 §2.1.1, RFC 6781 §3.1.
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPair,
  type JsonWebKey,
  type KeyObject,
} from "node:crypto";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { nameWire } from "./wire.js";

/**
 * DNSSEC algorithm numbers (IANA): 8 RSASHA256 (RFC 5702), 13 ECDSAP256SHA256 (RFC 6605), 15 ED25519 (RFC 8080), and
 * 1 RSAMD5 (RFC 4034 App. A.1), which RFC 8624 §3.1 says validators MUST NOT implement: zones signed with it are
 * insecure to every current validator (RFC 4035 §5.2), which is what the lab uses it for.
 */
export type Algorithm = 1 | 8 | 13 | 15;

export const ALGORITHM_NAMES: Record<Algorithm, string> = {
  1: "RSAMD5",
  8: "RSASHA256",
  13: "ECDSAP256SHA256",
  15: "ED25519",
};

/** The algorithms the lab's validator implements (RFC 8624 §3.1); a DS RRset with none of them is "no DS". */
export const VALIDATED_ALGORITHMS: readonly number[] = [8, 13, 15];

export interface DnskeyData {
  flags: number;
  algorithm: number;
  key: Buffer;
}

export interface ZoneKey {
  /** 257 = KSK (zone key + secure entry point), 256 = ZSK (RFC 4034 §2.1.1). */
  flags: 256 | 257;
  algorithm: Algorithm;
  privateKey: KeyObject;
  dnskey: DnskeyData;
  keyTag: number;
}

const generate = promisify(generateKeyPair);

/** RFC 4034 §2.1.2: the Protocol field is always 3. */
export const DNSKEY_PROTOCOL = 3;

/** The DNSKEY RDATA: flags, protocol, algorithm, public key (RFC 4034 §2.1). */
export function dnskeyRdata(k: DnskeyData): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt16BE(k.flags, 0);
  head[2] = DNSKEY_PROTOCOL;
  head[3] = k.algorithm;
  return Buffer.concat([head, k.key]);
}

/** RFC 4034 Appendix B: the key tag, a 16-bit checksum over the DNSKEY RDATA (for every algorithm but 1). */
export function keyTag(k: DnskeyData): number {
  // RFC 4034 Appendix B.1: for RSAMD5, the most significant 16 bits of the least significant 24 bits of the modulus.
  if (k.algorithm === 1) return k.key.length < 3 ? 0 : k.key.readUInt16BE(k.key.length - 3);
  const rdata = dnskeyRdata(k);
  let ac = 0;
  for (let i = 0; i < rdata.length; i++) ac += i & 1 ? rdata[i]! : rdata[i]! << 8;
  ac += (ac >> 16) & 0xffff;
  return ac & 0xffff;
}

/** RFC 4034 §5.1.4: digest = SHA-256(owner name in canonical wire form | DNSKEY RDATA); digest type 2 (RFC 4509). */
export function dsDigest(owner: string, k: DnskeyData): Buffer {
  return createHash("sha256")
    .update(Buffer.concat([nameWire(owner), dnskeyRdata(k)]))
    .digest();
}

const b64u = (s: string | undefined) => Buffer.from(s ?? "", "base64url");

/** The public-key field of a DNSKEY for a Node key. */
export function dnskeyPublicKey(algorithm: Algorithm, publicKey: KeyObject): Buffer {
  const jwk = publicKey.export({ format: "jwk" });
  switch (algorithm) {
    case 13:
      // RFC 6605 §4: the ECDSA public key is Q = x | y, each coordinate 32 octets for P-256.
      return Buffer.concat([b64u(jwk.x), b64u(jwk.y)]);
    case 15:
      // RFC 8080 §3: the 32-octet Ed25519 public key (RFC 8032).
      return b64u(jwk.x);
    case 1:
    case 8: {
      // RFC 3110 §2 (by RFC 5702 §2; RFC 3110 §2 for RSAMD5 too, RFC 4034 App. A.1): exponent length (1 octet, or 0 + 2 octets when > 255), exponent, modulus.
      const e = b64u(jwk.e);
      const n = b64u(jwk.n);
      const len = e.length <= 255 ? Buffer.from([e.length]) : Buffer.from([0, e.length >> 8, e.length & 0xff]);
      return Buffer.concat([len, e, n]);
    }
  }
}

/** The Node public key for a DNSKEY's public-key field (the inverse of dnskeyPublicKey). Throws on malformed keys. */
export function publicKeyFromDnskey(k: DnskeyData): KeyObject {
  const key = k.key;
  switch (k.algorithm) {
    case 13:
      if (key.length !== 64) throw new Error(`ECDSA P-256 DNSKEY must be 64 octets, got ${key.length}`);
      return createPublicKey({
        key: {
          kty: "EC",
          crv: "P-256",
          x: key.subarray(0, 32).toString("base64url"),
          y: key.subarray(32).toString("base64url"),
        },
        format: "jwk",
      });
    case 15:
      if (key.length !== 32) throw new Error(`Ed25519 DNSKEY must be 32 octets, got ${key.length}`);
      return createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: key.toString("base64url") }, format: "jwk" });
    case 1:
    case 8: {
      let off = 1;
      let elen = key[0] ?? 0;
      if (elen === 0) {
        elen = key.readUInt16BE(1);
        off = 3;
      }
      const e = key.subarray(off, off + elen);
      const n = key.subarray(off + elen);
      return createPublicKey({
        key: { kty: "RSA", n: n.toString("base64url"), e: e.toString("base64url") },
        format: "jwk",
      });
    }
    default:
      throw new Error(`DNSKEY algorithm ${k.algorithm} is not supported (the lab uses 8, 13 and 15)`);
  }
}

async function newPrivateKey(algorithm: Algorithm): Promise<KeyObject> {
  switch (algorithm) {
    case 13:
      return (await generate("ec", { namedCurve: "P-256" })).privateKey;
    case 15:
      return (await generate("ed25519")).privateKey;
    case 1:
    case 8:
      // RFC 8624 §3.1 / NIST: 2048-bit RSA is the usual size for both KSK and ZSK.
      return (await generate("rsa", { modulusLength: 2048, publicExponent: 65537 })).privateKey;
  }
}

function keyMatches(algorithm: Algorithm, k: KeyObject): boolean {
  if (algorithm === 13) return k.asymmetricKeyType === "ec" && k.asymmetricKeyDetails?.namedCurve === "prime256v1";
  if (algorithm === 15) return k.asymmetricKeyType === "ed25519";
  return k.asymmetricKeyType === "rsa";
}

/**
 * File name of a cached key, BIND-like: "K.+013+ksk.jwk" for the root, "Klab.example.+013+zsk.jwk" below. The private
 * key is kept as a JWK (RFC 7517): OpenSSL 3 reads one in about 0.1 ms where a PEM takes 0.6 ms, and a warm start reads
 * two per zone. Earlier versions wrote PEM files with the same stem; those are still read (and converted), so a lab's
 * keys — and the trust anchor users configured — survive the upgrade.
 */
export function keyFileName(origin: string, algorithm: Algorithm, role: "ksk" | "zsk", ext = "jwk"): string {
  return `K${origin === "" ? "" : origin}.+${String(algorithm).padStart(3, "0")}+${role}.${ext}`;
}

export interface KeyCounters {
  generated: number;
  loaded: number;
}

/** Prepares the key directory: created 0700 (and tightened to 0700 when it already exists). */
export function prepareKeyDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chmodSync(dir, 0o700);
  } catch (err) {
    throw new Error(
      `cannot use ${dir} for the DNSSEC keys (${(err as Error).message}); choose a writable state directory`,
    );
  }
}

/** The KSK or ZSK of a zone: loaded from `dir` when cached there, otherwise generated (and cached when dir is set). */
export async function zoneKey(
  origin: string,
  algorithm: Algorithm,
  role: "ksk" | "zsk",
  dir: string | undefined,
  counters: KeyCounters,
): Promise<ZoneKey> {
  const path = dir === undefined ? undefined : join(dir, keyFileName(origin, algorithm, role));
  let privateKey: KeyObject | undefined;
  if (dir !== undefined && path !== undefined) {
    privateKey = readKeyFile(path, algorithm, "jwk");
    const legacyPem = join(dir, keyFileName(origin, algorithm, role, "pem"));
    if (privateKey === undefined) {
      privateKey = readKeyFile(legacyPem, algorithm, "pem");
      if (privateKey !== undefined) {
        writeKeyFile(path, privateKey);
        unlinkSync(legacyPem);
      }
    }
    if (privateKey !== undefined) counters.loaded++;
  }
  if (privateKey === undefined) {
    privateKey = await newPrivateKey(algorithm);
    counters.generated++;
    if (path !== undefined) writeKeyFile(path, privateKey);
  }
  const flags = role === "ksk" ? 257 : 256;
  const dnskey: DnskeyData = { flags, algorithm, key: dnskeyPublicKey(algorithm, createPublicKey(privateKey)) };
  return { flags, algorithm, privateKey, dnskey, keyTag: keyTag(dnskey) };
}

/** A cached key of the expected algorithm, or undefined when the file is missing, unreadable or of another kind. */
function readKeyFile(path: string, algorithm: Algorithm, format: "jwk" | "pem"): KeyObject | undefined {
  if (!existsSync(path)) return undefined;
  try {
    const text = readFileSync(path, "utf8");
    const k = createPrivateKey(
      format === "jwk" ? { key: JSON.parse(text) as JsonWebKey, format: "jwk" } : { key: text, format: "pem" },
    );
    // A key file others can read (copied in, restored from a backup) is tightened back to 0600.
    if ((statSync(path).mode & 0o077) !== 0) chmodSync(path, 0o600);
    return keyMatches(algorithm, k) ? k : undefined;
  } catch {
    return undefined; // an unreadable or foreign file is replaced by a fresh key
  }
}

function writeKeyFile(path: string, key: KeyObject): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(key.export({ format: "jwk" }))}\n`, { mode: 0o600 });
  renameSync(tmp, path);
}
