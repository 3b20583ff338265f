// certs/ — the PKI builder, a pure library: a profile (one entry per certificate) in; keys, certificates, chains and
// TLSA association data out. The lab's odd certificate layouts (no SAN, keyEncipherment-only keyUsage, an attacker
// CA named like the genuine intermediate, rotation sets of sibling intermediates, expired self-signed leaves) are all
// data in a PkiProfile. See docs/contracts.md ("certs/") for the surface; build.ts for how warm starts reuse files.

export { buildPki, chainPem } from "./build.js";
export { describeCertificate } from "./describe.js";
export { tlsaAssociationData, tlsaRecord } from "./tlsa.js";
export {
  type CertificateProfile,
  type CertificateSummary,
  type ExtKeyUsageName,
  type IssuedCertificate,
  type KeyType,
  type KeyUsageName,
  type Pki,
  type PkiBuildStats,
  type PkiProfile,
  ProfileError,
} from "./types.js";
