// What the training board's scenario page shows, as JSON (`GET /api/scenarios/<id>`): the teaching text, the DNS
// records with the DNSSEC status a validating resolver reaches for each RRset, the chain every MX host presents
// (per-certificate names, keyUsage, extKeyUsage, validity), which certificate each TLSA record matches — and whether
// that match really authenticates the server or only looks right — and the commands to inspect it all by hand.
//
// `scenarioDetail` is a pure function of the lab's plan, PKI and signed tree (the `Lab` object of lab/up.ts fits): no
// sockets, no files. `danelab explain` prints much of the same as text (cli/explain.ts); this is the structured form
// for the UI. What a TLSA record, a chain or a name means is decided in dane/ (RFC 7672); this file lays it out.
import type { Pki } from "../certs/index.js";
import { describeCertificate } from "../certs/index.js";
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
import { normalizeName } from "../zones/names.js";
import { type HostPlan, type LabPlan, type ScenarioPlan, TLSA_TTL } from "./catalogue/compile.js";
import { tlsaRdata } from "./catalogue/zone-specs.js";
import type {
  HostView as ApiHostView,
  ScenarioDetail as ApiScenarioDetail,
  CertificateView,
  ChainView,
  CommandView,
  DnsRecordView,
  DnsStatus,
  Note,
  TlsaView,
} from "./ui/api-types.js";

// The page's JSON shapes live in lab/ui/api-types.ts, which has no Node import, so the browser code reads the same
// types; here the host's `smtp` block is typed as the scenario file has it.
export type * from "./ui/api-types.js";
export type HostView = ApiHostView<HostPlan["smtp"]>;
export type ScenarioDetail = ApiScenarioDetail<HostPlan["smtp"]>;

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
      const bare = normalizeName(rr.name);
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
