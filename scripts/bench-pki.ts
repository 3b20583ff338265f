// Benchmark of certs/buildPki: a cold build (every key generated, every certificate signed) into an empty directory,
// then a warm rebuild of the same profile (everything reused). `catalogueShapedProfile()` is a PKI shaped like the
// default scenario catalogue: one shared lab root + intermediate, a rotation set of sibling intermediates, an
// attacker CA, and about 50 leaves — mostly RSA-2048, two RSA-4096, a few ECDSA P-256 and Ed25519.
//
// Run (after `npm run build`): node dist/scripts/bench-pki.js [dir]

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { CertificateProfile, KeyType, PkiProfile } from "../certs/index.js";
import { buildPki } from "../certs/index.js";

/** Cold build into `dir` (which should be empty or absent), then one warm rebuild; wall-clock milliseconds. */
export async function benchPki(profile: PkiProfile, dir: string): Promise<{ coldMs: number; warmMs: number }> {
  const t0 = performance.now();
  await buildPki(profile, { dir });
  const t1 = performance.now();
  const warm = await buildPki(profile, { dir });
  const t2 = performance.now();
  if (warm.stats.keysGenerated !== 0 || warm.stats.certificatesIssued !== 0) {
    throw new Error(`warm rebuild was not warm: ${JSON.stringify(warm.stats)}`);
  }
  return { coldMs: t1 - t0, warmMs: t2 - t1 };
}

/**
 * The shared CA is ECDSA P-256: its key is generated in well under a millisecond (an RSA-2048 key takes ~70–140 ms of
 * a core here, RSA-4096 up to a second), its signatures are cheap, and its chain certificate is small; every client
 * we test (OpenSSL 3.0, GnuTLS 3.7) accepts ECDSA-signed RSA leaves, and the leaf key type — which is what
 * the scenarios vary — is independent of the issuer's.
 */
export function catalogueShapedProfile(suffix = "lab.example"): PkiProfile {
  const certs: CertificateProfile[] = [
    { name: "lab/root", key: "ecdsa-p256", subject: { CN: "danelab Root X1", O: "danelab" }, ca: true },
    {
      name: "lab/ca",
      issuer: "lab/root",
      key: "ecdsa-p256",
      subject: { CN: "danelab R3", O: "danelab" },
      ca: true,
      pathLength: 0,
    },
    { name: "evil/ca", key: "ecdsa-p256", subject: { CN: "danelab R3", O: "danelab" }, ca: true },
  ];
  // A CA's rotation set: sibling intermediates under the same root (seed-mx06 publishes 9, many-tlsa 14 records).
  for (let i = 1; i <= 10; i++) {
    certs.push({
      name: `lab/rotation-${i}`,
      issuer: "lab/root",
      key: "ecdsa-p256",
      subject: { CN: `danelab R${3 + i}`, O: "danelab" },
      ca: true,
      pathLength: 0,
    });
  }
  const special: Record<string, KeyType> = {
    "seed-mx06": "rsa-4096",
    "seed-mx06-ku": "rsa-4096",
    "ecdsa-leaf": "ecdsa-p256",
    "dual-rsa-ecdsa-ec": "ecdsa-p256",
    "tls13-only": "ecdsa-p256",
    "ed25519-leaf": "ed25519",
  };
  const ids = [
    ...Object.keys(special),
    ...[
      "ta-baseline",
      "ta-san-only",
      "ta-cn-only",
      "ta-cn-match-san-miss",
      "ta-wildcard",
      "ta-wildcard-deep",
      "ta-partial-wildcard",
      "ta-nexthop-name",
      "ta-wrong-name",
      "ta-long-san-list",
      "ee-baseline",
      "ee-sha512",
      "ee-full-cert",
      "ee-mismatch",
      "ta-root-sent",
      "ta-root-not-sent",
      "ta-chain-missing-intermediate",
      "ta-stale-intermediate",
      "many-tlsa",
      "mixed-ee-bad-ta-good",
      "all-unusable",
      "ta-forged-chain",
      "tlsa-bogus",
      "tlsa-expired-rrsig",
      "tlsa-servfail",
      "tlsa-timeout",
      "mx-bogus",
      "tlsa-insecure",
      "tlsa-nxdomain",
      "cname-mx-host",
      "tlsa-cname",
      "mx-preference",
      "no-starttls",
      "greylist-then-starttls",
      "greylist-rcpt",
      "tls-abort",
      "ku-no-digsig",
      "ku-digsig-only-rsa-kx",
      "eku-client-only",
      "tls12-only",
      "sni-required",
      "client-cert-requested",
      "dual-rsa-ecdsa",
    ],
  ];
  for (const id of ids) {
    const mx = `mx.${id}.${suffix}`;
    certs.push({
      name: `${id}/leaf`,
      issuer: id === "ta-stale-intermediate" ? "lab/rotation-1" : "lab/ca",
      key: special[id] ?? "rsa-2048",
      subject: { CN: mx },
      san: id === "ta-long-san-list" ? [...Array.from({ length: 99 }, (_, i) => `h${i}.${id}.${suffix}`), mx] : [mx],
    });
  }
  certs.push({
    name: "ee-expired-wrong-name/leaf",
    key: "rsa-2048",
    subject: { CN: "unrelated.example" },
    validity: { notBefore: "-400d", notAfter: "-30d" },
  });
  certs.push({
    name: "ta-forged-chain/evil-leaf",
    issuer: "evil/ca",
    key: "rsa-2048",
    subject: { CN: `mx.ta-forged-chain.${suffix}` },
    san: [`mx.ta-forged-chain.${suffix}`],
  });
  return { certificates: certs };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const profile = catalogueShapedProfile();
  const parent = await mkdtemp(join(tmpdir(), "bench-pki-"));
  const dir = process.argv[2] ?? join(parent, "pki");
  try {
    const leaves = profile.certificates.filter((c) => !c.ca);
    const count = (k: KeyType) => profile.certificates.filter((c) => c.key === k).length;
    console.log(
      `profile: ${profile.certificates.length} certificates (${leaves.length} leaves); ` +
        `rsa-2048 ${count("rsa-2048")}, rsa-4096 ${count("rsa-4096")}, ecdsa-p256 ${count("ecdsa-p256")}, ed25519 ${count("ed25519")}`,
    );
    const cpu = process.cpuUsage();
    const r = await benchPki(profile, dir);
    const used = process.cpuUsage(cpu);
    console.log(
      `cold ${r.coldMs.toFixed(0)} ms, warm ${r.warmMs.toFixed(1)} ms ` +
        `(CPU time of both, all threads: ${((used.user + used.system) / 1000).toFixed(0)} ms)`,
    );
  } finally {
    await rm(parent, { recursive: true, force: true });
  }
}
