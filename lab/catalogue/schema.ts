// The scenario file format: one YAML file per scenario (lab/scenarios/*.yaml, or a user's --scenarios DIR).
//
// A scenario only states how it differs from the lab's defaults (scenarios.md: "Unless a row says otherwise"): a
// signed, securely delegated zone `<id>.<suffix>`; one MX host `mx.<id>.<suffix>`; a leaf issued by the lab's shared
// intermediate (`lab/ca`, itself issued by `lab/root`), RSA 2048, keyUsage digitalSignature+keyEncipherment, EKU
// serverAuth, CN = SAN = the MX host; the server presents leaf + intermediate; TLSA `2 1 1` of the intermediate;
// STARTTLS offered; TLS 1.2 and 1.3 allowed. The loader (load.ts) applies those defaults; compile.ts turns the result
// into inputs for certs/, zones/ and the SMTP listeners. Nothing here names a scenario: scenarios are data.
//
// Strings may use placeholders: {domain} (the scenario's zone, e.g. ta-baseline.lab.example), {suffix}
// (lab.example), {mx} (the first MX host's full name), {host:NAME} (the full name of host NAME), and a numeric range
// {1..99} that expands one SAN entry into many.
import { z } from "zod";
import {
  KEY_TYPES as CERT_KEY_TYPES,
  EXT_KEY_USAGE_OIDS,
  type ExtKeyUsageName,
  KEY_USAGE_NAMES,
  type KeyType,
  type KeyUsageName,
} from "../../certs/types.js";

export const EXPECTS = [
  "deliver",
  "deliver-after-retry",
  "no-delivery",
  "tls-required",
  "opportunistic",
  "implementation-defined",
] as const;
export type Expect = (typeof EXPECTS)[number];

// The names certs/ understands, so the schema and the PKI builder can never disagree.
const KEY_TYPES = CERT_KEY_TYPES as readonly KeyType[] as [KeyType, ...KeyType[]];
const KEY_USAGES = KEY_USAGE_NAMES as readonly KeyUsageName[] as [KeyUsageName, ...KeyUsageName[]];
const EXT_KEY_USAGES = Object.keys(EXT_KEY_USAGE_OIDS) as [ExtKeyUsageName, ...ExtKeyUsageName[]];

/** A DNS label sequence relative to the scenario zone ("mx", "mx.insecure", "_25._tcp.mx"); "@" is the zone apex. */
const relativeName = z
  .string()
  .regex(/^(@|[A-Za-z0-9_*-]+(\.[A-Za-z0-9_*-]+)*)$/, "a name relative to the scenario zone, like mx or _25._tcp.mx");

/** A certificate name: local to the scenario ("leaf", "r3") or one of the lab's shared ones ("lab/root", "lab/ca"). */
const certName = z.string().regex(/^(lab\/)?[a-z0-9][a-z0-9-]*$/, "a certificate name like leaf, r3, lab/ca");

const certificate = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, "a local certificate name (lower case, digits, dashes)"),
    issuer: certName.optional().describe("the certificate whose key signs this one; omitted = self-signed"),
    key: z.enum(KEY_TYPES).optional(),
    subject: z
      .object({
        CN: z.string().optional(),
        O: z.string().optional(),
        OU: z.string().optional(),
        C: z.string().optional(),
      })
      .strict()
      .optional(),
    san: z.array(z.string()).nullable().optional().describe("DNS names; null = no subjectAltName extension"),
    ca: z.boolean().optional(),
    pathLength: z.number().int().min(0).optional(),
    keyUsage: z
      .object({ usages: z.array(z.enum(KEY_USAGES)), critical: z.boolean().default(true) })
      .strict()
      .nullable()
      .optional(),
    extKeyUsage: z.array(z.enum(EXT_KEY_USAGES)).nullable().optional(),
    validity: z.object({ notBefore: z.string().optional(), notAfter: z.string().optional() }).strict().optional(),
    authorityKeyIdentifier: z.boolean().optional(),
  })
  .strict();
export type CertificateSpec = z.infer<typeof certificate>;

/** A TLSA record: computed from a certificate of the scenario, or literal presentation data. */
const tlsa = z.union([
  z
    .object({
      usage: z.number().int().min(0).max(255),
      // Computed from a certificate: only the assigned selectors and matching types can be computed (RFC 6698
      // §2.1.2–2.1.3); other values are published with literal `data`.
      selector: z.number().int().min(0).max(1),
      matching: z.number().int().min(0).max(2),
      cert: certName,
      corrupt: z
        .enum(["digest", "length"])
        .optional()
        .describe("digest: flip the last byte (a wrong digest); length: drop a byte (unusable, RFC 7672 §3.1.3)"),
    })
    .strict(),
  z
    .object({
      // RFC 6698 §2.1: three 8-bit fields (any value 0–255: unassigned ones make unusable records, RFC 7671 §4),
      // then the association data in hex (whole bytes).
      data: z
        .string()
        .regex(
          /^(25[0-5]|2[0-4]\d|1?\d?\d) (25[0-5]|2[0-4]\d|1?\d?\d) (25[0-5]|2[0-4]\d|1?\d?\d) ([0-9A-Fa-f]{2})+$/,
          'literal TLSA data like "3 1 1 <hex>": usage, selector and matching type 0–255, then whole bytes of hex',
        ),
    })
    .strict(),
]);
export type TlsaSpec = z.infer<typeof tlsa>;

const chain = z.array(certName).min(1);

const smtp = z
  .object({
    starttls: z.enum(["offered", "absent", "refused", "abort"]).default("offered"),
    greylist: z
      .object({
        connections: z.number().int().min(1).optional().describe("first N connections get a 421 greeting"),
        rcptSeconds: z.number().int().min(1).optional().describe("451 4.7.1 on the first RCPT for S seconds"),
      })
      .strict()
      .optional(),
    tls: z
      .object({
        minVersion: z.enum(["TLSv1.2", "TLSv1.3"]).optional(),
        maxVersion: z.enum(["TLSv1.2", "TLSv1.3"]).optional(),
        ciphers: z.string().optional(),
        requestClientCert: z.boolean().optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

const host = z
  .object({
    name: relativeName.default("mx"),
    preference: z.number().int().min(0).max(65535).default(10),
    cname: relativeName
      .optional()
      .describe("the MX host is a CNAME to this name; address and TLSA live at the target (RFC 7672 §2.2.2)"),
    chain: chain.optional().describe("the presented chain, leaf first; default [leaf, lab/ca]"),
    extraChains: z.array(chain).optional().describe("more chains held at once (e.g. RSA + ECDSA)"),
    sni: z
      .array(z.object({ names: z.array(z.string()).min(1), chain }).strict())
      .optional()
      .describe("chains chosen by SNI; `chain` is then what clients without a matching SNI get"),
    tlsa: z.array(tlsa).optional().describe("default: 2 1 1 of lab/ca; [] = no TLSA RRset"),
    tlsaCname: relativeName.optional().describe("_25._tcp.<host> is a CNAME to this name, which holds the TLSA RRset"),
    tlsaWildcard: z
      .boolean()
      .optional()
      .describe("the TLSA RRset lives at the wildcard *._tcp.<host> and answers _25._tcp.<host> (RFC 4592)"),
    smtp: smtp.default({ starttls: "offered" }),
  })
  .strict();
export type HostSpec = z.infer<typeof host>;

const fault = z
  .object({
    kind: z.enum(["bad-signature", "expired-signature", "servfail", "timeout", "truncate-udp"]),
    name: relativeName,
    type: z.string().regex(/^[A-Z0-9]+$/, "a record type like TLSA, MX, A"),
  })
  .strict();

const dns = z
  .object({
    signed: z.boolean().default(true),
    ds: z.enum(["correct", "wrong"]).default("correct"),
    algorithm: z
      .union([z.literal(1), z.literal(8), z.literal(13), z.literal(15)])
      .default(13)
      .describe("DNSSEC algorithm of the scenario zone; 1 (RSAMD5) is one no current validator implements"),
    subzones: z
      .array(z.object({ name: relativeName, signed: z.boolean().default(true) }).strict())
      .default([])
      .describe("zones delegated below the scenario zone (e.g. an unsigned zone for a host's address)"),
    denial: z
      .enum(["nsec", "nsec3"])
      .default("nsec")
      .describe("authenticated denial of existence of the zone and its subzones: NSEC (RFC 4034) or NSEC3 (RFC 5155)"),
    nsec3: z
      .object({
        iterations: z.number().int().min(0).max(65535).default(0).describe("RFC 5155 §3.1.3; RFC 9276 §3.1: use 0"),
        salt: z
          .string()
          .regex(/^([0-9a-fA-F]{2}){0,255}$/, 'hex, 0 to 255 octets, e.g. "aabbccdd" or "" for none')
          .default(""),
        optOut: z.boolean().default(false).describe("RFC 5155 §6: unsigned delegations get no NSEC3 of their own"),
      })
      .strict()
      .optional()
      .describe("NSEC3 parameters (with denial: nsec3); default 0 iterations, no salt, no Opt-Out"),
    nullMx: z
      .boolean()
      .default(false)
      .describe(
        'RFC 7505 §3: the domain publishes "MX 0 ." (accepts no mail) instead of its hosts\' MX records; the first ' +
          "host's address goes to the domain itself, where a client wrongly using the implicit MX (RFC 5321 §5.1) lands",
      ),
    mailDomain: relativeName
      .default("@")
      .describe(
        "the next-hop (recipient) domain that owns the MX RRset, relative to the scenario zone; a name in an unsigned " +
          "subzone makes the MX RRset insecure while the MX hosts stay in the signed zone (RFC 7672 §2.2.1)",
      ),
    faults: z.array(fault).default([]),
    records: z
      .array(z.object({ name: relativeName, type: z.literal("TXT"), data: z.string().max(255) }).strict())
      .default([])
      .describe("extra records, e.g. a TXT at _25._tcp.mx so that its TLSA query is NODATA rather than NXDOMAIN"),
  })
  .strict();

/**
 * MTA-STS (RFC 8461) beside DANE: the policy the lab's HTTPS policy server serves at
 * https://mta-sts.<domain>/.well-known/mta-sts.txt, the `_mta-sts` TXT record announcing it, and the TLS-RPT record
 * (RFC 8460) naming where reports go. A fault makes the fetch fail in one named way.
 */
export const STS_FAULTS = [
  "not-found",
  "content-type",
  "untrusted-cert",
  "wrong-name-cert",
  "redirect",
  "timeout",
  "id-changes",
] as const;
export type StsFault = (typeof STS_FAULTS)[number];

const sts = z
  .object({
    // RFC 8461 §3.1: id = 1*32(ALPHA / DIGIT); a new id tells senders to fetch the policy again.
    id: z
      .string()
      .regex(/^[A-Za-z0-9]{1,32}$/, "1 to 32 letters and digits (RFC 8461 §3.1), e.g. 20261207T0000 without the T")
      .default("2026120701"),
    record: z
      .boolean()
      .default(true)
      .describe("publish the _mta-sts TXT record; false = a policy file without the record that announces it"),
    mode: z.enum(["enforce", "testing", "none"]).describe("RFC 8461 §5"),
    mx: z
      .array(z.string().min(1))
      .optional()
      .describe(
        'the policy\'s mx patterns (RFC 8461 §4.1), e.g. ["*.{domain}"]; default: every MX host of the scenario',
      ),
    maxAge: z
      .number()
      .int()
      .min(0)
      .max(31557600)
      .default(86400)
      .describe("max_age in seconds (RFC 8461 §3.2: at most 31557600)"),
    fault: z
      .enum(STS_FAULTS)
      .optional()
      .describe(
        "how fetching the policy goes wrong: not-found (404), content-type (text/html), untrusted-cert (issued under " +
          "the DANE hierarchy, not the public root), wrong-name-cert, redirect (RFC 8461 §3.3 forbids following it), " +
          "timeout (the server never answers), id-changes (the _mta-sts TXT record's id alternates between two values " +
          "from one query to the next, each answer signed in a signed zone; the policy stays the same, RFC 8461 §3.1)",
      ),
    tlsrpt: z.boolean().default(true).describe("publish _smtp._tls TXT (RFC 8460 §3) with rua=mailto:tlsrpt@<domain>"),
  })
  .strict();
export type StsSpec = z.infer<typeof sts>;

export const scenarioSchema = z
  .object({
    id: z
      .string()
      .regex(
        /^[a-z0-9][a-z0-9-]{0,61}[a-z0-9]$/,
        "a DNS label: lower case, digits and dashes (it becomes <id>.<suffix>)",
      ),
    title: z.string().min(1),
    group: z.string().min(1),
    expect: z.enum(EXPECTS),
    teach: z.string().min(1).describe("what is tricky, in plain words"),
    rfc: z.array(z.string()).default([]),
    known: z.string().optional().describe("what real MTAs were seen to do"),
    pki: z
      .object({ certificates: z.array(certificate).default([]) })
      .strict()
      .default({ certificates: [] }),
    hosts: z
      .array(host)
      .min(1)
      .default([{ name: "mx", preference: 10, smtp: { starttls: "offered" } }]),
    dns: dns.default({
      signed: true,
      ds: "correct",
      algorithm: 13,
      subzones: [],
      denial: "nsec",
      nullMx: false,
      mailDomain: "@",
      faults: [],
      records: [],
    }),
    sts: sts.optional(),
  })
  .strict();

export type ScenarioFile = z.infer<typeof scenarioSchema>;
