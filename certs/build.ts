// buildPki: profile in, keys and certificates out — reusing what an earlier run left in the PKI directory.
//
// Reuse rules (a warm start of an unchanged profile generates no key and signs nothing):
//   key          reused when the index has a key of the same name and key type and the file is unchanged;
//                so changing a certificate's extensions re-signs it but keeps its key (and its `3 1 1` digest).
//   certificate  reused when the hash of (its resolved profile, its key's SPKI, its issuer's hash) is unchanged —
//                the issuer's hash covers the issuer's profile and key, so a new issuer key re-issues the subtree —
//                and its validity has not drifted (below).
//   drift        a certificate whose validity is written relative to now ("+90d", "-1d") is re-issued when, now or
//                within the next hour, it would be in another state (not yet valid / valid / expired) than a
//                certificate issued now: a "+90d" leaf is renewed shortly before it expires, an expired "-400d…-30d"
//                leaf stays as it is, a "+1d" not-yet-valid leaf is re-issued about an hour before it becomes valid.
//                Absolute dates are part of the profile hash and never drift.
// Keys are generated in parallel (libuv thread pool); each certificate is signed as soon as its key and its issuer
// are ready.

import type { webcrypto } from "node:crypto";
import { certificateToPem, type IssuerMaterial, issueCertificate } from "./issue.js";
import { generateKey, importSigningKey, type KeyMaterial, pemToDer, sha256Hex } from "./keys.js";
import { isRelativeTime, parseTime, type ResolvedCertificate, resolveProfile } from "./profile.js";
import {
  type CertEntry,
  certPath,
  ensureDir,
  type KeyEntry,
  keyPath,
  type PkiIndex,
  readIndex,
  readOptional,
  writeAtomic,
  writeIndex,
} from "./store.js";
import type { IssuedCertificate, KeyType, Pki, PkiBuildStats, PkiProfile } from "./types.js";

/** Bump when the way certificates are built changes, so every cached certificate is re-issued once. */
const BUILD_VERSION = 1;
/** How far ahead the drift check looks (see the header). */
const DRIFT_LOOKAHEAD_MS = 3600_000;

export interface BuildOptions {
  /** The PKI directory (created 0700). */
  dir: string;
  /** The time certificates are issued at and drift is judged against; default the real now. */
  now?: Date;
}

interface BuiltCert {
  issued: IssuedCertificate;
  key: KeyMaterial;
  profileHash: string;
  /** The key imported for signing, made once and only if this certificate signs something new. */
  signingKey: () => Promise<webcrypto.CryptoKey>;
}

export async function buildPki(profile: PkiProfile, opts: BuildOptions): Promise<Pki> {
  const now = opts.now ?? new Date();
  const certs = resolveProfile(profile, now);
  const dir = opts.dir;
  await ensureDir(dir);
  const old = await readIndex(dir);
  const index: PkiIndex = { version: old.version, keys: {}, certs: {} };
  const stats: PkiBuildStats = {
    keysGenerated: 0,
    keysReused: 0,
    certificatesIssued: 0,
    certificatesReused: 0,
    issued: [],
  };
  const byName = new Map(certs.map((c) => [c.name, c]));

  // Keys: start every generation at once so they share the thread pool. The pool runs jobs first come, first served,
  // so queue the cheap ECDSA/Ed25519 keys first (issuers can sign early) and then RSA largest first: an RSA-4096 key
  // takes several times an RSA-2048 one, and starting it last would leave one core busy alone at the end.
  const keys = new Map<string, Promise<KeyMaterial>>();
  for (const cert of [...certs].sort((a, b) => keyCost(a.key) - keyCost(b.key))) {
    keys.set(
      cert.name,
      obtainKey(dir, cert, old.keys[cert.name]).then(({ key, entry, generated }) => {
        index.keys[cert.name] = entry;
        if (generated) stats.keysGenerated++;
        else stats.keysReused++;
        return key;
      }),
    );
  }

  const built = new Map<string, Promise<BuiltCert>>();
  const build = (name: string): Promise<BuiltCert> => {
    let p = built.get(name);
    if (!p) {
      const cert = byName.get(name)!;
      p = obtainCertificate(cert);
      built.set(name, p);
    }
    return p;
  };

  async function obtainCertificate(cert: ResolvedCertificate): Promise<BuiltCert> {
    const [key, issuer] = await Promise.all([keys.get(cert.name)!, cert.issuer ? build(cert.issuer) : null]);
    const profileHash = sha256Hex(
      JSON.stringify({
        v: BUILD_VERSION,
        cert,
        spki: sha256Hex(key.spki),
        issuer: issuer?.profileHash ?? null,
      }),
    );
    const signingKey = once(() => importSigningKey(key));
    const files = { certPath: certPath(dir, cert.name), keyPath: keyPath(dir, cert.name) };
    const finish = (pem: string, der: Buffer, entry: CertEntry): BuiltCert => {
      index.certs[cert.name] = entry;
      return {
        issued: { name: cert.name, der, pem, keyPem: key.keyPem, keyType: cert.key, ...files },
        key,
        profileHash,
        signingKey,
      };
    };

    const cached = old.certs[cert.name];
    let reason = "new";
    if (cached) {
      reason = "profile changed";
      if (cached.profileHash === profileHash) {
        const pem = readOptional(files.certPath);
        if (pem === null || sha256Hex(pem) !== cached.fileSha256) reason = "certificate file missing or changed";
        else {
          const drift = validityDrift(cert, cached, now);
          if (!drift) {
            stats.certificatesReused++;
            return finish(pem, pemToDer(pem), cached);
          }
          reason = `validity drifted: ${drift}`;
        }
      }
    }

    const notBefore = parseTime(cert.validity.notBefore, now);
    const notAfter = parseTime(cert.validity.notAfter, now);
    const issuerMaterial: IssuerMaterial | null = issuer
      ? { certDer: issuer.issued.der, key: issuer.key, signingKey: await issuer.signingKey() }
      : null;
    const der = await issueCertificate({
      cert,
      key,
      issuer: issuerMaterial,
      selfSigningKey: issuer ? undefined : await signingKey(),
      notBefore,
      notAfter,
    });
    const pem = certificateToPem(der);
    await writeAtomic(files.certPath, pem, 0o644);
    stats.certificatesIssued++;
    stats.issued.push({ name: cert.name, reason });
    return finish(pem, der, {
      profileHash,
      fileSha256: sha256Hex(pem),
      notBefore: notBefore.toISOString(),
      notAfter: notAfter.toISOString(),
      issuedAt: now.toISOString(),
    });
  }

  const results = await Promise.all(certs.map((c) => build(c.name)));
  const issued = new Map(results.map((r) => [r.issued.name, r.issued]));

  // Index order follows the profile, so an unchanged profile rewrites nothing. Entries of certificates this profile
  // does not mention are kept, files included: a lab started with a subset of its scenarios and then with all of
  // them stays warm.
  const ordered: PkiIndex = { version: index.version, keys: {}, certs: {} };
  for (const c of profile.certificates) {
    ordered.keys[c.name] = index.keys[c.name]!;
    ordered.certs[c.name] = index.certs[c.name]!;
  }
  for (const [name, entry] of Object.entries(old.keys)) if (!issued.has(name)) ordered.keys[name] = entry;
  for (const [name, entry] of Object.entries(old.certs)) if (!issued.has(name)) ordered.certs[name] = entry;
  if (JSON.stringify(ordered) !== JSON.stringify(old)) await writeIndex(dir, ordered);

  const names = profile.certificates.map((c) => c.name);
  return {
    dir,
    stats,
    names: () => [...names],
    get(name: string): IssuedCertificate {
      const c = issued.get(name);
      if (!c) {
        throw new Error(
          `The PKI in ${dir} has no certificate "${name}" (it has: ${names.slice(0, 10).join(", ")}${names.length > 10 ? ", …" : ""}).`,
        );
      }
      return c;
    },
  };
}

/** The chain a server presents, PEM blocks in the given order (leaf first, usually). */
export function chainPem(pki: Pki, names: string[]): string {
  return names.map((n) => pki.get(n).pem).join("");
}

async function obtainKey(
  dir: string,
  cert: ResolvedCertificate,
  cached: KeyEntry | undefined,
): Promise<{ key: KeyMaterial; entry: KeyEntry; generated: boolean }> {
  const path = keyPath(dir, cert.name);
  if (cached && cached.keyType === cert.key && cached.spki) {
    const pem = readOptional(path);
    if (pem !== null && sha256Hex(pem) === cached.fileSha256) {
      const key = { keyType: cert.key, keyPem: pem, spki: Buffer.from(cached.spki, "base64") };
      return { key, entry: cached, generated: false };
    }
  }
  const key = await generateKey(cert.key);
  await writeAtomic(path, key.keyPem, 0o600);
  const entry: KeyEntry = {
    keyType: cert.key,
    fileSha256: sha256Hex(key.keyPem),
    spkiSha256: sha256Hex(key.spki),
    spki: key.spki.toString("base64"),
  };
  return { key, entry, generated: true };
}

/** Queue position of a key type: cheap ones first, then RSA by size, largest first. */
function keyCost(keyType: KeyType): number {
  return keyType.startsWith("rsa-") ? 10_000 - Number(keyType.slice(4)) : 0;
}

type ValidityState = "not yet valid" | "valid" | "expired";

function stateAt(notBefore: number, notAfter: number, t: number): ValidityState {
  return t < notBefore ? "not yet valid" : t > notAfter ? "expired" : "valid";
}

/** Why a cached certificate no longer has the validity its profile asks for, or null (see the header). */
export function validityDrift(cert: ResolvedCertificate, cached: CertEntry, now: Date): string | null {
  const { notBefore, notAfter } = cert.validity;
  if (!isRelativeTime(notBefore) && !isRelativeTime(notAfter)) return null;
  const haveNb = Date.parse(cached.notBefore);
  const haveNa = Date.parse(cached.notAfter);
  for (const t of [now.getTime(), now.getTime() + DRIFT_LOOKAHEAD_MS]) {
    const at = new Date(t);
    const want = stateAt(parseTime(notBefore, at).getTime(), parseTime(notAfter, at).getTime(), t);
    const have = stateAt(haveNb, haveNa, t);
    if (want !== have) return `meant to be ${want} at ${at.toISOString()}, but the certificate would be ${have}`;
  }
  return null;
}

function once<T>(f: () => Promise<T>): () => Promise<T> {
  let p: Promise<T> | undefined;
  return () => {
    p ??= f();
    return p;
  };
}
