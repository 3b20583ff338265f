// What the training board's scenario page shows, as JSON (`GET /api/scenarios/<id>`): the teaching text, the DNS
// records with the DNSSEC status a validating resolver reaches for each RRset, the chain every MX host presents
// (per-certificate names, keyUsage, extKeyUsage, validity), which certificate each TLSA record matches — and whether
// that match really authenticates the server or only looks right — and the commands to inspect it all by hand.
//
// `scenarioDetail` is a pure function of the lab's plan, PKI and signed tree (the `Lab` object of lab/up.ts fits): no
// sockets, no files. `danelab explain` prints much of the same as text (cli/explain.ts); this is the structured form
// for the UI. What a TLSA record, a chain or a name means is decided in dane/ (RFC 7672); this file lays it out.
import type { Pki } from "../certs/index.js";
import { type CertificateSummary, describeCertificate } from "../certs/index.js";
import {
  associationMatches,
  keyUsageNotes,
  type NameCheck,
  nameChecks,
  type PathCertificate,
  recordAtDepth,
  referenceIdentifiers as referenceIdentifiersOf,
  signaturePath,
  taPath,
  tlsaUsability,
  validityNote,
} from "../dane/index.js";
import { bindTrustAnchors, recordFields, resolveValidated, type SignedTree } from "../zones/index.js";
import { type HostPlan, type LabPlan, type ScenarioPlan, TLSA_TTL, tlsaRdata } from "./catalogue/compile.js";

/** A severity for a note on a certificate or record: ok = this is why it works, warn = looks right only, bad = breaks. */
export type NoteLevel = "ok" | "info" | "warn" | "bad";
export interface Note {
  level: NoteLevel;
  text: string;
}

export type DnsStatus = "secure" | "insecure" | "bogus" | "servfail" | "timeout" | "truncated" | "unknown";

export interface DnsRecordView {
  /** Owner name, fully qualified with the trailing dot. */
  name: string;
  type: string;
  ttl: number;
  /** Presentation form of the RDATA. */
  data: string;
  /** What a validating resolver concludes for this RRset (resolver mode of the lab's DNS server). */
  status: DnsStatus;
  /** The deliberate fault on this RRset, e.g. "bad-signature". */
  fault: string | null;
  /** The validator's explanation, when it has one. */
  why: string | null;
  /** The zone that holds it. */
  zone: string;
}

export interface TlsaView {
  /** The record in presentation form, as published. */
  record: string;
  usage: number;
  selector: number;
  matching: number;
  hex: string;
  /** RFC 7672 §3.1.3: only DANE-TA(2) and DANE-EE(3) with selector 0/1, matching 0/1/2 and the right digest length. */
  usable: boolean;
  note: string | null;
  /** The certificates of the presented chains this record's data matches: chain index and depth (0 = leaf). */
  matches: { chain: number; depth: number; authenticates: boolean }[];
}

export interface CertificateView extends CertificateSummary {
  /** The certificate's name in the lab's PKI ("seed-mx06/r3", "lab/ca"). */
  name: string;
  depth: number;
  /** Indices into the host's `tlsa` of the records whose data matches this certificate. */
  tlsaMatches: number[];
  /** True when a TLSA match on this certificate really authenticates the chain (the leaf chains up to it). */
  authenticates: boolean;
  /** Leaf only: the SAN entries (or the CN) a DANE client accepts as a reference identifier (RFC 7672 §3.2.2). */
  nameMatches: string[];
  /** What `nameMatches` match: the host (TLSA base domain or MX host), only the next-hop domain, or nothing. */
  nameMatchKind: "host" | "next-hop" | null;
  /** True when something about this certificate only looks right (see notes). */
  looksRightOnly: boolean;
  notes: Note[];
}

export interface ChainView {
  /** "presented chain", "also held", "for SNI mx.example". */
  label: string;
  certificates: CertificateView[];
}

export interface CommandView {
  label: string;
  command: string;
}

export interface HostView {
  /** MX target, fully qualified. */
  name: string;
  preference: number;
  /** Where address and TLSA live (the CNAME target when the MX host is an alias). */
  addressName: string;
  address: string;
  port: number;
  smtp: HostPlan["smtp"];
  /** Behaviour in words: "first 2 connections get 421", "STARTTLS not offered". */
  behaviour: string[];
  tlsaOwner: string;
  tlsa: TlsaView[];
  /** The names a DANE client accepts in the certificate (TLSA base domain, MX host, next-hop domain). */
  referenceIdentifiers: string[];
  chains: ChainView[];
  commands: CommandView[];
}

export interface ScenarioDetail {
  id: string;
  title: string;
  group: string;
  expect: string;
  domain: string;
  recipient: string;
  teach: string;
  rfc: string[];
  known: string | null;
  dns: {
    zone: string;
    signed: boolean;
    ds: "correct" | "wrong";
    /** The domain publishes a Null MX (RFC 7505 `MX 0 .`): its hosts are reached, if at all, outside the MX RRset. */
    nullMx: boolean;
    faults: { kind: string; name: string; type: string }[];
    records: DnsRecordView[];
  };
  hosts: HostView[];
}

/** The parts of a running (or built) lab the builder reads; lab/up.ts's `Lab` fits. */
export interface LabView {
  plan: LabPlan;
  pki: Pki;
  tree: SignedTree;
}

/** The scenario page's data, or undefined when the lab does not serve a scenario with this id. */
export function scenarioDetail(lab: LabView, id: string): ScenarioDetail | undefined {
  const sp = lab.plan.scenarios.find((p) => p.scenario.id === id);
  if (!sp) return undefined;
  const s = sp.scenario;
  return {
    id: s.id,
    title: s.title,
    group: s.group,
    expect: s.expect,
    domain: `${sp.mailDomain}.`,
    recipient: `probe@${sp.mailDomain}`,
    teach: s.teach.trim(),
    rfc: s.rfc,
    known: s.known?.trim() ?? null,
    dns: {
      zone: `${sp.domain}.`,
      signed: s.dns.signed,
      ds: s.dns.ds,
      nullMx: s.dns.nullMx === true,
      faults: s.dns.faults.map((f) => ({
        kind: f.kind,
        name: f.name === "@" ? `${sp.domain}.` : `${f.name}.${sp.domain}.`,
        type: f.type,
      })),
      records: dnsRecords(lab.tree, sp),
    },
    hosts: [...sp.hosts].sort((a, b) => a.preference - b.preference).map((h) => hostView(lab, sp, h)),
  };
}

/**
 * `scenarioDetail` with a cache per scenario: the lab's plan, PKI and zones do not change while it runs, and the page's
 * DNS statuses cost real signature checks. This is what the HTTP API's `scenarioDetail` option takes.
 */
export function scenarioDetails(lab: LabView): (id: string) => ScenarioDetail | undefined {
  const cache = new Map<string, ScenarioDetail | undefined>();
  return (id) => {
    if (!cache.has(id)) cache.set(id, scenarioDetail(lab, id));
    return cache.get(id);
  };
}

/** One `danelab check` result directory (`<stateDir>/checks/<id>/matrix.json`, written by clients/check.ts). */
export interface CheckSummary {
  id: string;
  generated: string;
  columns: string[];
  scenarios: number;
}

// --- DNS ---------------------------------------------------------------------------------------------------------

const SHOWN_TYPES = new Set(["MX", "A", "AAAA", "CNAME", "TLSA", "DS"]);

/** The records a mail client looks up for this scenario, with the status a validating resolver gives each RRset. */
function dnsRecords(tree: SignedTree, sp: ScenarioPlan): DnsRecordView[] {
  const inScenario = (origin: string) => origin === sp.domain || origin.endsWith(`.${sp.domain}`);
  const out: DnsRecordView[] = [];
  const statusCache = new Map<string, Pick<DnsRecordView, "status" | "fault" | "why">>();
  const statusOf = (name: string, type: string) => {
    const key = `${name} ${type}`;
    let st = statusCache.get(key);
    if (!st) {
      st = validate(tree, name, type);
      statusCache.set(key, st);
    }
    return st;
  };
  for (const zone of tree.zones) {
    // The DS of the scenario's zone lives in the parent (the suffix zone): show it with the child's records.
    const isParent = !inScenario(zone.origin) && sp.domain.endsWith(`.${zone.origin}`) && zone.origin !== "";
    if (!inScenario(zone.origin) && !isParent) continue;
    for (const rr of zone.records().map(recordFields)) {
      if (!SHOWN_TYPES.has(rr.type)) continue;
      const bare = rr.name.replace(/\.$/, "").toLowerCase();
      if (isParent && !(rr.type === "DS" && (bare === sp.domain || bare.endsWith(`.${sp.domain}`)))) continue;
      if (!isParent && rr.type === "A" && bare.startsWith("ns1.")) continue; // nameserver glue is not what a client asks for
      out.push({ ...rr, ...statusOf(bare, rr.type), zone: zone.origin === "" ? "." : `${zone.origin}.` });
    }
  }
  return out;
}

function validate(tree: SignedTree, name: string, type: string): Pick<DnsRecordView, "status" | "fault" | "why"> {
  try {
    const r = resolveValidated(tree, { name, type });
    const fault = r.fault?.kind ?? null;
    let status: DnsStatus = r.status;
    if (fault === "servfail") status = "servfail";
    else if (fault === "timeout") status = "timeout";
    else if (fault === "truncate-udp") status = "truncated";
    return { status, fault, why: r.why ?? null };
  } catch (err) {
    return { status: "unknown", fault: null, why: (err as Error).message };
  }
}

// --- hosts, TLSA, chains -------------------------------------------------------------------------------------------

function hostView(lab: LabView, sp: ScenarioPlan, h: HostPlan): HostView {
  const tlsa = h.tlsa.map((spec) => {
    const r = tlsaRdata(spec, lab.pki);
    const owner = `${h.tlsaOwner}.`;
    const view: TlsaView = {
      record: `${owner} ${TLSA_TTL} IN TLSA ${r.usage} ${r.selector} ${r.matching} ${r.hex}`,
      usage: r.usage,
      selector: r.selector,
      matching: r.matching,
      hex: r.hex,
      ...tlsaUsability(r.usage, r.selector, r.matching, r.hex),
      matches: [],
    };
    return view;
  });
  // RFC 7672 §3.2.2: the TLSA base domain (the address name after a secure CNAME), the MX host, the next-hop domain.
  const referenceIdentifiers = referenceIdentifiersOf(h.addressName, h.name, sp.mailDomain);
  const chainSets: { label: string; chain: string[] }[] = [
    { label: "presented chain", chain: h.chain },
    ...h.extraChains.map((c) => ({ label: "also held (chosen by the client's signature algorithms)", chain: c })),
    ...h.sni.map((s) => ({ label: `for SNI ${s.names.join(", ")}`, chain: s.chain })),
  ];
  const chains = chainSets.map((c, index) => chainView(lab, h, c.label, c.chain, index, tlsa, referenceIdentifiers));
  return {
    name: `${h.name}.`,
    preference: h.preference,
    addressName: `${h.addressName}.`,
    address: h.address,
    port: h.port,
    smtp: h.smtp,
    behaviour: behaviour(h),
    tlsaOwner: `${h.tlsaOwner}.`,
    tlsa,
    referenceIdentifiers,
    chains,
    commands: commands(lab, sp, h, tlsa),
  };
}

function behaviour(h: HostPlan): string[] {
  const out: string[] = [];
  const st = h.smtp.starttls;
  out.push(
    st === "offered"
      ? "STARTTLS offered"
      : st === "absent"
        ? "STARTTLS never offered"
        : st === "refused"
          ? "STARTTLS advertised, then refused with 454"
          : "STARTTLS accepted, then the server cuts the handshake",
  );
  if (h.smtp.greylist?.connections) out.push(`the first ${h.smtp.greylist.connections} connections get a 421 greeting`);
  if (h.smtp.greylist?.rcptSeconds) out.push(`451 4.7.1 on each first RCPT for ${h.smtp.greylist.rcptSeconds} s`);
  const tls = h.smtp.tls;
  if (tls?.minVersion || tls?.maxVersion)
    out.push(`TLS versions ${tls.minVersion ?? "TLSv1.2"} – ${tls.maxVersion ?? "TLSv1.3"}`);
  if (tls?.ciphers) out.push(`cipher suites: ${tls.ciphers}`);
  if (tls?.requestClientCert) out.push("asks the client for a certificate (not required)");
  if (h.sni.length) out.push("chooses its certificate by SNI");
  if (h.extraChains.length) out.push(`holds ${h.extraChains.length + 1} certificates of different key types`);
  return out;
}

function chainView(
  lab: LabView,
  h: HostPlan,
  label: string,
  chain: string[],
  chainIndex: number,
  tlsa: TlsaView[],
  referenceIdentifiers: string[],
): ChainView {
  const profiles = new Map(lab.plan.pki.certificates.map((c) => [c.name, c]));
  const lookup = (name: string): PathCertificate | undefined => {
    const profile = profiles.get(name);
    if (!profile) return undefined;
    return {
      issuer: profile.issuer,
      pathLength: profile.pathLength,
      summary: () => describeCertificate(lab.pki.get(name).der),
    };
  };
  const path = signaturePath(chain[0], lookup);
  // Which TLSA records name a certificate by reference: for "same subject, other key" warnings.
  const tlsaNamed = h.tlsa.flatMap((spec, i) => ("cert" in spec ? [{ i, cert: spec.cert }] : []));
  const hasEeForLeaf = (leafDer: Buffer) =>
    tlsa.some((t) => t.usable && t.usage === 3 && associationMatches(leafDer, t));
  const now = Date.now();
  const certificates = chain.map((name, depth): CertificateView => {
    const cert = lab.pki.get(name);
    const d = describeCertificate(cert.der);
    const notes: Note[] = [];
    let looksRightOnly = false;
    let authenticates = false;
    const tlsaMatches: number[] = [];
    tlsa.forEach((t, i) => {
      if (!associationMatches(cert.der, t)) return;
      tlsaMatches.push(i);
      const m = recordAtDepth(t, i, depth, () => taPath(name, chain, path, lookup, now));
      notes.push(m.note);
      looksRightOnly ||= m.looksRightOnly;
      authenticates ||= m.authenticates;
      t.matches.push({ chain: chainIndex, depth, authenticates: m.authenticates });
    });
    // Same subject as a certificate a TLSA record names, but another key: an impostor or a stale/rotated one.
    for (const { i, cert: named } of tlsaNamed) {
      if (named === name || tlsaMatches.includes(i)) continue;
      const other = describeCertificate(lab.pki.get(named).der);
      if (other.subject === d.subject && other.spkiSha256 !== d.spkiSha256) {
        looksRightOnly = true;
        notes.push({
          level: "warn",
          text: `same subject as the certificate TLSA #${i + 1} names (${named}), but a different key: only looks right`,
        });
      }
    }
    let names: NameCheck = { matches: [], kind: null, looksRightOnly: false, notes: [] };
    if (depth === 0) {
      const eeOnly = hasEeForLeaf(cert.der);
      names = nameChecks(d, profiles.get(name)?.subject.CN, referenceIdentifiers, eeOnly);
      notes.push(...names.notes, ...keyUsageNotes(d, h.smtp.tls));
      looksRightOnly ||= names.looksRightOnly;
      const validity = validityNote(d, eeOnly, now);
      if (validity) notes.push(validity);
      // RFC 7672 §3.1.2: the server must present the DANE-TA certificate (unless published in full, 2 0 0).
      if (!eeOnly && chain.length === 1 && tlsa.some((t) => t.usable && t.usage === 2) && !authenticates)
        notes.push({
          level: "bad",
          text: "the server sends only this certificate: the DANE-TA certificate is missing from the chain",
        });
    }
    return {
      name,
      depth,
      ...d,
      tlsaMatches,
      authenticates,
      nameMatches: names.matches,
      nameMatchKind: names.kind,
      looksRightOnly,
      notes,
    };
  });
  return { label, certificates };
}

// --- inspect commands ---------------------------------------------------------------------------------------------

function commands(lab: LabView, sp: ScenarioPlan, h: HostPlan, tlsa: TlsaView[]): CommandView[] {
  const dns = lab.plan.addresses;
  const port = dns.dnsPort === 53 ? "" : ` -p ${dns.dnsPort}`;
  // delv reads BIND's trust-anchors syntax; the lab's root DS, inlined so the command works as copied (bash, zsh).
  const anchors = bindTrustAnchors(lab.tree.trustAnchors, "static-ds", "line");
  const rrdata = tlsa.map((t) => `-dane_tlsa_rrdata "${t.usage} ${t.selector} ${t.matching} ${t.hex}"`);
  return [
    { label: "MX records, with signatures", command: `dig +dnssec @${dns.dnsAddress}${port} MX ${sp.mailDomain}.` },
    { label: "TLSA records, with signatures", command: `dig +dnssec @${dns.dnsAddress}${port} TLSA ${h.tlsaOwner}.` },
    {
      label: "validate the TLSA RRset from the lab's trust anchor",
      command: `delv @${dns.dnsAddress}${port} -a <(echo '${anchors}') +root=. TLSA ${h.tlsaOwner}.`,
    },
    {
      label: "DANE check with OpenSSL",
      command: [
        `echo QUIT | openssl s_client -starttls smtp -connect ${h.address}:${h.port} -servername ${h.addressName} -showcerts`,
        `  -dane_tlsa_domain ${h.addressName}`,
        ...rrdata.map((r) => `  ${r}`),
      ].join(" \\\n"),
    },
    {
      label: "handshake with GnuTLS (what Debian's Exim uses)",
      command: `gnutls-cli --starttls-proto=smtp --port ${h.port} --sni-hostname ${h.addressName} --no-ca-verification --print-cert ${h.address}`,
    },
    {
      label: "Postfix's DANE probe (resolv.conf pointing at the lab, options trust-ad)",
      command: `posttls-finger -c -l dane -P /etc/ssl/certs "[${h.name}]:${h.port}"`,
    },
    { label: "send a test message", command: `swaks --to run-1@${sp.mailDomain} --server ${h.address}:${h.port} -tls` },
  ];
}
