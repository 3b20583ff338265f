// Certificate issuing: one resolved profile + a subject key + an issuer (or none: self-signed) → an X.509 v3
// certificate, DER. @peculiar/x509 does the ASN.1; this file only decides what goes in. Extensions follow RFC 5280
// §4.2.1 and appear exactly as the profile asks (a missing keyUsage really is missing), so TLS stacks can be tested
// against odd-but-real certificates.

import { randomBytes, type webcrypto } from "node:crypto";
import type * as X509 from "@peculiar/x509";
import type { KeyMaterial } from "./keys.js";
import { signingAlgorithm } from "./keys.js";
import type { ResolvedCertificate } from "./profile.js";
import { EXT_KEY_USAGE_OIDS } from "./types.js";
import { x509 as loadX509 } from "./x509.js";

export interface IssuerMaterial {
  /** DER of the issuer's certificate: its subject becomes our issuer name, byte for byte. */
  certDer: Buffer;
  key: KeyMaterial;
  signingKey: webcrypto.CryptoKey;
}

export interface IssueRequest {
  cert: ResolvedCertificate;
  key: KeyMaterial;
  /** Needed only for self-signed certificates (issuer = this certificate's own key). */
  selfSigningKey?: webcrypto.CryptoKey;
  issuer: IssuerMaterial | null;
  notBefore: Date;
  notAfter: Date;
}

/** Builds and signs the certificate. */
export async function issueCertificate(req: IssueRequest): Promise<Buffer> {
  const { cert, key, issuer } = req;
  const signer = issuer ? issuer.key : key;
  const signingKey = issuer ? issuer.signingKey : req.selfSigningKey;
  if (!signingKey) throw new Error(`certificate "${cert.name}": no signing key`);
  const x509 = loadX509();

  const subjectName = new x509.Name(subjectJson(cert.subject));
  const issuerName = issuer ? new x509.X509Certificate(issuer.certDer).subjectName : subjectName;

  const extensions: X509.Extension[] = [];
  // RFC 5280 §4.2.1.9: basicConstraints, critical. Leaves carry cA=FALSE like public CAs' leaves do.
  extensions.push(new x509.BasicConstraintsExtension(cert.ca, cert.pathLength ?? undefined, true));
  if (cert.keyUsage) {
    let flags = 0;
    for (const u of cert.keyUsage.usages) flags |= x509.KeyUsageFlags[u];
    extensions.push(new x509.KeyUsagesExtension(flags, cert.keyUsage.critical));
  }
  if (cert.extKeyUsage) {
    extensions.push(new x509.ExtendedKeyUsageExtension(cert.extKeyUsage.map((u) => EXT_KEY_USAGE_OIDS[u])));
  }
  // RFC 5280 §4.2.1.2: subjectKeyIdentifier = SHA-1 of the subjectPublicKey BIT STRING (method 1).
  extensions.push(await x509.SubjectKeyIdentifierExtension.create(key.spki));
  // RFC 5280 §4.2.1.1: authorityKeyIdentifier = the signer's subjectKeyIdentifier, so chain builders can pick the
  // right issuer among several with the same name (the "attacker CA" scenarios rely on this).
  if (cert.authorityKeyIdentifier) {
    extensions.push(await x509.AuthorityKeyIdentifierExtension.create(signer.spki));
  }
  if (cert.san) {
    extensions.push(new x509.SubjectAlternativeNameExtension(cert.san.map((value) => ({ type: "dns", value }))));
  }

  const created = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: subjectName,
    issuer: issuerName,
    notBefore: req.notBefore,
    notAfter: req.notAfter,
    publicKey: key.spki,
    signingKey,
    signingAlgorithm: signingAlgorithm(signer.keyType),
    extensions,
  });
  return Buffer.from(created.rawData);
}

/** RDNs in the conventional order C, O, OU, CN; {} gives an empty subject. */
function subjectJson(subject: ResolvedCertificate["subject"]): X509.JsonName {
  const out: X509.JsonName = [];
  for (const k of ["C", "O", "OU", "CN"] as const) {
    const v = subject[k];
    if (v !== undefined) out.push({ [k]: [v] });
  }
  return out;
}

/** RFC 5280 §4.1.2.2: a positive integer of at most 20 octets; 16 random bytes with the top bit clear. */
function randomSerial(): string {
  const b = randomBytes(16);
  b[0] = (b[0]! & 0x7f) | 0x01;
  return b.toString("hex");
}

/** PEM of a DER certificate, 64-character lines, trailing newline. */
export function certificateToPem(der: Buffer): string {
  const body = der.toString("base64").replace(/(.{64})/g, "$1\n");
  return `-----BEGIN CERTIFICATE-----\n${body}${body.endsWith("\n") ? "" : "\n"}-----END CERTIFICATE-----\n`;
}
