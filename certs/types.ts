// The data shapes of certs/: what a PKI profile may say (one entry per certificate), what buildPki hands back, and the
// one error bad profile input produces. Everything a scenario can ask of a certificate is a field here, so odd
// layouts (no SAN, keyEncipherment-only keyUsage, an attacker CA named like a real intermediate, an expired
// self-signed leaf) are data, not code. What describeCertificate reports is in summary.ts (no Node types there).

import type { KeyUsageName } from "./summary.js";

export type { CertificateSummary, KeyUsageName } from "./summary.js";

/** Private key algorithms the lab generates (all with Node's own crypto). */
export type KeyType = "rsa-2048" | "rsa-3072" | "rsa-4096" | "ecdsa-p256" | "ecdsa-p384" | "ed25519";
export const KEY_TYPES: readonly KeyType[] = [
  "rsa-2048",
  "rsa-3072",
  "rsa-4096",
  "ecdsa-p256",
  "ecdsa-p384",
  "ed25519",
];

export const KEY_USAGE_NAMES: readonly KeyUsageName[] = [
  "digitalSignature",
  "nonRepudiation",
  "keyEncipherment",
  "dataEncipherment",
  "keyAgreement",
  "keyCertSign",
  "cRLSign",
  "encipherOnly",
  "decipherOnly",
];

/** RFC 5280 §4.2.1.12 extendedKeyUsage purposes the lab knows by name. */
export type ExtKeyUsageName = "serverAuth" | "clientAuth" | "emailProtection" | "codeSigning";
export const EXT_KEY_USAGE_OIDS: Readonly<Record<ExtKeyUsageName, string>> = {
  serverAuth: "1.3.6.1.5.5.7.3.1",
  clientAuth: "1.3.6.1.5.5.7.3.2",
  codeSigning: "1.3.6.1.5.5.7.3.3",
  emailProtection: "1.3.6.1.5.5.7.3.4",
};

export interface CertificateProfile {
  /** Unique within one PKI; chains and TLSA references use it ("lab/root", "ta-baseline/leaf"). */
  name: string;
  /** Name of the certificate whose key signs this one; omitted = self-signed. */
  issuer?: string;
  key: KeyType;
  /** {} = empty subject. */
  subject: { CN?: string; O?: string; OU?: string; C?: string };
  /** DNS names (wildcards allowed, also partial ones like "m*.x.example"); omitted = no subjectAltName extension. */
  san?: string[];
  /** basicConstraints cA (critical); default false. */
  ca?: boolean;
  pathLength?: number;
  /** Omitted = default for ca/leaf (see profile.ts), null = no extension. */
  keyUsage?: { usages: KeyUsageName[]; critical: boolean } | null;
  /** Omitted = [serverAuth] for leaves, none for CAs; null = no extension. */
  extKeyUsage?: ExtKeyUsageName[] | null;
  /** ISO date or offset from now: "-1d", "+90d", "-400d" (units s, m, h, d, y). */
  validity?: { notBefore?: string; notAfter?: string };
  /** Default true for issued certificates, false for self-signed ones. */
  authorityKeyIdentifier?: boolean;
}

export interface PkiProfile {
  /** Issuers before the certificates they sign, or any order. */
  certificates: CertificateProfile[];
}

export interface IssuedCertificate {
  name: string;
  der: Buffer;
  pem: string;
  /** PKCS#8 PEM. */
  keyPem: string;
  /** Files under the PKI directory (keys 0600). */
  certPath: string;
  keyPath: string;
  keyType: KeyType;
}

/** What one buildPki call did: a warm start of an unchanged profile shows keysGenerated = certificatesIssued = 0. */
export interface PkiBuildStats {
  keysGenerated: number;
  keysReused: number;
  certificatesIssued: number;
  certificatesReused: number;
  /** Names of the certificates (re-)issued in this run, with why: "new", "profile changed", "validity drifted", … */
  issued: { name: string; reason: string }[];
}

export interface Pki {
  dir: string;
  get(name: string): IssuedCertificate;
  names(): string[];
  /** Extra to the contract's minimum: what this build generated and what it reused. */
  stats: PkiBuildStats;
}

/** Bad profile input. The message names the certificate and the field, and says what would be accepted. */
export class ProfileError extends Error {
  constructor(
    readonly certificate: string,
    readonly field: string,
    problem: string,
  ) {
    super(`PKI profile: certificate "${certificate}", field ${field}: ${problem}`);
    this.name = "ProfileError";
  }
}
