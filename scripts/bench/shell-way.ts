// "The shell way" for the startup benchmark: the same work `danelab up` does cold — every key and certificate of the
// catalogue's PKI, every zone signed (child zones first, their DS added to the parent, then the parent signed) and a
// DNS server answering — done with the tools an admin would script: the openssl CLI, ldns-keygen/ldns-signzone/
// ldns-key2ds and NSD. It is generated from the lab's own plan so both sides do the same amount of work.
import type { CertificateProfile, PkiProfile } from "../../certs/index.js";

const KEY_ARGS: Record<CertificateProfile["key"], string> = {
  "rsa-2048": "-algorithm RSA -pkeyopt rsa_keygen_bits:2048",
  "rsa-3072": "-algorithm RSA -pkeyopt rsa_keygen_bits:3072",
  "rsa-4096": "-algorithm RSA -pkeyopt rsa_keygen_bits:4096",
  "ecdsa-p256": "-algorithm EC -pkeyopt ec_paramgen_curve:P-256",
  "ecdsa-p384": "-algorithm EC -pkeyopt ec_paramgen_curve:P-384",
  ed25519: "-algorithm ED25519",
};

function file(name: string): string {
  return name.replaceAll("/", "_");
}

function subject(c: CertificateProfile): string {
  const parts = Object.entries(c.subject).map(([k, v]) => `/${k}=${String(v).replaceAll("/", "\\/")}`);
  return parts.length ? parts.join("") : "/O=danelab empty subject";
}

/** Bash that issues every certificate of the profile with the openssl CLI (issuers first). */
export function opensslScript(profile: PkiProfile): string {
  const byName = new Map(profile.certificates.map((c) => [c.name, c]));
  const done = new Set<string>();
  const lines: string[] = ["set -e", "mkdir -p pki && cd pki"];
  const emit = (c: CertificateProfile) => {
    if (done.has(c.name)) return;
    if (c.issuer && c.issuer !== c.name) emit(byName.get(c.issuer)!);
    done.add(c.name);
    const f = file(c.name);
    const ext: string[] = [];
    ext.push(c.ca ? "basicConstraints=critical,CA:TRUE" : "basicConstraints=critical,CA:FALSE");
    if (c.san?.length) ext.push(`subjectAltName=${c.san.map((n) => `DNS:${n}`).join(",")}`);
    if (c.keyUsage) ext.push(`keyUsage=${c.keyUsage.critical ? "critical," : ""}${c.keyUsage.usages.join(",")}`);
    else if (c.keyUsage === undefined)
      ext.push(c.ca ? "keyUsage=critical,keyCertSign,cRLSign" : "keyUsage=critical,digitalSignature,keyEncipherment");
    if (c.extKeyUsage?.length) ext.push(`extendedKeyUsage=${c.extKeyUsage.join(",")}`);
    lines.push(`openssl genpkey ${KEY_ARGS[c.key]} -out ${f}.key 2>/dev/null`);
    const cnf = ["[req]", "distinguished_name=dn", "[dn]", "[v3]", ...ext].map((l) => `'${l}'`).join(" ");
    lines.push(`printf '%s\\n' ${cnf} > ${f}.cnf`);
    if (c.issuer) {
      const i = file(c.issuer);
      lines.push(`openssl req -new -key ${f}.key -subj '${subject(c)}' -config ${f}.cnf -out ${f}.csr 2>/dev/null`);
      lines.push(
        `openssl x509 -req -in ${f}.csr -CA ${i}.crt -CAkey ${i}.key -CAcreateserial -days 90 -extfile ${f}.cnf -extensions v3 -out ${f}.crt 2>/dev/null`,
      );
    } else {
      lines.push(
        `openssl req -x509 -new -key ${f}.key -subj '${subject(c)}' -days 90 -config ${f}.cnf -extensions v3 -out ${f}.crt 2>/dev/null`,
      );
    }
  };
  for (const c of profile.certificates) emit(c);
  return lines.join("\n");
}

/**
 * Bash that signs every zone with ldns (KSK + ZSK, algorithm 13), deepest zones first, adding each child's DS to its
 * parent's unsigned file before the parent is signed. `zones` are origins ("" = root) with unsigned zone-file paths.
 */
export function ldnsScript(zones: { origin: string; unsignedFile: string; signed: boolean }[]): string {
  const depth = (o: string) => (o === "" ? 0 : o.split(".").length);
  const ordered = [...zones].sort((a, b) => depth(b.origin) - depth(a.origin));
  const parentOf = (origin: string) =>
    zones
      .filter((z) => z.origin !== origin && (z.origin === "" || origin.endsWith(`.${z.origin}`)))
      .sort((a, b) => depth(b.origin) - depth(a.origin))[0];
  const lines = ["set -e", "mkdir -p dnssec && cd dnssec"];
  for (const z of ordered) {
    if (!z.signed) continue;
    const o = z.origin === "" ? "." : `${z.origin}.`;
    lines.push(
      `ksk=$(ldns-keygen -a ECDSAP256SHA256 -k ${o}) && zsk=$(ldns-keygen -a ECDSAP256SHA256 ${o})`,
      `ldns-signzone -n -o ${o} ${z.unsignedFile} $ksk $zsk`,
    );
    const parent = parentOf(z.origin);
    if (parent) lines.push(`ldns-key2ds -n -2 $ksk.key >> ${parent.unsignedFile}`);
    lines.push("rm -f $ksk.ds $zsk.ds");
  }
  return lines.join("\n");
}
