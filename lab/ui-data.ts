// What the training board's scenario page shows, as JSON (`GET /api/scenarios/<id>`): the teaching text, the DNS
// records with the DNSSEC status a validating resolver reaches for each RRset, the chain every MX host presents
// (per-certificate names, keyUsage, extKeyUsage, validity), which certificate each TLSA record matches — and whether
// that match really authenticates the server or only looks right — and the commands to inspect it all by hand.
//
// `scenarioDetail` is a pure function of the lab's plan, PKI and signed tree (the `Lab` object of lab/up.ts fits): no
// sockets, no files. `danelab explain` prints much of the same as text (lab/explain.ts); this is the structured form
// for the UI. `findUiDir` locates the built UI (dist/ui) for the HTTP API's staticDir.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Pki } from "../certs/index.js";
import { type CertificateSummary, describeCertificate, tlsaAssociationData } from "../certs/index.js";
import { resolveValidated, type SignedTree } from "../zones/index.js";
import { type HostPlan, type LabPlan, type ScenarioPlan, TLSA_TTL, tlsaRdata } from "./catalogue/compile.js";
import type {
  HostView as ApiHostView,
  ScenarioDetail as ApiScenarioDetail,
  CertificateView,
  ChainView,
  CheckSummary,
  CommandView,
  DnsRecordView,
  DnsStatus,
  Note,
  NoteLevel,
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
    domain: `${sp.domain}.`,
    recipient: `probe@${sp.domain}`,
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

/**
 * The built web UI (`npm run build` → dist/ui), found from this module whether it runs from the sources (lab/) or
 * the build (dist/lab/); undefined when it has not been built, and the API then serves its endpoint list at `/`.
 */
export function findUiDir(): string | undefined {
  const here = fileURLToPath(new URL(".", import.meta.url));
  for (const dir of [join(here, "..", "ui"), join(here, "..", "dist", "ui")]) {
    if (existsSync(join(dir, "index.html"))) return dir;
  }
  return undefined;
}

const CHECK_ID = /^[A-Za-z0-9._-]{1,100}$/;

/**
 * The scenario × client matrices `danelab check` left in the lab's state directory, newest first — for
 * GET /api/checks and GET /api/checks/<id>. Read on each call (a check may finish while the lab runs); unreadable
 * or half-written files are skipped.
 */
export function checkResults(stateDir: string): { list(): CheckSummary[]; get(id: string): object | undefined } {
  const dir = join(stateDir, "checks");
  const read = (id: string): { generated?: string; columns?: { id: string }[]; rows?: unknown[] } | undefined => {
    if (!CHECK_ID.test(id)) return undefined;
    try {
      return JSON.parse(readFileSync(join(dir, id, "matrix.json"), "utf8"));
    } catch {
      return undefined;
    }
  };
  return {
    list() {
      let ids: string[];
      try {
        ids = readdirSync(dir, { withFileTypes: true })
          .filter((d) => d.isDirectory())
          .map((d) => d.name);
      } catch {
        return [];
      }
      return ids
        .flatMap((id) => {
          const m = read(id);
          if (!m || !Array.isArray(m.rows)) return [];
          return [
            { id, generated: m.generated ?? "", columns: (m.columns ?? []).map((c) => c.id), scenarios: m.rows.length },
          ];
        })
        .sort((a, b) => (a.generated < b.generated ? 1 : a.generated > b.generated ? -1 : 0));
    },
    get: read,
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
    for (const rr of parseZoneFile(zone.toZoneFile())) {
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

/** Records of an RFC 1035 zone file as written by zones/ (one record per line, `name ttl class type rdata`). */
export function parseZoneFile(text: string): { name: string; ttl: number; type: string; data: string }[] {
  const out: { name: string; ttl: number; type: string; data: string }[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.replace(/;.*$/, "").trim();
    if (!line || line.startsWith("$")) continue;
    const m = /^(\S+)\s+(\d+)\s+(?:IN\s+)?([A-Z0-9]+)\s+(.*)$/.exec(line);
    if (!m) continue;
    out.push({ name: m[1]!, ttl: Number(m[2]), type: m[3]!, data: m[4]!.trim() });
  }
  return out;
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
  // RFC 7672 §3.2.2: the reference identifiers are the TLSA base domain (the MX host after secure CNAME expansion),
  // the MX host name itself, and the next-hop domain (the recipient domain).
  const referenceIdentifiers = [...new Set([h.addressName, h.name, sp.domain])];
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

/** RFC 7672 §3.1.3 and RFC 7671 §5: which records a DANE SMTP client can use at all. */
export function tlsaUsability(
  usage: number,
  selector: number,
  matching: number,
  hex: string,
): { usable: boolean; note: string | null } {
  if (usage === 0 || usage === 1)
    return {
      usable: false,
      note: `usage ${usage} (PKIX-${usage === 0 ? "TA" : "EE"}) is unusable for SMTP (RFC 7672 §3.1.3)`,
    };
  if (usage !== 2 && usage !== 3) return { usable: false, note: `unknown certificate usage ${usage}` };
  if (selector > 1) return { usable: false, note: `unknown selector ${selector}` };
  if (matching > 2) return { usable: false, note: `unknown matching type ${matching}` };
  const want = matching === 1 ? 64 : matching === 2 ? 128 : 0;
  if (want && hex.length !== want)
    return {
      usable: false,
      note: `digest is ${hex.length / 2} bytes, ${want / 2} expected for matching type ${matching}: unusable (RFC 7671 §5)`,
    };
  return { usable: true, note: null };
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
  // The leaf's real issuer path by signature (the PKI profile's issuer links), leaf first.
  const path: string[] = [];
  for (let n: string | undefined = chain[0]; n && !path.includes(n); n = profiles.get(n)?.issuer) path.push(n);
  // Which TLSA records name a certificate by reference: for "same subject, other key" warnings.
  const tlsaNamed = h.tlsa.flatMap((spec, i) => ("cert" in spec ? [{ i, cert: spec.cert }] : []));
  const hasEeForLeaf = (leafDer: Buffer) => tlsa.some((t) => t.usable && t.usage === 3 && matchesData(leafDer, t));
  const now = Date.now();
  /**
   * RFC 5280 §6.1 checks on a signature path (leaf first, trust anchor last) for the certificates between the two:
   * each must be within its validity (§6.1.3 (a)(2)), a CA (§6.1.4 (k)), and no CA, the trust anchor included, may
   * have more CA certificates below it than its pathLenConstraint allows (§6.1.4 (l), (m)).
   */
  const pathDefects = (p: string[]): string[] => {
    const out: string[] = [];
    p.forEach((n, i) => {
      if (i === 0) return;
      const profile = profiles.get(n);
      const below = i - 1; // CA certificates between this one and the leaf
      if (i < p.length - 1) {
        const d = describeCertificate(lab.pki.get(n).der);
        if (Date.parse(d.notAfter) < now) out.push(`${n} expired on ${d.notAfter.slice(0, 10)}`);
        else if (Date.parse(d.notBefore) > now) out.push(`${n} is not valid before ${d.notBefore.slice(0, 10)}`);
        if (!d.ca) out.push(`${n} is not a CA (basicConstraints cA is not set) yet issued ${p[i - 1]}`);
      }
      const limit = profile?.pathLength;
      if (typeof limit === "number" && below > limit)
        out.push(`${n} allows ${limit} CA certificate(s) below it (pathLenConstraint) and has ${below}`);
    });
    return out;
  };
  const certificates = chain.map((name, depth): CertificateView => {
    const cert = lab.pki.get(name);
    const d = describeCertificate(cert.der);
    const notes: Note[] = [];
    let looksRightOnly = false;
    let authenticates = false;
    const tlsaMatches: number[] = [];
    tlsa.forEach((t, i) => {
      if (t.selector > 1 || t.matching > 2 || !matchesData(cert.der, t)) return;
      tlsaMatches.push(i);
      let auth = false;
      if (!t.usable) {
        notes.push({ level: "info", text: `matches TLSA #${i + 1}, which is unusable (${t.note})` });
      } else if (t.usage === 3) {
        if (depth === 0) {
          auth = true;
          notes.push({
            level: "ok",
            text: `DANE-EE: TLSA #${i + 1} matches this server certificate; names and validity do not matter (RFC 7672 §3.1.1)`,
          });
        } else {
          looksRightOnly = true;
          notes.push({
            level: "warn",
            text: `TLSA #${i + 1} is DANE-EE (usage 3), which applies to the server certificate only, not to depth ${depth}`,
          });
        }
      } else if (depth === 0) {
        auth = true;
        notes.push({
          level: "ok",
          text: `DANE-TA: TLSA #${i + 1} matches this certificate itself (a self-issued trust anchor)`,
        });
      } else {
        // RFC 7671 §5.2.2 / RFC 5280 §6.1: a DANE-TA match counts only if the leaf chains up to it by signature, with
        // every certificate between them presented.
        const at = path.indexOf(name);
        const between = at > 0 ? path.slice(1, at) : [];
        const defects = at > 0 ? pathDefects(path.slice(0, at + 1)) : [];
        if (at > 0 && between.every((n) => chain.includes(n)) && defects.length === 0) {
          auth = true;
          notes.push({
            level: "ok",
            text: `DANE-TA: TLSA #${i + 1} matches this certificate, and the server certificate chains up to it`,
          });
        } else if (at > 0 && defects.length > 0) {
          looksRightOnly = true;
          notes.push({
            level: "bad",
            text: `TLSA #${i + 1} matches, and the server certificate chains up to it, but the path below it is not valid: ${defects.join("; ")} (RFC 5280 §6.1, which a DANE-TA client applies from the trust anchor down)`,
          });
        } else if (at > 0) {
          looksRightOnly = true;
          notes.push({
            level: "warn",
            text: `TLSA #${i + 1} matches, but the certificates between it and the server certificate are not presented`,
          });
        } else {
          looksRightOnly = true;
          notes.push({
            level: "warn",
            text: `TLSA #${i + 1} matches this certificate, but it did not issue the server certificate: only looks right (a client must check the signature path, RFC 7671 §5.2)`,
          });
        }
      }
      if (auth) authenticates = true;
      t.matches.push({ chain: chainIndex, depth, authenticates: auth });
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
    const nameMatches: string[] = [];
    if (depth === 0) {
      const eeOnly = hasEeForLeaf(cert.der);
      nameNotes(d, profiles.get(name)?.subject.CN, referenceIdentifiers, nameMatches, notes, eeOnly, (v) => {
        looksRightOnly ||= v;
      });
      keyUsageNotes(d, notes, h.smtp.tls);
      const expired = Date.parse(d.notAfter) < now;
      const future = Date.parse(d.notBefore) > now;
      if (expired || future)
        notes.push({
          level: eeOnly ? "info" : "bad",
          text: `${expired ? "expired" : "not yet valid"}${eeOnly ? " — DANE-EE ignores validity dates (RFC 7672 §3.1.1)" : ""}`,
        });
      if (!eeOnly && chain.length === 1 && tlsa.some((t) => t.usable && t.usage === 2) && !authenticates)
        notes.push({
          level: "bad",
          text: "the server sends only this certificate: the DANE-TA certificate is missing from the chain",
        });
    }
    const nameMatchKind = !nameMatches.length
      ? null
      : nameMatches.some((n) => referenceIdentifiers.slice(0, -1).some((r) => dnsIdMatches(n, r)))
        ? "host"
        : "next-hop";
    return { name, depth, ...d, tlsaMatches, authenticates, nameMatches, nameMatchKind, looksRightOnly, notes };
  });
  return { label, certificates };
}

function matchesData(der: Buffer, t: { selector: number; matching: number; hex: string }): boolean {
  if (t.selector > 1 || t.matching > 2) return false;
  return tlsaAssociationData(der, t.selector as 0 | 1, t.matching as 0 | 1 | 2) === t.hex;
}

/**
 * RFC 7672 §3.2.3 (via RFC 6125 §6.4): a DNS-ID matches a reference identifier exactly, or as a wildcard `*` that is
 * the whole left-most label and stands for exactly one label. Case-insensitive, trailing dots ignored.
 */
export function dnsIdMatches(presented: string, reference: string): boolean {
  const p = presented.toLowerCase().replace(/\.$/, "");
  const r = reference.toLowerCase().replace(/\.$/, "");
  if (p === r) return true;
  if (!p.startsWith("*.")) return false;
  const dot = r.indexOf(".");
  return dot > 0 && r.slice(dot + 1) === p.slice(2);
}

/** A presented name that a person would take for a match but a DANE client must not (partial or deep wildcard). */
function nearMiss(presented: string, reference: string): string | null {
  const p = presented.toLowerCase().replace(/\.$/, "");
  const r = reference.toLowerCase().replace(/\.$/, "");
  const [first, ...rest] = p.split(".");
  if (first?.includes("*") && first !== "*") {
    const re = new RegExp(`^${first.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace("*", "[^.]*")}$`);
    const [rFirst, ...rRest] = r.split(".");
    if (rest.join(".") === rRest.join(".") && rFirst && re.test(rFirst))
      return `${presented} looks like it covers ${reference}, but a partial wildcard is not accepted (RFC 7672 §3.2.3)`;
  }
  if (first === "*" && r.endsWith(`.${rest.join(".")}`) && !dnsIdMatches(p, r))
    return `${presented} looks like it covers ${reference}, but a wildcard stands for one label only (RFC 6125 §6.4.3)`;
  return null;
}

/**
 * The leaf's names against the reference identifiers (RFC 7672 §3.2.2): `refs[0..n-2]` name the host (TLSA base
 * domain, MX host), the last is the next-hop domain, which RFC 7672 lets clients accept but some (Exim) do not check.
 */
function nameNotes(
  d: CertificateSummary,
  profileCn: string | undefined,
  refs: string[],
  nameMatches: string[],
  notes: Note[],
  eeOnly: boolean,
  setLooksRight: (v: boolean) => void,
): void {
  const nextHop = refs.at(-1)!;
  const hostRefs = refs.filter((r) => r !== nextHop);
  const cn = profileCn ?? /(?:^|,\s*)CN=([^,]+)/.exec(d.subject)?.[1];
  const miss: NoteLevel = eeOnly ? "info" : "bad";
  const soft: NoteLevel = eeOnly ? "info" : "warn";
  const eeHint = eeOnly ? " — DANE-EE does not check names (RFC 7672 §3.1.1)" : "";
  // With SANs only they count; without a SAN extension the CN does (RFC 6125 §6.4.4).
  const presented = d.san.length ? d.san : cn ? [cn] : [];
  const where = (i: number) =>
    d.san.length
      ? `SAN ${i + 1} of ${d.san.length}, ${presented[i]},`
      : `no SAN extension, so the CN ${cn} counts, and`;
  if (!presented.length) {
    notes.push({ level: miss, text: `no names at all${eeHint}` });
    return;
  }
  let hostMatched = false;
  presented.forEach((name, i) => {
    const ref = hostRefs.find((r) => dnsIdMatches(name, r));
    if (ref) {
      hostMatched = true;
      nameMatches.push(name);
      notes.push({ level: "ok", text: `${where(i)} matches ${ref}` });
    }
  });
  if (hostMatched) return;
  presented.forEach((name, i) => {
    if (dnsIdMatches(name, nextHop)) {
      nameMatches.push(name);
      notes.push({
        level: soft,
        text: `${where(i)} matches only the next-hop domain ${nextHop}: RFC 7672 §3.2.2 lets a client accept that, but clients that check only the MX host name (Exim) do not${eeHint}`,
      });
    }
  });
  let near = false;
  for (const name of presented)
    for (const r of hostRefs) {
      const why = nearMiss(name, r);
      if (why) {
        near = true;
        notes.push({ level: soft, text: why + eeHint });
      }
    }
  if (d.san.length && cn && hostRefs.some((r) => dnsIdMatches(cn, r))) {
    near = true;
    notes.push({
      level: soft,
      text: `the CN ${cn} names the host, but the certificate has SANs, so the CN is ignored (RFC 6125 §6.4.4)${eeHint}`,
    });
  }
  if (near && !eeOnly && !nameMatches.length) setLooksRight(true);
  if (!nameMatches.length)
    notes.push({
      level: miss,
      text: `${d.san.length ? "no SAN" : `the CN ${cn}`} matches none of ${refs.join(", ")}${eeHint}`,
    });
}

function keyUsageNotes(d: CertificateSummary, notes: Note[], tls: HostPlan["smtp"]["tls"]): void {
  // RFC 5246 §7.4.7.1 / RFC 5280 §4.2.1.3: with static-RSA key exchange the client encrypts the premaster secret to
  // the server's key, which needs keyEncipherment. Only matters when the server allows nothing else.
  const staticRsaOnly =
    tls?.maxVersion === "TLSv1.2" && tls.ciphers !== undefined && !/(ECDHE|EECDH|DHE|EDH)/i.test(tls.ciphers);
  if (staticRsaOnly && d.keyType.startsWith("rsa") && d.keyUsage && !d.keyUsage.usages.includes("keyEncipherment")) {
    notes.push({
      level: "warn",
      text: `keyUsage ${d.keyUsage.usages.join(", ")} lacks keyEncipherment, and this server allows only static-RSA key exchange (TLS 1.2 ${tls.ciphers}), where the client encrypts to this key (RFC 5246 §7.4.7.1): strict clients (GnuTLS) refuse, OpenSSL does not check`,
    });
  }
  if (d.keyUsage && !d.keyUsage.usages.includes("digitalSignature")) {
    notes.push({
      level: "warn",
      text: `keyUsage ${d.keyUsage.usages.join(", ")} lacks digitalSignature: TLS 1.3 and ECDHE handshakes sign with this key, which RFC 8446 §4.4.2.2 forbids; GnuTLS refuses ("Key usage violation"), OpenSSL does not check`,
    });
  }
  if (d.extKeyUsage && !d.extKeyUsage.includes("serverAuth")) {
    notes.push({
      level: "warn",
      text: `extKeyUsage ${d.extKeyUsage.join(", ")} without serverAuth: OpenSSL-based clients refuse it as a server certificate, others accept it`,
    });
  }
}

// --- inspect commands ---------------------------------------------------------------------------------------------

function commands(lab: LabView, sp: ScenarioPlan, h: HostPlan, tlsa: TlsaView[]): CommandView[] {
  const dns = lab.plan.addresses;
  const port = dns.dnsPort === 53 ? "" : ` -p ${dns.dnsPort}`;
  // delv reads BIND's trust-anchors syntax; the lab's root DS, inlined so the command works as copied (bash, zsh).
  const anchors = lab.tree.trustAnchors.ds.map((line) => {
    const f = line.trim().split(/\s+/);
    const i = f.indexOf("DS");
    return `. static-ds ${f[i + 1]} ${f[i + 2]} ${f[i + 3]} "${f.slice(i + 4).join("")}";`;
  });
  const rrdata = tlsa.map((t) => `-dane_tlsa_rrdata "${t.usage} ${t.selector} ${t.matching} ${t.hex}"`);
  return [
    { label: "MX records, with signatures", command: `dig +dnssec @${dns.dnsAddress}${port} MX ${sp.domain}.` },
    { label: "TLSA records, with signatures", command: `dig +dnssec @${dns.dnsAddress}${port} TLSA ${h.tlsaOwner}.` },
    {
      label: "validate the TLSA RRset from the lab's trust anchor",
      command: `delv @${dns.dnsAddress}${port} -a <(echo 'trust-anchors { ${anchors.join(" ")} };') +root=. TLSA ${h.tlsaOwner}.`,
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
    { label: "send a test message", command: `swaks --to run-1@${sp.domain} --server ${h.address}:${h.port} -tls` },
  ];
}
