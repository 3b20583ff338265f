// What certs/ says about a certificate (describeCertificate in describe.ts): types only, with no Node import, so the
// web UI's browser code shares them through lab/ui/api-types.ts without compiling Node's types.

/** RFC 5280 §4.2.1.3 keyUsage bits, by their ASN.1 names. */
export type KeyUsageName =
  | "digitalSignature"
  | "nonRepudiation"
  | "keyEncipherment"
  | "dataEncipherment"
  | "keyAgreement"
  | "keyCertSign"
  | "cRLSign"
  | "encipherOnly"
  | "decipherOnly";

/** A certificate summarised for `danelab explain`, the UI and tests. */
export interface CertificateSummary {
  /** RFC 4514-style string, "" for an empty subject. */
  subject: string;
  issuer: string;
  /** Serial number, lower-case hex. */
  serial: string;
  /** dNSName entries of the subjectAltName extension ([] when absent). */
  san: string[];
  keyUsage: { usages: KeyUsageName[]; critical: boolean } | null;
  /** Purposes by name where known (serverAuth …), else the dotted OID; null when the extension is absent. */
  extKeyUsage: string[] | null;
  ca: boolean;
  /** ISO 8601. */
  notBefore: string;
  notAfter: string;
  /** A KeyType when it is one of ours, else e.g. "rsa-1024" or the algorithm name. */
  keyType: string;
  /** TLSA selector 1 / matching 1 and selector 0 / matching 1 data (lower-case hex). */
  spkiSha256: string;
  certSha256: string;
}
