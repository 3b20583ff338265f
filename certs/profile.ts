// Profile validation and defaults: turns the PkiProfile a scenario wrote into fully specified certificates in issuing
// order (issuers first), or throws a ProfileError that names the certificate and the field. Nothing here touches keys
// or files, so every rule can be tested on plain data.
//
// Defaults (each overridable per certificate):
//   keyUsage      CA:   digitalSignature, keyCertSign, cRLSign (critical) — like Let's Encrypt's intermediates
//                 leaf: digitalSignature + keyEncipherment for RSA keys, digitalSignature for ECDSA/Ed25519 (critical)
//   extKeyUsage   leaf: serverAuth; CA: none
//   validity      notBefore "-1d"; notAfter "+90d" for leaves, "+3650d" for CAs
//   authorityKeyIdentifier  on for issued certificates, off for self-signed ones

import {
  type CertificateProfile,
  EXT_KEY_USAGE_OIDS,
  type ExtKeyUsageName,
  KEY_TYPES,
  KEY_USAGE_NAMES,
  type KeyType,
  type KeyUsageName,
  type PkiProfile,
  ProfileError,
} from "./types.js";

/** A certificate with every default applied; what the issuer and the cache work from. */
export interface ResolvedCertificate {
  name: string;
  /** null = self-signed. */
  issuer: string | null;
  key: KeyType;
  subject: { C?: string; O?: string; OU?: string; CN?: string };
  san: string[] | null;
  ca: boolean;
  pathLength: number | null;
  keyUsage: { usages: KeyUsageName[]; critical: boolean } | null;
  extKeyUsage: ExtKeyUsageName[] | null;
  /** As written (ISO date or offset); resolved against "now" only when the certificate is issued. */
  validity: { notBefore: string; notAfter: string };
  authorityKeyIdentifier: boolean;
}

const PROFILE_FIELDS = new Set([
  "name",
  "issuer",
  "key",
  "subject",
  "san",
  "ca",
  "pathLength",
  "keyUsage",
  "extKeyUsage",
  "validity",
  "authorityKeyIdentifier",
]);
const SUBJECT_FIELDS = ["C", "O", "OU", "CN"] as const;
// RFC 5280 Appendix A.1: ub-common-name, ub-organization-name, ub-organizational-unit-name are all 64.
const SUBJECT_MAX = 64;

/** Validates a whole profile and returns its certificates issuers-first. Throws ProfileError on the first problem. */
export function resolveProfile(profile: PkiProfile, now: Date = new Date()): ResolvedCertificate[] {
  if (!profile || !Array.isArray(profile.certificates)) {
    throw new ProfileError("(profile)", "certificates", "expected a list of certificate profiles.");
  }
  const byName = new Map<string, ResolvedCertificate>();
  const order: string[] = [];
  profile.certificates.forEach((raw, index) => {
    const cert = resolveCertificate(raw, index, now);
    if (byName.has(cert.name)) {
      throw new ProfileError(cert.name, "name", "defined twice; every certificate in one PKI needs its own name.");
    }
    byName.set(cert.name, cert);
    order.push(cert.name);
  });

  for (const cert of byName.values()) {
    if (cert.issuer === null) continue;
    if (cert.issuer === cert.name) {
      throw new ProfileError(cert.name, "issuer", "names the certificate itself; omit issuer for a self-signed one.");
    }
    if (!byName.has(cert.issuer)) {
      const known = order.slice(0, 8).join(", ") + (order.length > 8 ? ", …" : "");
      throw new ProfileError(
        cert.name,
        "issuer",
        `"${cert.issuer}" is not a certificate of this PKI (defined: ${known}). Add it, or fix the name.`,
      );
    }
  }

  // Issuers first: depth-first over the issuer links, catching cycles (a → b → a never reaches a self-signed root).
  const sorted: ResolvedCertificate[] = [];
  const state = new Map<string, "visiting" | "done">();
  const visit = (name: string, path: string[]) => {
    const s = state.get(name);
    if (s === "done") return;
    if (s === "visiting") {
      const cycle = [...path.slice(path.indexOf(name)), name].join(" → ");
      throw new ProfileError(name, "issuer", `issuer cycle ${cycle}; some certificate in it must be self-signed.`);
    }
    state.set(name, "visiting");
    const cert = byName.get(name)!;
    if (cert.issuer !== null) visit(cert.issuer, [...path, name]);
    state.set(name, "done");
    sorted.push(cert);
  };
  for (const name of order) visit(name, []);
  return sorted;
}

function resolveCertificate(raw: CertificateProfile, index: number, now: Date): ResolvedCertificate {
  if (raw === null || typeof raw !== "object") {
    throw new ProfileError(`#${index + 1}`, "(entry)", "expected an object with at least name, key and subject.");
  }
  const name = raw.name;
  if (typeof name !== "string" || name === "") {
    throw new ProfileError(`#${index + 1}`, "name", "missing; every certificate needs a unique name.");
  }
  // Names become file paths under the PKI directory: keep them to safe path segments.
  const segments = name.split("/");
  if (!segments.every((s) => /^[A-Za-z0-9_][A-Za-z0-9._-]*$/.test(s))) {
    throw new ProfileError(
      name,
      "name",
      'use letters, digits, ".", "_", "-", with "/" between parts (e.g. "ta-baseline/leaf").',
    );
  }
  const fail = (field: string, problem: string): never => {
    throw new ProfileError(name, field, problem);
  };
  for (const field of Object.keys(raw)) {
    if (!PROFILE_FIELDS.has(field)) fail(field, `unknown field; known fields: ${[...PROFILE_FIELDS].join(", ")}.`);
  }

  if (raw.issuer !== undefined && (typeof raw.issuer !== "string" || raw.issuer === "")) {
    fail("issuer", "expected the name of another certificate of this PKI, or omit it for a self-signed one.");
  }
  const issuer = raw.issuer ?? null;

  if (!KEY_TYPES.includes(raw.key)) {
    fail("key", `unknown key type ${JSON.stringify(raw.key)}; use one of ${KEY_TYPES.join(", ")}.`);
  }

  if (raw.ca !== undefined && typeof raw.ca !== "boolean") fail("ca", "expected true or false.");
  const ca = raw.ca ?? false;
  if (raw.pathLength !== undefined) {
    if (!Number.isInteger(raw.pathLength) || raw.pathLength < 0) fail("pathLength", "expected an integer ≥ 0.");
    // RFC 5280 §4.2.1.9: pathLenConstraint is only meaningful when cA is asserted.
    if (!ca) fail("pathLength", "only allowed together with ca: true.");
  }

  const subject = resolveSubject(raw.subject, fail);
  const san = raw.san === undefined ? null : resolveSan(raw.san, fail);

  let keyUsage: ResolvedCertificate["keyUsage"];
  if (raw.keyUsage === null) keyUsage = null;
  else if (raw.keyUsage === undefined) {
    const rsa = raw.key.startsWith("rsa-");
    keyUsage = ca
      ? { usages: ["digitalSignature", "keyCertSign", "cRLSign"], critical: true }
      : { usages: rsa ? ["digitalSignature", "keyEncipherment"] : ["digitalSignature"], critical: true };
  } else keyUsage = resolveKeyUsage(raw.keyUsage, fail);

  let extKeyUsage: ExtKeyUsageName[] | null;
  if (raw.extKeyUsage === null) extKeyUsage = null;
  else if (raw.extKeyUsage === undefined) extKeyUsage = ca ? null : ["serverAuth"];
  else {
    if (!Array.isArray(raw.extKeyUsage) || raw.extKeyUsage.length === 0) {
      fail("extKeyUsage", "expected a non-empty list (e.g. [serverAuth]); write null for no extKeyUsage extension.");
    }
    for (const u of raw.extKeyUsage) {
      if (!Object.hasOwn(EXT_KEY_USAGE_OIDS, u)) {
        fail("extKeyUsage", `unknown purpose ${JSON.stringify(u)}; use ${Object.keys(EXT_KEY_USAGE_OIDS).join(", ")}.`);
      }
    }
    extKeyUsage = [...new Set(raw.extKeyUsage)];
  }

  if (raw.validity !== undefined && (raw.validity === null || typeof raw.validity !== "object")) {
    fail("validity", "expected { notBefore?, notAfter? }.");
  }
  const validity = {
    notBefore: raw.validity?.notBefore ?? "-1d",
    notAfter: raw.validity?.notAfter ?? (ca ? "+3650d" : "+90d"),
  };
  const nb = parseTime(validity.notBefore, now, () => fail("validity.notBefore", timeHint(validity.notBefore)));
  const na = parseTime(validity.notAfter, now, () => fail("validity.notAfter", timeHint(validity.notAfter)));
  if (na.getTime() <= nb.getTime()) {
    fail("validity", `notAfter (${validity.notAfter}) must be later than notBefore (${validity.notBefore}).`);
  }

  if (raw.authorityKeyIdentifier !== undefined && typeof raw.authorityKeyIdentifier !== "boolean") {
    fail("authorityKeyIdentifier", "expected true or false.");
  }

  return {
    name,
    issuer,
    key: raw.key,
    subject,
    san,
    ca,
    pathLength: raw.pathLength ?? null,
    keyUsage,
    extKeyUsage,
    validity,
    authorityKeyIdentifier: raw.authorityKeyIdentifier ?? issuer !== null,
  };
}

function resolveSubject(raw: unknown, fail: (field: string, problem: string) => never): ResolvedCertificate["subject"] {
  if (raw === undefined || raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    return fail("subject", "expected an object such as { CN: mx.example.org } ({} for an empty subject).");
  }
  for (const k of Object.keys(raw)) {
    if (!(SUBJECT_FIELDS as readonly string[]).includes(k)) {
      fail(`subject.${k}`, `unknown attribute; use ${SUBJECT_FIELDS.join(", ")}.`);
    }
  }
  // Fixed attribute order, so the same subject written in another order is the same certificate (and cache entry).
  const out: ResolvedCertificate["subject"] = {};
  for (const k of SUBJECT_FIELDS) {
    const v = (raw as Record<string, unknown>)[k];
    if (v === undefined) continue;
    if (typeof v !== "string" || v === "") return fail(`subject.${k}`, "expected a non-empty string.");
    if (k === "C" && !/^[A-Z]{2}$/.test(v)) fail("subject.C", "expected a two-letter country code such as DE.");
    if (v.length > SUBJECT_MAX) fail(`subject.${k}`, `longer than ${SUBJECT_MAX} characters (RFC 5280 upper bound).`);
    out[k] = v;
  }
  return out;
}

const LDH_LABEL = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/i;
// One "*" somewhere in the first label: "*", "m*", "*x", "a*b" (RFC 6125 §6.4.3 lets clients refuse the partial ones;
// the catalogue needs them to test exactly that).
const WILDCARD_LABEL = /^[a-z0-9-]*\*[a-z0-9-]*$/i;

function resolveSan(raw: unknown, fail: (field: string, problem: string) => never): string[] {
  if (!Array.isArray(raw) || raw.length === 0) {
    return fail("san", "expected a non-empty list of DNS names; omit the field for no subjectAltName extension.");
  }
  return raw.map((entry, i) => {
    const field = `san[${i}]`;
    if (typeof entry !== "string" || entry === "") return fail(field, "expected a DNS name such as mx.example.org.");
    const problem = dnsNameProblem(entry);
    if (problem) fail(field, `${JSON.stringify(entry)} is not a DNS name: ${problem}`);
    // RFC 5280 §4.2.1.6: a dNSName has no trailing dot.
    return entry.endsWith(".") ? entry.slice(0, -1) : entry;
  });
}

/** Why `name` cannot be a subjectAltName dNSName, or null if it can. */
export function dnsNameProblem(name: string): string | null {
  const bare = name.endsWith(".") ? name.slice(0, -1) : name;
  if (bare.length === 0) return "empty.";
  if (bare.length > 253) return "longer than 253 characters.";
  const labels = bare.split(".");
  for (const [i, label] of labels.entries()) {
    if (label.length === 0) return "empty label (two dots in a row?).";
    if (label.length > 63) return `label "${label}" is longer than 63 characters.`;
    if (label.includes("*")) {
      if (i !== 0) return "a wildcard is only allowed in the first label.";
      if (!WILDCARD_LABEL.test(label)) return `label "${label}" may hold one "*" and otherwise letters, digits, "-".`;
      if (labels.length < 2) return 'a wildcard needs a name under it (e.g. "*.example.org").';
      continue;
    }
    if (!LDH_LABEL.test(label)) return `label "${label}" may hold only letters, digits and inner "-".`;
  }
  return null;
}

function resolveKeyUsage(
  raw: unknown,
  fail: (field: string, problem: string) => never,
): { usages: KeyUsageName[]; critical: boolean } {
  const hint = "expected { usages: [digitalSignature, …], critical: true|false }, or null for no keyUsage extension.";
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) return fail("keyUsage", hint);
  const { usages, critical } = raw as { usages?: unknown; critical?: unknown };
  // RFC 5280 §4.2.1.3: when the extension appears, at least one bit must be set.
  if (!Array.isArray(usages) || usages.length === 0) return fail("keyUsage.usages", hint);
  for (const u of usages) {
    if (!KEY_USAGE_NAMES.includes(u as KeyUsageName)) {
      fail("keyUsage.usages", `unknown usage ${JSON.stringify(u)}; use ${KEY_USAGE_NAMES.join(", ")}.`);
    }
  }
  if (typeof critical !== "boolean") return fail("keyUsage.critical", "expected true or false.");
  // Bit order (the order does not change the DER BIT STRING, so it must not change the cache key either).
  return { usages: KEY_USAGE_NAMES.filter((u) => usages.includes(u)), critical };
}

const OFFSET = /^([+-])(\d+)([smhdy])$/;
const UNIT_MS: Record<string, number> = { s: 1e3, m: 60e3, h: 3600e3, d: 86400e3, y: 365 * 86400e3 };
const ISO_DATE = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

/** True when the validity bound is written relative to now ("+90d"), so the certificate can drift out of date. */
export function isRelativeTime(spec: string): boolean {
  return spec === "now" || OFFSET.test(spec);
}

/** Resolves a validity bound: "now", an offset ("-1d", "+90d", "+2y"; units s m h d y) or an ISO date (UTC default). */
export function parseTime(spec: string, now: Date, onError?: () => never): Date {
  if (typeof spec === "string") {
    if (spec === "now") return new Date(now.getTime());
    const m = OFFSET.exec(spec);
    if (m) {
      const ms = Number(m[2]) * UNIT_MS[m[3]!]!;
      return new Date(now.getTime() + (m[1] === "-" ? -ms : ms));
    }
    if (ISO_DATE.test(spec)) {
      const bare = /^\d{4}-\d{2}-\d{2}$/.test(spec) ? `${spec}T00:00:00Z` : spec;
      const hasZone = /(Z|[+-]\d{2}:?\d{2})$/.test(bare);
      const t = Date.parse(hasZone ? bare : `${bare}Z`);
      if (Number.isFinite(t)) return new Date(t);
    }
  }
  if (onError) return onError();
  throw new Error(timeHint(spec));
}

function timeHint(spec: unknown): string {
  return `${JSON.stringify(spec)} is neither an offset from now ("-1d", "+90d", "-400d"; units s m h d y) nor an ISO date ("2030-01-01").`;
}
