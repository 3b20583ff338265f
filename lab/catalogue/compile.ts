// Turns validated scenarios into the inputs of the pure libraries and the listeners: one PKI profile for certs/, the
// zone list for zones/, one SMTP listener plan per MX host, and the manifest entries. Everything a scenario can vary is
// a building block combined here; no scenario is special-cased.
//
// Two steps, because TLSA data depends on certificates: planLab() here before the PKI exists, zoneSpecs()
// (zone-specs.ts) after.
import type { CertificateProfile, PkiProfile } from "../../certs/index.js";
import type { LoadedScenario } from "./load.js";
import type { CertificateSpec, HostSpec, StsFault, StsSpec, TlsaSpec } from "./schema.js";

export interface LabAddresses {
  /** The lab's suffix without the trailing dot, e.g. "lab.example". */
  suffix: string;
  dnsAddress: string;
  dnsPort: number;
  /** First SMTP listener address; later hosts count up (127.0.25.1, 127.0.25.2, … then 127.0.26.1 …). */
  smtpFirstAddress: string;
  smtpPort: number;
  /**
   * Where `mta-sts.<domain>` points: the lab's HTTPS policy server (lab/sts/), port 443 (RFC 8461 §3.3 fetches
   * https://mta-sts.<domain>/ with no port). Default: the DNS server's address, which every lab owns alone.
   */
  stsAddress?: string;
}

/**
 * The lab's shared hierarchy: most scenarios' leaves are issued by lab/ca, like most sites' by one public CA. ECDSA
 * P-256 (like Let's Encrypt's E-series): cheap to generate and sign with, and every client tested accepts RSA leaves
 * under it; scenarios that need an RSA CA (the seed's R3) define their own.
 */
export const LAB_CERTIFICATES: CertificateProfile[] = [
  { name: "lab/root", key: "ecdsa-p256", subject: { CN: "danelab Root X1", O: "danelab" }, ca: true },
  {
    name: "lab/ca",
    issuer: "lab/root",
    key: "ecdsa-p256",
    subject: { CN: "danelab R3", O: "danelab" },
    ca: true,
    pathLength: 0,
  },
  // The "public" Web PKI stand-in for MTA-STS (RFC 8461 §4.2: certificates chain to a root the sender trusts). It is
  // apart from lab/root on purpose: DANE needs no CA, and MTA containers are told to trust only this root, so a DANE
  // certificate (under lab/root) is never PKIX-valid by accident.
  {
    name: "lab/public-root",
    key: "ecdsa-p256",
    subject: { CN: "danelab Public Root P1", O: "danelab public" },
    ca: true,
  },
  {
    name: "lab/public-ca",
    issuer: "lab/public-root",
    key: "ecdsa-p256",
    subject: { CN: "danelab Public CA P2", O: "danelab public" },
    ca: true,
    pathLength: 0,
  },
];

const DEFAULT_LEAF: CertificateSpec = {
  name: "leaf",
  issuer: "lab/ca",
  key: "rsa-2048",
  subject: { CN: "{mx}" },
  san: ["{mx}"],
  keyUsage: { usages: ["digitalSignature", "keyEncipherment"], critical: true },
  extKeyUsage: ["serverAuth"],
};
const DEFAULT_CHAIN = ["leaf", "lab/ca"];
const DEFAULT_TLSA: TlsaSpec[] = [{ usage: 2, selector: 1, matching: 1, cert: "lab/ca" }];
export const TLSA_TTL = 300;

export interface TlsaPlan {
  /** Owner name without trailing dot: _25._tcp.<host>. */
  owner: string;
  spec: TlsaSpec;
}

export interface HostPlan {
  scenario: string;
  /** The MX target, without trailing dot. */
  name: string;
  preference: number;
  /** Where the address and TLSA live: the CNAME target when the host is an alias (RFC 7672 §2.2.2), else `name`. */
  addressName: string;
  address: string;
  port: number;
  /** Certificate names, PKI-global (scenario-local names are prefixed "<id>/"). */
  chain: string[];
  extraChains: string[][];
  sni: { names: string[]; chain: string[] }[];
  tlsaOwner: string;
  /**
   * Where the TLSA RRset itself lives: tlsaOwner, the CNAME target when _25._tcp.<host> is a CNAME, or the wildcard
   * *._tcp.<host> that answers for it.
   */
  tlsaHolder: string;
  tlsa: TlsaSpec[];
  smtp: HostSpec["smtp"];
}

/** The scenario's MTA-STS policy as served (lab/sts/) and announced in DNS. */
export interface StsPlan {
  /** The policy host, without trailing dot: mta-sts.<domain> (RFC 8461 §3.3). */
  host: string;
  id: string;
  /** Publish `_mta-sts.<domain>` TXT. */
  record: boolean;
  mode: StsSpec["mode"];
  /** mx patterns, expanded (RFC 8461 §4.1). */
  mx: string[];
  maxAge: number;
  fault: StsFault | null;
  /** The certificate the policy host presents (PKI-global name), then its issuer. */
  chain: string[];
  /** The TLS-RPT rua address (RFC 8460 §3), or null when no _smtp._tls record is published. */
  tlsrpt: string | null;
}

export interface ScenarioPlan {
  scenario: LoadedScenario;
  /** The scenario's zone without trailing dot: <id>.<suffix>. */
  domain: string;
  /** The next-hop (recipient) domain that owns the MX RRset: the zone itself unless `dns.mailDomain` says otherwise. */
  mailDomain: string;
  hosts: HostPlan[];
  sts: StsPlan | null;
}

export interface LabPlan {
  addresses: LabAddresses;
  pki: PkiProfile;
  scenarios: ScenarioPlan[];
}

/** A reference that cannot be resolved (unknown certificate, host) — reported like a schema problem. */
export class PlanError extends Error {
  constructor(file: string, message: string) {
    super(`${file}: ${message}`);
    this.name = "PlanError";
  }
}

/**
 * Plans the lab. `scenarios` is the whole catalogue, so that every MX host keeps its address whatever is selected;
 * `selected` (ids) narrows what is built and served.
 */
export function planLab(scenarios: LoadedScenario[], addresses: LabAddresses, selected?: Set<string>): LabPlan {
  const certificates: CertificateProfile[] = [...LAB_CERTIFICATES];
  let hostIndex = 0;
  const plans: ScenarioPlan[] = [];
  for (const scenario of scenarios) {
    const domain = `${scenario.id}.${addresses.suffix}`;
    const fqdn = (relative: string) => (relative === "@" ? domain : `${relative}.${domain}`);
    const hostNames = new Map(scenario.hosts.map((h) => [h.name, fqdn(h.name)]));
    const firstHost = scenario.hosts[0]!;
    const expand = (text: string): string[] =>
      expandRange(
        text
          .replaceAll("{domain}", domain)
          .replaceAll("{suffix}", addresses.suffix)
          .replaceAll("{mx}", fqdn(firstHost.name))
          .replace(/\{host:([^}]+)\}/g, (_m, name: string) => {
            const h = hostNames.get(name);
            if (!h) throw new PlanError(scenario.file, `{host:${name}} names no host of this scenario.`);
            return h;
          }),
        scenario.file,
      );
    const one = (text: string) => expand(text).join(",");

    // Certificates: the scenario's own, with "leaf" merged over the default leaf.
    const local = new Map<string, CertificateSpec>([["leaf", DEFAULT_LEAF]]);
    if (scenario.sts) local.set(STS_CERT, stsCertificate(scenario.sts, domain));
    if (scenario.sts?.fault === "id-changes" && !scenario.sts.record)
      throw new PlanError(
        scenario.file,
        "sts fault id-changes changes the id of the _mta-sts TXT record, but record is false; set record: true or drop the fault.",
      );
    for (const c of scenario.pki.certificates) {
      if (scenario.sts && c.name === STS_CERT)
        throw new PlanError(
          scenario.file,
          `certificate "${STS_CERT}" is the policy host's, made from the sts block; give this one another name.`,
        );
      local.set(c.name, c.name === "leaf" ? { ...DEFAULT_LEAF, ...c } : c);
    }
    const globalName = (name: string) => (name.startsWith("lab/") ? name : `${scenario.id}/${name}`);
    const known = new Set([...local.keys()].map(globalName).concat(LAB_CERTIFICATES.map((c) => c.name)));
    const ref = (name: string, field: string) => {
      const g = globalName(name);
      if (!known.has(g))
        throw new PlanError(
          scenario.file,
          `${field} names certificate "${name}", which this scenario does not define (defined: ${[...local.keys()].join(", ")}, plus lab/root and lab/ca).`,
        );
      return g;
    };
    for (const c of local.values()) {
      const subject = c.subject ? Object.fromEntries(Object.entries(c.subject).map(([k, v]) => [k, one(v!)])) : {};
      certificates.push({
        name: globalName(c.name),
        ...(c.issuer ? { issuer: ref(c.issuer, `certificate ${c.name}: issuer`) } : {}),
        key: c.key ?? "rsa-2048",
        subject,
        ...(c.san === null || c.san === undefined ? {} : { san: c.san.flatMap(expand) }),
        ...(c.ca !== undefined ? { ca: c.ca } : {}),
        ...(c.pathLength !== undefined ? { pathLength: c.pathLength } : {}),
        ...(c.keyUsage !== undefined ? { keyUsage: c.keyUsage } : {}),
        ...(c.extKeyUsage !== undefined ? { extKeyUsage: c.extKeyUsage } : {}),
        ...(c.validity ? { validity: c.validity } : {}),
        ...(c.authorityKeyIdentifier !== undefined ? { authorityKeyIdentifier: c.authorityKeyIdentifier } : {}),
      });
    }

    const hosts: HostPlan[] = scenario.hosts.map((h) => {
      const name = fqdn(h.name);
      const addressName = h.cname ? fqdn(h.cname) : name;
      const chainRef = (names: string[], field: string) => names.map((n) => ref(n, field));
      const tlsaOwner = `_25._tcp.${addressName}`;
      if (h.tlsaCname && h.tlsaWildcard) {
        throw new PlanError(
          scenario.file,
          `host ${h.name}: tlsaCname and tlsaWildcard both say where the TLSA RRset lives; keep one of them.`,
        );
      }
      const tlsa = (h.tlsa ?? DEFAULT_TLSA).map((t) =>
        "cert" in t ? { ...t, cert: ref(t.cert, `host ${h.name}: tlsa`) } : t,
      );
      return {
        scenario: scenario.id,
        name,
        preference: h.preference,
        addressName,
        address: nthAddress(addresses.smtpFirstAddress, hostIndex++),
        port: addresses.smtpPort,
        chain: chainRef(h.chain ?? DEFAULT_CHAIN, `host ${h.name}: chain`),
        extraChains: (h.extraChains ?? []).map((c) => chainRef(c, `host ${h.name}: extraChains`)),
        sni: (h.sni ?? []).map((s) => ({ names: s.names.map(one), chain: chainRef(s.chain, `host ${h.name}: sni`) })),
        tlsaOwner,
        // RFC 4592: with tlsaWildcard the RRset is synthesised from *._tcp.<host> for _25._tcp.<host>.
        tlsaHolder: h.tlsaCname ? fqdn(h.tlsaCname) : h.tlsaWildcard ? `*._tcp.${addressName}` : tlsaOwner,
        tlsa,
        smtp: h.smtp,
      };
    });
    if (scenario.dns.nsec3 && scenario.dns.denial !== "nsec3") {
      throw new PlanError(
        scenario.file,
        "dns.nsec3 sets NSEC3 parameters, but dns.denial is not nsec3; add denial: nsec3.",
      );
    }
    const mailDomain = fqdn(scenario.dns.mailDomain);
    if (hosts.some((h) => h.name === mailDomain || h.addressName === mailDomain)) {
      throw new PlanError(
        scenario.file,
        `dns.mailDomain "${scenario.dns.mailDomain}" is also the name of an MX host; give the recipient domain a name of its own.`,
      );
    }
    const sts: StsPlan | null = scenario.sts
      ? {
          host: `mta-sts.${domain}`,
          id: scenario.sts.id,
          record: scenario.sts.record,
          mode: scenario.sts.mode,
          mx: scenario.sts.mx ? scenario.sts.mx.map(one) : hosts.map((h) => h.name),
          maxAge: scenario.sts.maxAge,
          fault: scenario.sts.fault ?? null,
          chain: [globalName(STS_CERT), local.get(STS_CERT)!.issuer!],
          tlsrpt: scenario.sts.tlsrpt ? `tlsrpt@${domain}` : null,
        }
      : null;
    plans.push({ scenario, domain, mailDomain, hosts, sts });
  }
  if (!selected) return { addresses, pki: { certificates }, scenarios: plans };
  return {
    addresses,
    pki: { certificates: certificates.filter((c) => c.name.startsWith("lab/") || selected.has(c.name.split("/")[0]!)) },
    scenarios: plans.filter((p) => selected.has(p.scenario.id)),
  };
}

/** The local name of the policy host's certificate; a scenario's own certificate may not take it. */
const STS_CERT = "mta-sts";

/**
 * The policy host's certificate: a PKIX-valid one under lab/public-ca (RFC 8461 §3.3: "valid for the mta-sts
 * hostname"), or, for the certificate faults, one issued under the DANE hierarchy (no public root vouches for it) or
 * one naming another host.
 */
function stsCertificate(sts: StsSpec, domain: string): CertificateSpec {
  const name = sts.fault === "wrong-name-cert" ? `www.${domain}` : `mta-sts.${domain}`;
  return {
    name: STS_CERT,
    issuer: sts.fault === "untrusted-cert" ? "lab/ca" : "lab/public-ca",
    key: "ecdsa-p256",
    subject: { CN: name },
    san: [name],
    keyUsage: { usages: ["digitalSignature"], critical: true },
    extKeyUsage: ["serverAuth"],
  };
}

/** The most names one `{a..b}` text may expand to (a certificate with more SANs is no test any client needs). */
export const MAX_RANGE_NAMES = 1000;

/** "host{1..3}.x" → host1.x, host2.x, host3.x (for long SAN lists); at most MAX_RANGE_NAMES names. */
function expandRange(text: string, file: string): string[] {
  const ranges = [...text.matchAll(/\{(\d{1,9})\.\.(\d{1,9})\}/g)];
  const names = ranges.reduce((n, m) => n * Math.max(0, Number(m[2]) - Number(m[1]) + 1), 1);
  if (names > MAX_RANGE_NAMES) {
    throw new PlanError(
      file,
      `"${text}" expands to ${names} names; a {from..to} range may produce at most ${MAX_RANGE_NAMES}. Use a ` +
        "smaller range.",
    );
  }
  return expandRanges(text);
}

function expandRanges(text: string): string[] {
  const m = /\{(\d+)\.\.(\d+)\}/.exec(text);
  if (!m) return [text];
  const from = Number(m[1]);
  const to = Number(m[2]);
  const out: string[] = [];
  for (let i = from; i <= to; i++) out.push(...expandRanges(text.replace(m[0], String(i))));
  return out;
}

/**
 * The n-th SMTP address counting from `first` (250 hosts per /24 so .0 and .255 are never used). Throws PlanError when
 * `first` does not end in 1–250 or the count runs past x.y.255.250.
 */
export function nthAddress(first: string, n: number): string {
  const parts = first.split(".").map(Number);
  const [a, b, c, d] = parts as [number, number, number, number];
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255) || d < 1 || d > 250) {
    throw new PlanError(
      "--smtp-address",
      `${first} cannot start the SMTP listener addresses: give an IPv4 address whose last number is 1–250 ` +
        "(each MX host gets the next one, 250 per /24, skipping .0 and .251–.255), such as the default 127.0.25.1.",
    );
  }
  const start = d - 1 + n;
  const third = c + Math.floor(start / 250);
  if (third > 255) {
    const room = (255 - c) * 250 + (251 - d);
    throw new PlanError(
      "--smtp-address",
      `starting at ${first}, the ${n + 1}th MX host would need an address past ${a}.${b}.255.250: there is room ` +
        `for ${room} MX host${room === 1 ? "" : "s"} from there. Choose a lower first address with --smtp-address, such as 127.0.25.1.`,
    );
  }
  return `${a}.${b}.${third}.${(start % 250) + 1}`;
}
