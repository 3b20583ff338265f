// Step two of compiling the catalogue (compile.ts is step one): once certs/ has built the PKI, the DNS tree every
// zone of the lab publishes — the fake root, the suffix zone, one zone per scenario with its subzones, MX, A, CNAME,
// TLSA, MTA-STS and TLS-RPT records and its faults — as inputs for zones/. Also the TLSA data a host publishes, which
// the manifest, the scenario page and `explain` show.
import type { Answer } from "dns-packet";
import type { Pki } from "../../certs/index.js";
import { tlsaAssociationData, tlsaRecord } from "../../certs/index.js";
import type { ZoneFault, ZoneSpec } from "../../zones/index.js";
import { announcedIds, stsRecordText, tlsRptRecordText } from "../sts/policy.js";
import { type LabPlan, TLSA_TTL } from "./compile.js";
import type { TlsaSpec } from "./schema.js";
/** The TLSA association data a host publishes, with its deliberate corruption applied. */
export function tlsaRdata(
  spec: TlsaSpec,
  pki: Pki,
): { usage: number; selector: number; matching: number; hex: string } {
  if ("data" in spec) {
    const [usage, selector, matching, hex] = spec.data.split(" ") as [string, string, string, string];
    return { usage: Number(usage), selector: Number(selector), matching: Number(matching), hex: hex.toLowerCase() };
  }
  const cert = pki.get(spec.cert);
  let hex = tlsaAssociationData(cert.der, spec.selector as 0 | 1, spec.matching as 0 | 1 | 2);
  if (spec.corrupt === "digest") {
    // Flip the last byte: same length, wrong digest (a "3 1 1" that matches nothing).
    const last = Number.parseInt(hex.slice(-2), 16) ^ 0xff;
    hex = hex.slice(0, -2) + last.toString(16).padStart(2, "0");
  } else if (spec.corrupt === "length") {
    // RFC 7672 §3.1.3 / RFC 7671 §5: a digest of the wrong length makes the record unusable.
    hex = hex.slice(0, -2);
  }
  return { usage: spec.usage, selector: spec.selector, matching: spec.matching, hex };
}

export function tlsaPresentation(owner: string, spec: TlsaSpec, pki: Pki): string {
  const r = tlsaRdata(spec, pki);
  return tlsaRecord(`${owner}.`, TLSA_TTL, r.usage, r.selector, r.matching, r.hex);
}

const ROOT_NS = "ns.lab-root";

/** The whole DNS tree: the fake root, the suffix zone, one child per scenario (+ its subzones). */
export function zoneSpecs(plan: LabPlan, pki: Pki): ZoneSpec[] {
  const { suffix, dnsAddress } = plan.addresses;
  const ns = (origin: string) => [{ name: origin === "" ? ROOT_NS : `ns1.${origin}`, address: dnsAddress }];
  const zones: ZoneSpec[] = [
    { origin: "", records: [a(ROOT_NS, dnsAddress)], nameservers: ns(""), signed: true },
    { origin: suffix, records: [a(`ns1.${suffix}`, dnsAddress)], nameservers: ns(suffix), signed: true },
  ];
  for (const sp of plan.scenarios) {
    const { scenario, domain, mailDomain } = sp;
    const dns = scenario.dns;
    const sub = dns.subzones.map((z) => ({ origin: `${z.name}.${domain}`, signed: z.signed, records: [] as Answer[] }));
    const main = { origin: domain, signed: dns.signed, records: [] as Answer[] };
    // Each record goes to the deepest zone that contains its name.
    const put = (record: Answer) => {
      const holder = sub
        .filter((z) => record.name === z.origin || record.name.endsWith(`.${z.origin}`))
        .sort((x, y) => y.origin.length - x.origin.length)[0];
      (holder ?? main).records.push(record);
    };
    // RFC 7505 §3: a Null MX is the only MX record, preference 0, exchange "." (the root, "" here).
    if (dns.nullMx) {
      put({ name: mailDomain, type: "MX", ttl: 300, class: "IN", data: { preference: 0, exchange: "" } });
      put(a(mailDomain, sp.hosts[0]!.address));
    }
    for (const h of sp.hosts) {
      if (!dns.nullMx)
        put({
          name: mailDomain,
          type: "MX",
          ttl: 300,
          class: "IN",
          data: { preference: h.preference, exchange: h.name },
        });
      if (h.addressName !== h.name) put({ name: h.name, type: "CNAME", ttl: 300, class: "IN", data: h.addressName });
      put(a(h.addressName, h.address));
      if (h.tlsa.length) {
        if (h.tlsaHolder !== h.tlsaOwner && !h.tlsaHolder.startsWith("*."))
          put({ name: h.tlsaOwner, type: "CNAME", ttl: TLSA_TTL, class: "IN", data: h.tlsaHolder });
        for (const t of h.tlsa) {
          const r = tlsaRdata(t, pki);
          put({
            name: h.tlsaHolder,
            type: "TLSA",
            ttl: TLSA_TTL,
            class: "IN",
            data: {
              usage: r.usage,
              selector: r.selector,
              matchingType: r.matching,
              certificate: Buffer.from(r.hex, "hex"),
            },
          });
        }
      }
    }
    // MTA-STS and TLS-RPT records (RFC 8461 §3.1, RFC 8460 §3); the policy host's A record points at the lab's HTTPS
    // policy server.
    if (sp.sts) {
      // Fault id-changes: one record per id, given out in turn (zone fault "rotate"), with a short TTL so that a
      // caching resolver asks again soon.
      const ids = sp.sts.record ? announcedIds(sp.sts) : [];
      for (const id of ids) put(txt(`_mta-sts.${domain}`, stsRecordText(id), ids.length > 1 ? ROTATING_TTL : 300));
      put(a(sp.sts.host, plan.addresses.stsAddress ?? dnsAddress));
      if (sp.sts.tlsrpt) put(txt(`_smtp._tls.${domain}`, tlsRptRecordText(sp.sts.tlsrpt)));
    }
    // The scenario's denial of existence applies to its subzones too (RFC 5155 for NSEC3).
    const denial = dns.denial === "nsec3" ? { denial: "nsec3" as const, nsec3: dns.nsec3 ?? {} } : {};
    for (const r of dns.records) {
      put({
        name: r.name === "@" ? domain : `${r.name}.${domain}`,
        type: "TXT",
        ttl: 300,
        class: "IN",
        data: [r.data],
      });
    }
    const faults: ZoneFault[] = dns.faults.map((f) => ({
      kind: f.kind,
      name: f.name === "@" ? domain : `${f.name}.${domain}`,
      type: f.type,
    }));
    if (sp.sts?.record && sp.sts.fault === "id-changes")
      faults.push({ kind: "rotate", name: `_mta-sts.${domain}`, type: "TXT" });
    const inZone = (name: string, origin: string) => name === origin || name.endsWith(`.${origin}`);
    const inSubzone = (name: string) => sub.some((z) => inZone(name, z.origin));
    zones.push({
      origin: domain,
      records: [...main.records, a(`ns1.${domain}`, dnsAddress)],
      nameservers: ns(domain),
      signed: dns.signed,
      algorithm: dns.algorithm,
      ds: dns.ds,
      ...denial,
      faults: faults.filter((f) => !inSubzone(f.name)),
    });
    for (const z of sub) {
      zones.push({
        origin: z.origin,
        records: [...z.records, a(`ns1.${z.origin}`, dnsAddress)],
        nameservers: ns(z.origin),
        signed: z.signed,
        algorithm: dns.algorithm,
        ...denial,
        faults: faults.filter((f) => inZone(f.name, z.origin)),
      });
    }
  }
  return zones;
}

/** TTL of records that change from one query to the next (fault id-changes). */
const ROTATING_TTL = 5;

function txt(name: string, text: string, ttl = 300): Answer {
  return { name, type: "TXT", ttl, class: "IN", data: [text] };
}

function a(name: string, address: string): Answer {
  return { name, type: "A", ttl: 300, class: "IN", data: address };
}
