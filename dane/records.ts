// TLSA records on their own: which ones an SMTP client may use at all, and whether a record's association data
// matches a given certificate.
import { tlsaAssociationData } from "../certs/index.js";
import type { TlsaRecord } from "./types.js";

/** RFC 7218 §2.1: the names of the four assigned certificate usages. */
export const USAGE_NAMES: Readonly<Record<number, string>> = { 0: "PKIX-TA", 1: "PKIX-EE", 2: "DANE-TA", 3: "DANE-EE" };

/** RFC 6698 §2.1.3: the digest length (hex digits) of matching types 1 (SHA-256) and 2 (SHA-512); 0 = no digest. */
const DIGEST_HEX_LENGTH: Readonly<Record<number, number>> = { 0: 0, 1: 64, 2: 128 };

/** RFC 7672 §3.1.3 and RFC 7671 §5: which records a DANE SMTP client can use at all. */
export function tlsaUsability(
  usage: number,
  selector: number,
  matching: number,
  hex: string,
): { usable: boolean; note: string | null } {
  // RFC 7672 §3.1.3: SMTP clients treat PKIX-TA(0) and PKIX-EE(1) as unusable (no public CA list to check against).
  if (usage === 0 || usage === 1)
    return {
      usable: false,
      note: `usage ${usage} (PKIX-${usage === 0 ? "TA" : "EE"}) is unusable for SMTP (RFC 7672 §3.1.3)`,
    };
  // RFC 7672 §3.1: only DANE-TA(2) and DANE-EE(3) are usable; unassigned usages, selectors and matching types are not.
  if (usage !== 2 && usage !== 3) return { usable: false, note: `unknown certificate usage ${usage}` };
  if (selector > 1) return { usable: false, note: `unknown selector ${selector}` };
  if (matching > 2) return { usable: false, note: `unknown matching type ${matching}` };
  // RFC 7671 §5 (and RFC 6698 §2.1.3): a digest of the wrong length can match nothing; the record is unusable.
  const want = DIGEST_HEX_LENGTH[matching] ?? 0;
  if (want && hex.length !== want)
    return {
      usable: false,
      note: `digest is ${hex.length / 2} bytes, ${want / 2} expected for matching type ${matching}: unusable (RFC 7671 §5)`,
    };
  return { usable: true, note: null };
}

/**
 * RFC 6698 §2.1.2, §2.1.3: the record's data equals the selected part of the certificate (whole DER or its
 * SubjectPublicKeyInfo), as is or hashed. A record with an unknown selector or matching type matches nothing.
 * Usage is not looked at: whether a match counts is verify.ts's question.
 */
export function associationMatches(der: Buffer, record: Pick<TlsaRecord, "selector" | "matching" | "hex">): boolean {
  if (record.selector > 1 || record.matching > 2) return false;
  return tlsaAssociationData(der, record.selector as 0 | 1, record.matching as 0 | 1 | 2) === record.hex;
}
