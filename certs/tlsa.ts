// TLSA association data (RFC 6698 §2.1) computed from certificates, and the presentation form of a TLSA record.
//
// A TLSA record says which certificate a server may present, in three numbers plus data:
//   usage     0 PKIX-TA, 1 PKIX-EE, 2 DANE-TA (a CA in the presented chain), 3 DANE-EE (the server's own cert);
//             SMTP uses only 2 and 3 (RFC 7672 §3.1) — 0 and 1 are "unusable" there, which a scenario may want.
//   selector  0 the whole certificate (DER), 1 its SubjectPublicKeyInfo (DER) — survives re-issuing with the same key
//   matching  0 the bytes themselves, 1 their SHA-256, 2 their SHA-512

import { createHash } from "node:crypto";

/**
 * The association data for one certificate, lower-case hex.
 * RFC 6698 §2.1.2/§2.1.3: selector picks the bytes, matching type says how they are compared.
 */
export function tlsaAssociationData(der: Buffer, selector: 0 | 1, matching: 0 | 1 | 2): string {
  if (selector !== 0 && selector !== 1) {
    throw new RangeError(`TLSA selector ${selector} is not 0 (full certificate) or 1 (SubjectPublicKeyInfo).`);
  }
  if (matching !== 0 && matching !== 1 && matching !== 2) {
    throw new RangeError(`TLSA matching type ${matching} is not 0 (exact), 1 (SHA-256) or 2 (SHA-512).`);
  }
  const data = selector === 0 ? der : subjectPublicKeyInfo(der);
  if (matching === 0) return Buffer.from(data).toString("hex");
  return createHash(matching === 1 ? "sha256" : "sha512")
    .update(data)
    .digest("hex");
}

/**
 * `_25._tcp.mx.example. 300 IN TLSA 2 1 1 <hex>` — RFC 6698 §2.2 presentation format (hex in one piece). Usage,
 * selector and matching type are 8-bit fields (RFC 6698 §2.1): any value 0–255 is printed, since values nobody has
 * assigned make exactly the "unusable" records RFC 7671 §4 and RFC 7672 §3.1.3 tell clients to ignore. The hex is
 * not checked against the matching type's digest length, for the same reason.
 */
export function tlsaRecord(
  owner: string,
  ttl: number,
  usage: number,
  selector: number,
  matching: number,
  hex: string,
): string {
  const check = (field: string, value: number, max: number, meaning: string) => {
    if (!Number.isInteger(value) || value < 0 || value > max) {
      throw new RangeError(`TLSA record for ${owner}: ${field} ${value} is out of range; expected ${meaning}.`);
    }
  };
  check("usage", usage, 255, "0–255 (RFC 6698 §2.1.1; 0 PKIX-TA, 1 PKIX-EE, 2 DANE-TA, 3 DANE-EE are assigned)");
  check("selector", selector, 255, "0–255 (RFC 6698 §2.1.2; 0 full certificate, 1 SubjectPublicKeyInfo)");
  check("matching type", matching, 255, "0–255 (RFC 6698 §2.1.3; 0 exact, 1 SHA-256, 2 SHA-512)");
  if (!Number.isInteger(ttl) || ttl < 0 || ttl > 0x7fffffff) {
    throw new RangeError(`TLSA record for ${owner}: TTL ${ttl} is not a number of seconds (0 … 2147483647).`);
  }
  if (!/^([0-9a-fA-F]{2})+$/.test(hex)) {
    throw new RangeError(
      `TLSA record for ${owner}: association data must be a non-empty even number of hex digits (got ${JSON.stringify(hex.slice(0, 20))}).`,
    );
  }
  // Presentation output is always fully qualified.
  const fqdn = owner.endsWith(".") ? owner : `${owner}.`;
  return `${fqdn} ${ttl} IN TLSA ${usage} ${selector} ${matching} ${hex.toLowerCase()}`;
}

/**
 * The DER bytes of the certificate's SubjectPublicKeyInfo exactly as they appear in it (RFC 5280 §4.1):
 * Certificate ::= SEQUENCE { tbsCertificate SEQUENCE { [0] version OPTIONAL, serialNumber, signature, issuer,
 * validity, subject, subjectPublicKeyInfo, … }, … }. Walking the DER (rather than re-encoding a parsed key) keeps
 * the hash equal to what any TLSA verifier computes from the same certificate.
 */
export function subjectPublicKeyInfo(der: Buffer): Buffer {
  const cert = readTlv(der, 0, 0x30, "Certificate");
  const tbs = readTlv(der, cert.contentStart, 0x30, "tbsCertificate");
  let at = tbs.contentStart;
  if (der[at] === 0xa0) at = readTlv(der, at, 0xa0, "version").end;
  for (const field of ["serialNumber", "signature", "issuer", "validity", "subject"]) {
    at = readTlv(der, at, field === "serialNumber" ? 0x02 : 0x30, field).end;
  }
  const spki = readTlv(der, at, 0x30, "subjectPublicKeyInfo");
  if (spki.end > tbs.end) throw new Error("not a DER X.509 certificate: subjectPublicKeyInfo runs past tbsCertificate");
  return der.subarray(at, spki.end);
}

function readTlv(der: Buffer, at: number, tag: number, what: string): { contentStart: number; end: number } {
  if (der[at] !== tag) throw new Error(`not a DER X.509 certificate: expected ${what} at offset ${at}`);
  let len = der[at + 1];
  let contentStart = at + 2;
  if (len === undefined) throw new Error(`not a DER X.509 certificate: ${what} truncated`);
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4) throw new Error(`not a DER X.509 certificate: bad length of ${what}`);
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + (der[at + 2 + i] ?? 0);
    contentStart += n;
  }
  const end = contentStart + len;
  if (end > der.length) throw new Error(`not a DER X.509 certificate: ${what} truncated`);
  return { contentStart, end };
}
