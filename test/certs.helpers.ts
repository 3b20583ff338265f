// Shared by the certs/ integration tests: what `openssl x509 -text` says about a certificate. (Tools are run with
// test/run.ts.)

export interface X509Text {
  subject: string;
  issuer: string;
  /** DNS names, in order; null when there is no subjectAltName extension. */
  san: string[] | null;
  keyUsage: { critical: boolean; value: string } | null;
  extKeyUsage: { critical: boolean; value: string } | null;
  basicConstraints: { critical: boolean; value: string } | null;
  authorityKeyIdentifier: string | null;
  publicKey: string;
  signatureAlgorithm: string;
}

/** Parses the parts of `openssl x509 -text -noout` the tests look at. */
export function parseX509Text(text: string): X509Text {
  const lines = text.split("\n");
  const field = (label: string) => {
    const line = lines.find((l) => l.trimStart().startsWith(`${label}:`));
    return line === undefined ? "" : line.slice(line.indexOf(":") + 1).trim();
  };
  const ext = (label: string) => {
    const i = lines.findIndex((l) => new RegExp(`^\\s+${label}:( critical)?\\s*$`).test(l));
    if (i < 0) return null;
    return { critical: lines[i]!.includes("critical"), value: (lines[i + 1] ?? "").trim() };
  };
  const san = ext("X509v3 Subject Alternative Name");
  return {
    subject: field("Subject"),
    issuer: field("Issuer"),
    san: san ? san.value.split(", ").map((s) => s.replace(/^DNS:/, "")) : null,
    keyUsage: ext("X509v3 Key Usage"),
    extKeyUsage: ext("X509v3 Extended Key Usage"),
    basicConstraints: ext("X509v3 Basic Constraints"),
    authorityKeyIdentifier: ext("X509v3 Authority Key Identifier")?.value ?? null,
    publicKey: field("Public Key Algorithm"),
    signatureAlgorithm: field("Signature Algorithm"),
  };
}
