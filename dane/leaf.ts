// The server certificate beyond names: validity dates (which DANE-EE ignores) and keyUsage/extKeyUsage, which RFC
// 7672 does not mention but TLS stacks enforce — a certificate that a TLSA record authenticates can still be refused.
import type { CertificateSummary } from "../certs/index.js";
import type { Note } from "./types.js";

/** The server's TLS settings that decide which key exchanges a client can use (lab scenario `smtp.tls`). */
export interface TlsPolicy {
  minVersion?: string;
  maxVersion?: string;
  ciphers?: string;
}

/**
 * RFC 5280 §4.1.2.5: outside notBefore…notAfter a certificate is invalid — except under DANE-EE(3), which ignores
 * validity dates (RFC 7672 §3.1.1). `eeOnly`: a DANE-EE record authenticates this certificate. Null when valid.
 */
export function validityNote(leaf: CertificateSummary, eeOnly: boolean, now: number): Note | null {
  const expired = Date.parse(leaf.notAfter) < now;
  const future = Date.parse(leaf.notBefore) > now;
  if (!expired && !future) return null;
  return {
    level: eeOnly ? "info" : "bad",
    text: `${expired ? "expired" : "not yet valid"}${eeOnly ? " — DANE-EE ignores validity dates (RFC 7672 §3.1.1)" : ""}`,
  };
}

/** keyUsage and extKeyUsage that some TLS clients refuse, given what the server lets a handshake use. */
export function keyUsageNotes(leaf: CertificateSummary, tls: TlsPolicy | undefined): Note[] {
  const notes: Note[] = [];
  // RFC 5246 §7.4.7.1 / RFC 5280 §4.2.1.3: with static-RSA key exchange the client encrypts the premaster secret to
  // the server's key, which needs keyEncipherment. Only matters when the server allows nothing else.
  const staticRsaOnly =
    tls?.maxVersion === "TLSv1.2" && tls.ciphers !== undefined && !/(ECDHE|EECDH|DHE|EDH)/i.test(tls.ciphers);
  if (
    staticRsaOnly &&
    leaf.keyType.startsWith("rsa") &&
    leaf.keyUsage &&
    !leaf.keyUsage.usages.includes("keyEncipherment")
  ) {
    notes.push({
      level: "warn",
      text: `keyUsage ${leaf.keyUsage.usages.join(", ")} lacks keyEncipherment, and this server allows only static-RSA key exchange (TLS 1.2 ${tls.ciphers}), where the client encrypts to this key (RFC 5246 §7.4.7.1): strict clients (GnuTLS) refuse, OpenSSL does not check`,
    });
  }
  // RFC 8446 §4.4.2.2: TLS 1.3 (and ECDHE in TLS 1.2) sign with the server key, which needs digitalSignature.
  if (leaf.keyUsage && !leaf.keyUsage.usages.includes("digitalSignature")) {
    notes.push({
      level: "warn",
      text: `keyUsage ${leaf.keyUsage.usages.join(", ")} lacks digitalSignature: TLS 1.3 and ECDHE handshakes sign with this key, which RFC 8446 §4.4.2.2 forbids; GnuTLS refuses ("Key usage violation"), OpenSSL does not check`,
    });
  }
  // RFC 5280 §4.2.1.12: an extKeyUsage without serverAuth does not allow TLS server use.
  if (leaf.extKeyUsage && !leaf.extKeyUsage.includes("serverAuth")) {
    notes.push({
      level: "warn",
      text: `extKeyUsage ${leaf.extKeyUsage.join(", ")} without serverAuth: OpenSSL-based clients refuse it as a server certificate, others accept it`,
    });
  }
  return notes;
}
