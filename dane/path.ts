// The DANE-TA(2) signature-path check: a TLSA record that matches a CA certificate authenticates the server only if
// the server certificate chains up to that CA by signature, with every certificate in between presented and valid.
// A matching CA that did not issue the leaf (an attacker CA with the same name in front of it) is a forged chain.
//
// Certificates are named (the lab's PKI names, "seed-mx06/r3") and described by a lookup, so this stays a pure
// function of data: the caller knows who signed what.
import type { CertificateSummary } from "../certs/index.js";

/** What the path check needs to know about one certificate. */
export interface PathCertificate {
  /** The name of the certificate whose key signed this one; undefined for a self-signed one. */
  issuer: string | undefined;
  /** The pathLenConstraint of its basicConstraints, if any. */
  pathLength: number | undefined;
  summary(): CertificateSummary;
}

/** The leaf's real issuer path by signature, leaf first, up to a self-signed certificate (or a loop, or unknown). */
export function signaturePath(
  leaf: string | undefined,
  lookup: (name: string) => PathCertificate | undefined,
): string[] {
  const path: string[] = [];
  for (let n: string | undefined = leaf; n && !path.includes(n); n = lookup(n)?.issuer) path.push(n);
  return path;
}

/**
 * RFC 5280 §6.1 checks on a signature path (leaf first, trust anchor last) for the certificates between the two:
 * each must be within its validity (§6.1.3 (a)(2)), a CA (§6.1.4 (k)), and no CA, the trust anchor included, may
 * have more CA certificates below it than its pathLenConstraint allows (§6.1.4 (l), (m)). RFC 7671 §5.2.2: a
 * DANE-TA client applies these from the trust anchor down (the anchor's own validity does not count).
 */
export function pathDefects(
  path: string[],
  lookup: (name: string) => PathCertificate | undefined,
  now: number,
): string[] {
  const out: string[] = [];
  path.forEach((n, i) => {
    if (i === 0) return;
    const cert = lookup(n);
    const below = i - 1; // CA certificates between this one and the leaf
    if (i < path.length - 1 && cert) {
      const d = cert.summary();
      if (Date.parse(d.notAfter) < now) out.push(`${n} expired on ${d.notAfter.slice(0, 10)}`);
      else if (Date.parse(d.notBefore) > now) out.push(`${n} is not valid before ${d.notBefore.slice(0, 10)}`);
      if (!d.ca) out.push(`${n} is not a CA (basicConstraints cA is not set) yet issued ${path[i - 1]}`);
    }
    const limit = cert?.pathLength;
    if (typeof limit === "number" && below > limit)
      out.push(`${n} allows ${limit} CA certificate(s) below it (pathLenConstraint) and has ${below}`);
  });
  return out;
}

/** Where a DANE-TA(2) match on a non-leaf certificate leaves the presented chain. */
export type TaPath =
  /** The leaf chains up to it, every certificate between is presented, the path is valid: authenticated. */
  | { kind: "chains" }
  /** The leaf chains up to it, but a certificate on the way is expired, not a CA, or beyond a pathLenConstraint. */
  | { kind: "invalid-path"; defects: string[] }
  /** The leaf chains up to it, but the server does not present the certificates between them. */
  | { kind: "missing-intermediates"; missing: string[] }
  /** It did not issue the leaf, directly or through others: a forged chain that only looks right. */
  | { kind: "forged" };

/**
 * RFC 7672 §3.1.2, RFC 7671 §5.2.2 / RFC 5280 §6.1: a DANE-TA match on `anchor` counts only if the leaf chains up to
 * it by signature (`path`, from `signaturePath`), with every certificate between them presented and the path valid.
 */
export function taPath(
  anchor: string,
  presented: string[],
  path: string[],
  lookup: (name: string) => PathCertificate | undefined,
  now: number,
): TaPath {
  const at = path.indexOf(anchor);
  if (at <= 0) return { kind: "forged" };
  const defects = pathDefects(path.slice(0, at + 1), lookup, now);
  if (defects.length > 0) return { kind: "invalid-path", defects };
  const missing = path.slice(1, at).filter((n) => !presented.includes(n));
  if (missing.length > 0) return { kind: "missing-intermediates", missing };
  return { kind: "chains" };
}
