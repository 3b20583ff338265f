// The PKI directory: where keys and certificates live between runs, and the small index that lets a warm start reuse
// them. Layout under `dir` (0700, subdirectories too; keys 0600):
//
//   <name>.key.pem      PKCS#8 private key          e.g. ta-baseline/leaf.key.pem
//   <name>.cert.pem     the certificate, PEM         e.g. ta-baseline/leaf.cert.pem
//   pki-index.json      what each file was made from (profile hash, key type, file digests, validity window)
//
// Files are written to a temporary name and renamed, so an interrupted run never leaves half a key behind. The index
// records a SHA-256 of each file; a file edited or replaced by hand no longer matches and is regenerated.

import { readFileSync } from "node:fs";
import { chmod, mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { KeyType } from "./types.js";

export const INDEX_FILE = "pki-index.json";
const INDEX_VERSION = 1;

export interface KeyEntry {
  keyType: KeyType;
  /** SHA-256 of the key file's bytes. */
  fileSha256: string;
  /** SHA-256 of the public key's SPKI DER: what certificate hashes depend on. */
  spkiSha256: string;
  /** The SPKI DER itself, base64, so a warm start need not parse the private key. */
  spki: string;
}

export interface CertEntry {
  /** Hash of this certificate's resolved profile + its key + its issuer's hash (see build.ts). */
  profileHash: string;
  fileSha256: string;
  notBefore: string;
  notAfter: string;
  issuedAt: string;
}

export interface PkiIndex {
  version: number;
  keys: Record<string, KeyEntry>;
  certs: Record<string, CertEntry>;
}

export function keyPath(dir: string, name: string): string {
  return join(dir, `${name}.key.pem`);
}

export function certPath(dir: string, name: string): string {
  return join(dir, `${name}.cert.pem`);
}

/** Creates the PKI directory with mode 0700 (and tightens it if it already existed). */
export async function ensureDir(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await chmod(dir, 0o700);
  } catch (err) {
    throw new Error(
      `Cannot use ${dir} as the PKI directory (${(err as Error).message}). ` +
        "Fix its permissions or ownership, or choose another state directory.",
      { cause: err },
    );
  }
}

export async function readIndex(dir: string): Promise<PkiIndex> {
  try {
    const parsed = JSON.parse(await readFile(join(dir, INDEX_FILE), "utf8")) as PkiIndex;
    if (parsed.version === INDEX_VERSION && parsed.keys && parsed.certs) return parsed;
  } catch {
    // Missing or unreadable index: a cold start.
  }
  return { version: INDEX_VERSION, keys: {}, certs: {} };
}

export async function writeIndex(dir: string, index: PkiIndex): Promise<void> {
  await writeAtomic(join(dir, INDEX_FILE), `${JSON.stringify(index, null, 1)}\n`, 0o600);
}

/**
 * Reads a file, or null when it does not exist. Synchronous on purpose: a warm start reads ~2 small files per
 * certificate, and a direct read takes microseconds where a thread-pool round trip (queued behind key generation
 * on a cold start, or behind other work on a busy machine) can take milliseconds.
 */
export function readOptional(path: string): string | null {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return null;
  }
}

/** Writes via a temporary file + rename; parent directories are created 0700. */
export async function writeAtomic(path: string, content: string, mode: number): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  await writeFile(tmp, content, { mode });
  await chmod(tmp, mode); // the umask may have cleared bits we asked for; never left wider than `mode`
  await rename(tmp, path);
}
