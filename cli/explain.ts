// `danelab explain <id>`: everything a mail admin or trainer needs to understand one scenario without reading code —
// what it teaches (with RFC sections), its DNS records as published, the chain each MX host presents (subject, SANs,
// keyUsage, extKeyUsage, validity per certificate, and which certificate each TLSA record matches), and the commands to
// look at it by hand with the lab's real values. Which record matches which certificate is dane/'s answer, the same
// the scenario page (lab/ui-data.ts) shows.
import { describeCertificate } from "../certs/index.js";
import { associationMatches } from "../dane/index.js";
import { tlsaRdata } from "../lab/catalogue/zone-specs.js";
import { explainSts } from "../lab/sts/explain.js";
import { buildLab, DEFAULTS, type LabOptions } from "../lab/up.js";

export async function explainScenario(id: string, options: LabOptions): Promise<string> {
  const built = await buildLab({ ...options, only: [id] });
  const sp = built.plan.scenarios[0]!;
  const s = sp.scenario;
  const dnsAddress = options.dnsAddress ?? DEFAULTS.dnsAddress;
  const out: string[] = [];
  out.push(`${s.id} — ${s.title}`, `group: ${s.group}    expect: ${s.expect}`, "");
  out.push(indent(s.teach.trim()), "");
  if (s.rfc.length) out.push(`RFCs: ${s.rfc.join("; ")}`);
  if (s.known) out.push(`Known behaviour of real MTAs: ${s.known.trim()}`);
  out.push(
    "",
    `DNS (zone ${sp.domain}., ${s.dns.signed ? "signed" : "UNSIGNED (insecure delegation)"}${
      s.dns.ds === "wrong" ? ", parent publishes a WRONG DS" : ""
    })`,
  );
  const zones = built.tree.zones.filter((z) => z.origin === sp.domain || z.origin.endsWith(`.${sp.domain}`));
  for (const zone of zones) {
    const lines = zone
      .toZoneFile()
      .split("\n")
      // The record type is the fourth field of a zone-file line (an NSEC3 bitmap also lists "A").
      .filter((l) => ["MX", "A", "AAAA", "CNAME", "TLSA", "TXT"].includes(l.split("\t")[3] ?? ""));
    out.push(...lines.map((l) => `  ${l}`));
  }
  for (const f of s.dns.faults) out.push(`  FAULT: ${f.kind} on ${f.name} ${f.type}`);

  for (const h of sp.hosts) {
    out.push(
      "",
      s.dns.nullMx
        ? `Host ${h.name}, not in the MX RRset (a Null MX, RFC 7505); the domain's own A record points at its ` +
            `SMTP listener ${h.address}:${h.port}, STARTTLS ${h.smtp.starttls}`
        : `MX host ${h.name} (preference ${h.preference}) — SMTP listener ${h.address}:${h.port}, STARTTLS ${h.smtp.starttls}`,
    );
    if (h.smtp.greylist?.connections)
      out.push(`  greylisting: the first ${h.smtp.greylist.connections} connections get 421`);
    if (h.smtp.greylist?.rcptSeconds)
      out.push(`  greylisting: 451 4.7.1 on each first RCPT for ${h.smtp.greylist.rcptSeconds} s`);
    if (h.smtp.tls) out.push(`  TLS: ${JSON.stringify(h.smtp.tls)}`);
    const tlsa = h.tlsa.map((t) => ({ spec: t, rdata: tlsaRdata(t, built.pki) }));
    const chains = [
      { label: "presented chain", chain: h.chain },
      ...h.extraChains.map((c) => ({ label: "also held", chain: c })),
    ];
    for (const sni of h.sni) chains.push({ label: `for SNI ${sni.names.join(",")}`, chain: sni.chain });
    for (const { label, chain } of chains) {
      out.push(`  ${label}:`);
      chain.forEach((name, depth) => {
        const cert = built.pki.get(name);
        const d = describeCertificate(cert.der);
        const matches = tlsa.filter(({ rdata }) => associationMatches(cert.der, rdata));
        out.push(`    [${depth}] ${name}  subject: ${d.subject || "(empty)"}  issuer: ${d.issuer}`);
        out.push(`        key ${d.keyType}; SAN: ${d.san.length ? abbreviate(d.san) : "(no SAN extension)"}`);
        out.push(
          `        keyUsage: ${d.keyUsage ? `${d.keyUsage.usages.join(", ")}${d.keyUsage.critical ? " (critical)" : ""}` : "(none)"}; extKeyUsage: ${d.extKeyUsage?.join(", ") ?? "(none)"}`,
        );
        out.push(`        valid ${d.notBefore} → ${d.notAfter}${d.ca ? "; CA" : ""}`);
        for (const m of matches)
          out.push(`        ◀ matched by TLSA ${m.rdata.usage} ${m.rdata.selector} ${m.rdata.matching}`);
      });
    }
    out.push("", "  Look at it by hand:");
    const rrdata = tlsa.map(
      ({ rdata }) => `-dane_tlsa_rrdata "${rdata.usage} ${rdata.selector} ${rdata.matching} ${rdata.hex}"`,
    );
    out.push(
      `    dig +dnssec @${dnsAddress} MX ${sp.mailDomain}.`,
      `    dig +dnssec @${dnsAddress} TLSA ${h.tlsaOwner}.`,
      `    delv @${dnsAddress} -a ${built.stateDir}/trust-anchors.conf TLSA ${h.tlsaOwner}.   (after 'danelab up')`,
      `    echo QUIT | openssl s_client -starttls smtp -connect ${h.address}:${h.port} -servername ${h.addressName} \\`,
      `      -dane_tlsa_domain ${h.addressName} ${rrdata.join(" \\\n      ")}`,
      `    gnutls-cli --starttls-proto=smtp --port ${h.port} --sni-hostname ${h.addressName} --no-ca-verification ${h.address}`,
      `    posttls-finger -c -l dane -P /etc/ssl/certs "[${h.address}]:${h.port}"   (with resolv.conf pointing at the lab)`,
    );
  }
  out.push(
    ...explainSts(sp, {
      stateDir: built.stateDir,
      dnsAddress,
      stsAddress: built.plan.addresses.stsAddress ?? dnsAddress,
      stsPort: options.stsPort ?? DEFAULTS.stsPort,
    }),
  );
  return out.join("\n");
}

function indent(text: string): string {
  return text
    .split("\n")
    .map((l) => `  ${l}`)
    .join("\n");
}

function abbreviate(names: string[]): string {
  return names.length <= 12
    ? names.join(", ")
    : `${names.slice(0, 5).join(", ")}, … (${names.length - 6} more) …, ${names.at(-1)}`;
}
