// Private keys: generated with Node's own crypto — EC and Ed25519 keys on libuv's thread pool, the primes of RSA keys in
// worker threads (certs/primes.ts) — so many keys are made in parallel; stored as PKCS#8 PEM, and imported into
// WebCrypto only when a certificate has to be signed with them.
// Signatures use SHA-256 with the signer's key type: RSA PKCS#1 v1.5 (RFC 4055), ECDSA (RFC 5758), Ed25519 (RFC 8410).
//
// RSA keys are assembled from two primes (RFC 8017 §3.1/§3.2: n = p·q, e = 65537, d = e⁻¹ mod lcm(p−1, q−1), CRT
// values dP, dQ, qInv) instead of generateKeyPair("rsa"): with the OpenSSL 3.0 that Node 20 bundles, RSA key
// generation confirms each prime with 64 Miller–Rabin rounds where FIPS 186-5 asks 4–5 for random candidates, and key
// generation is nearly all of a cold lab start — measured here 184 ms for an RSA-2048 key from generateKeyPair, 56 ms
// from two crypto.generatePrime primes, about 30 ms (one thread) from certs/primes.ts. These are throw-away lab keys; what matters is
// that they are valid, which the tests check with `openssl pkey -check` (it re-tests p and q for primality).
// Set RSA_FROM_PRIMES = false to use OpenSSL's own RSA key generation.

import { createHash, createPrivateKey, createPublicKey, generateKeyPair, type KeyObject, webcrypto } from "node:crypto";
import { promisify } from "node:util";
import { PrimePool } from "./primes.js";
import type { KeyType } from "./types.js";

// The PEM/DER encodings below make Node return strings/Buffers; promisify's overloads cannot see that.
const generateKeyPairAsync = promisify(generateKeyPair) as (
  type: string,
  options: object,
) => Promise<{ privateKey: string; publicKey: Buffer }>;

export interface KeyMaterial {
  keyType: KeyType;
  /** PKCS#8 PEM. */
  keyPem: string;
  /** DER SubjectPublicKeyInfo of the public half (what the certificate carries). */
  spki: Buffer;
}

/** One pool for the process: its workers start on the first RSA key and stop soon after the last. */
let primePool: PrimePool | undefined;

const RSA_FROM_PRIMES = true;
const RSA_E = 65537n;

/** Generates a fresh key of the given type. */
export async function generateKey(keyType: KeyType): Promise<KeyMaterial> {
  const enc = {
    privateKeyEncoding: { type: "pkcs8", format: "pem" },
    publicKeyEncoding: { type: "spki", format: "der" },
  } as const;
  let pair: { privateKey: string; publicKey: Buffer };
  switch (keyType) {
    case "rsa-2048":
    case "rsa-3072":
    case "rsa-4096":
      if (RSA_FROM_PRIMES) return rsaFromPrimes(keyType, Number(keyType.slice(4)));
      pair = await generateKeyPairAsync("rsa", {
        modulusLength: Number(keyType.slice(4)),
        publicExponent: 0x10001,
        ...enc,
      });
      break;
    case "ecdsa-p256":
    case "ecdsa-p384":
      pair = await generateKeyPairAsync("ec", {
        namedCurve: keyType === "ecdsa-p256" ? "prime256v1" : "secp384r1",
        ...enc,
      });
      break;
    case "ed25519":
      pair = await generateKeyPairAsync("ed25519", enc);
      break;
  }
  return { keyType, keyPem: pair.privateKey, spki: pair.publicKey };
}

/** An RSA key of exactly `bits` bits from two certs/primes.ts primes (see the header). */
async function rsaFromPrimes(keyType: KeyType, bits: number): Promise<KeyMaterial> {
  for (;;) {
    // Both halves in parallel. Each prime has its top two bits set, so n has exactly `bits` bits.
    primePool ??= new PrimePool();
    const [p, q] = await Promise.all([primePool.prime(bits / 2), primePool.prime(bits / 2)]);
    // RFC 8017 §3.2: e must be coprime to p−1 and q−1 (e is prime, so: e must not divide them); p ≠ q, and indeed
    // |p − q| > 2^(bits/2 − 100) (FIPS 186-5 A.1.3).
    if ((p - 1n) % RSA_E === 0n || (q - 1n) % RSA_E === 0n) continue;
    if ((p > q ? p - q : q - p) <= 1n << BigInt(bits / 2 - 100)) continue;
    const n = p * q;
    if (n.toString(2).length !== bits) continue;
    const lambda = ((p - 1n) * (q - 1n)) / gcd(p - 1n, q - 1n);
    const d = modInverse(RSA_E, lambda);
    const b64 = (x: bigint) => {
      const hex = x.toString(16);
      return Buffer.from(hex.length % 2 ? `0${hex}` : hex, "hex").toString("base64url");
    };
    const jwk = {
      kty: "RSA",
      n: b64(n),
      e: b64(RSA_E),
      d: b64(d),
      p: b64(p),
      q: b64(q),
      dp: b64(d % (p - 1n)),
      dq: b64(d % (q - 1n)),
      qi: b64(modInverse(q, p)),
    };
    const key = createPrivateKey({ key: jwk, format: "jwk" });
    return {
      keyType,
      keyPem: key.export({ type: "pkcs8", format: "pem" }) as string,
      spki: createPublicKey(key).export({ type: "spki", format: "der" }),
    };
  }
}

function gcd(a: bigint, b: bigint): bigint {
  while (b !== 0n) [a, b] = [b, a % b];
  return a;
}

/** x with a·x ≡ 1 (mod m), by the extended Euclidean algorithm. */
function modInverse(a: bigint, m: bigint): bigint {
  let [oldR, r] = [((a % m) + m) % m, m];
  let [oldS, s] = [1n, 0n];
  while (r !== 0n) {
    const quotient = oldR / r;
    [oldR, r] = [r, oldR - quotient * r];
    [oldS, s] = [s, oldS - quotient * s];
  }
  if (oldR !== 1n) throw new Error("no modular inverse");
  return ((oldS % m) + m) % m;
}

/** Reads a stored PKCS#8 PEM back; returns null when it is unreadable or not of the expected type. */
export function loadKey(keyPem: string, expected: KeyType): KeyMaterial | null {
  try {
    const pub = createPublicKey(keyPem);
    if (keyTypeOf(pub) !== expected) return null;
    return { keyType: expected, keyPem, spki: pub.export({ type: "spki", format: "der" }) };
  } catch {
    return null;
  }
}

/** Our KeyType name for a key object, or a descriptive fallback ("rsa-1024", "x448") for others. */
export function keyTypeOf(key: KeyObject): string {
  const details = key.asymmetricKeyDetails ?? {};
  switch (key.asymmetricKeyType) {
    case "rsa":
    case "rsa-pss":
      return `${key.asymmetricKeyType}-${details.modulusLength ?? "?"}`;
    case "ec": {
      const curve = details.namedCurve;
      if (curve === "prime256v1") return "ecdsa-p256";
      if (curve === "secp384r1") return "ecdsa-p384";
      if (curve === "secp521r1") return "ecdsa-p521";
      return `ec-${curve ?? "?"}`;
    }
    default:
      return key.asymmetricKeyType ?? "unknown";
  }
}

/** The WebCrypto algorithm a key of this type signs certificates with (always SHA-256 where a hash is chosen). */
export function signingAlgorithm(
  keyType: KeyType,
): webcrypto.RsaHashedImportParams | webcrypto.EcKeyImportParams | webcrypto.Algorithm {
  switch (keyType) {
    case "rsa-2048":
    case "rsa-3072":
    case "rsa-4096":
      return { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" };
    case "ecdsa-p256":
    case "ecdsa-p384":
      // namedCurve for the import, hash for the signature (ECDSA with SHA-256 whatever the curve).
      return {
        name: "ECDSA",
        hash: "SHA-256",
        namedCurve: keyType === "ecdsa-p256" ? "P-256" : "P-384",
      } as webcrypto.EcKeyImportParams;
    case "ed25519":
      return { name: "Ed25519" };
  }
}

/** Imports a PKCS#8 key into WebCrypto for signing. */
export async function importSigningKey(key: KeyMaterial): Promise<webcrypto.CryptoKey> {
  const der = pemToDer(key.keyPem);
  return webcrypto.subtle.importKey("pkcs8", der, signingAlgorithm(key.keyType), false, ["sign"]);
}

/** The base64 body of the first PEM block, decoded. */
export function pemToDer(pem: string): Buffer {
  const m = /-----BEGIN [^-]+-----([\s\S]*?)-----END [^-]+-----/.exec(pem);
  if (!m) throw new Error("not a PEM block");
  return Buffer.from(m[1]!.replace(/\s+/g, ""), "base64");
}

export function sha256Hex(data: Buffer | string): string {
  return createHash("sha256").update(data).digest("hex");
}
