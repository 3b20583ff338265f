// The manifest (`<state>/manifest.json`): the contract between a running lab and everything outside lab/ — clients/,
// users' scripts, CI. Written on every start, replaced atomically (temporary file + rename), versioned: fields are
// never renamed without bumping `version` (design README, "The manifest").
import { renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Pki } from "../certs/index.js";
import type { SignedTree } from "../zones/index.js";
import type { LabPlan } from "./catalogue/compile.js";
import type { Expect } from "./catalogue/schema.js";
import { tlsaPresentation } from "./catalogue/zone-specs.js";

export interface ManifestMx {
  host: string;
  preference: number;
  addresses: string[];
  port: number;
}

export interface ManifestScenario {
  id: string;
  title: string;
  group: string;
  expect: Expect;
  domain: string;
  recipient: string;
  mx: ManifestMx[];
  tlsa: string[];
  teach: string;
  rfc: string[];
  known?: string;
  /** The scenario's MTA-STS policy (RFC 8461), when it has one. */
  sts?: {
    host: string;
    id: string;
    mode: string;
    mx: string[];
    maxAge: number;
    fault: string | null;
    tlsrpt: string | null;
  };
}

export interface Manifest {
  version: 1;
  suffix: string;
  generated: string;
  dns: {
    address: string;
    port: number;
    resolver: { kind: "unbound"; address: string; port: number } | null;
    trustAnchors: { ds: string[]; dnskey: string[] };
  };
  http: { url: string } | null;
  smtp: { port: number };
  /** The MTA-STS policy server and the public root its certificates (and PKIX-valid MX certificates) chain to. */
  sts: { address: string; port: number; publicRoot: string } | null;
  stateDir: string;
  scenarios: ManifestScenario[];
}

export function buildManifest(
  plan: LabPlan,
  pki: Pki,
  tree: SignedTree,
  opts: {
    stateDir: string;
    httpUrl: string | null;
    resolver: Manifest["dns"]["resolver"];
    sts?: Manifest["sts"];
  },
): Manifest {
  const { addresses } = plan;
  return {
    version: 1,
    suffix: `${addresses.suffix}.`,
    generated: new Date().toISOString(),
    dns: {
      address: addresses.dnsAddress,
      port: addresses.dnsPort,
      resolver: opts.resolver,
      trustAnchors: tree.trustAnchors,
    },
    http: opts.httpUrl ? { url: opts.httpUrl } : null,
    smtp: { port: addresses.smtpPort },
    sts: opts.sts ?? null,
    stateDir: opts.stateDir,
    // `domain` is the next-hop (recipient) domain: the owner of the MX RRset, which clients send to.
    scenarios: plan.scenarios.map(({ scenario, mailDomain: domain, hosts, sts }) => ({
      id: scenario.id,
      title: scenario.title,
      group: scenario.group,
      expect: scenario.expect,
      domain: `${domain}.`,
      recipient: `probe@${domain}`,
      mx: hosts
        .map((h) => ({ host: `${h.name}.`, preference: h.preference, addresses: [h.address], port: h.port }))
        .sort((x, y) => x.preference - y.preference),
      tlsa: hosts.flatMap((h) => h.tlsa.map((t) => tlsaPresentation(h.tlsaOwner, t, pki))),
      teach: scenario.teach.trim(),
      rfc: scenario.rfc,
      ...(scenario.known ? { known: scenario.known.trim() } : {}),
      ...(sts
        ? {
            sts: {
              host: `${sts.host}.`,
              id: sts.id,
              mode: sts.mode,
              mx: sts.mx,
              maxAge: sts.maxAge,
              fault: sts.fault,
              tlsrpt: sts.tlsrpt,
            },
          }
        : {}),
    })),
  };
}

export function writeManifest(stateDir: string, manifest: Manifest): string {
  const path = join(stateDir, "manifest.json");
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o644 });
  renameSync(tmp, path);
  return path;
}
