// A certificate in a few plain fields, for `danelab explain`, the UI and tests: names, key usage, validity, key type
// and the two digests a mail admin compares with TLSA records (3 1 1 = spkiSha256, 3 0 1 = certSha256).

import { X509Certificate as NodeX509Certificate } from "node:crypto";
import { keyTypeOf } from "./keys.js";
import { tlsaAssociationData } from "./tlsa.js";
import { type CertificateSummary, EXT_KEY_USAGE_OIDS, KEY_USAGE_NAMES } from "./types.js";
import { x509 as loadX509 } from "./x509.js";

const EKU_NAMES = new Map(Object.entries(EXT_KEY_USAGE_OIDS).map(([name, oid]) => [oid, name]));

export function describeCertificate(der: Buffer): CertificateSummary {
  const x509 = loadX509();
  const cert = new x509.X509Certificate(der);
  const node = new NodeX509Certificate(der);

  const ku = cert.getExtension(x509.KeyUsagesExtension);
  const eku = cert.getExtension(x509.ExtendedKeyUsageExtension);
  const bc = cert.getExtension(x509.BasicConstraintsExtension);
  const sanExt = cert.getExtension(x509.SubjectAlternativeNameExtension);
  const san = sanExt ? sanExt.names.items.filter((n) => n.type === "dns").map((n) => n.value) : [];

  return {
    subject: cert.subject,
    issuer: cert.issuer,
    serial: cert.serialNumber.toLowerCase(),
    san,
    keyUsage: ku
      ? { usages: KEY_USAGE_NAMES.filter((u) => (ku.usages & x509.KeyUsageFlags[u]) !== 0), critical: ku.critical }
      : null,
    extKeyUsage: eku ? eku.usages.map((oid) => EKU_NAMES.get(String(oid)) ?? String(oid)) : null,
    ca: bc?.ca ?? false,
    notBefore: cert.notBefore.toISOString(),
    notAfter: cert.notAfter.toISOString(),
    keyType: keyTypeOf(node.publicKey),
    spkiSha256: tlsaAssociationData(der, 1, 1),
    certSha256: tlsaAssociationData(der, 0, 1),
  };
}
