// `danelab export`: the lab's data for other tools — every signed zone in RFC 1035 presentation form (for NSD, BIND,
// ldns-verify-zone), trust anchors for unbound/delv/BIND, and every certificate chain and key as PEM.
import { chmodSync, copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { chainPem } from "../certs/index.js";
import { buildLab, delvTrustAnchors, type LabOptions } from "./up.js";

export async function exportLab(outDir: string, options: LabOptions): Promise<string[]> {
  const built = await buildLab(options);
  const written: string[] = [];
  const write = (path: string, text: string, mode = 0o644) => {
    writeFileSync(path, text, { mode });
    chmodSync(path, mode);
    written.push(path);
  };
  mkdirSync(join(outDir, "zones"), { recursive: true });
  mkdirSync(join(outDir, "certs"), { recursive: true, mode: 0o700 });
  for (const zone of built.tree.zones) {
    write(join(outDir, "zones", `${zone.origin === "" ? "root" : zone.origin}.zone`), zone.toZoneFile());
  }
  const { ds, dnskey } = built.tree.trustAnchors;
  write(join(outDir, "root.ds"), `${ds.join("\n")}\n`);
  write(join(outDir, "root.dnskey"), `${dnskey.join("\n")}\n`);
  write(join(outDir, "trust-anchors.conf"), delvTrustAnchors(ds)); // delv -a / BIND
  for (const name of built.pki.names()) {
    const cert = built.pki.get(name);
    const base = join(outDir, "certs", name.replaceAll("/", "_"));
    write(`${base}.crt`, cert.pem);
    copyFileSync(cert.keyPath, `${base}.key`);
    chmodSync(`${base}.key`, 0o600);
    written.push(`${base}.key`);
  }
  for (const sp of built.plan.scenarios) {
    for (const h of sp.hosts) {
      write(join(outDir, "certs", `${h.name}.chain.pem`), chainPem(built.pki, h.chain));
    }
  }
  return written;
}
