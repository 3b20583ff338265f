// The certificates dane/'s unit tests run on, built with certs/ in a temporary directory. The layout follows the
// facts of OpenSSL's test/danetest.in (our own keys and names): a three-level chain leaf ← "Issuer CA" ← "Root CA"
// for example.com, an anonymous expired leaf (no subject, no SAN) that only DANE-EE may authenticate, and the lab's
// own additions — an attacker CA with the genuine intermediate's name (a forged chain), an expired intermediate, an
// intermediate beyond the root's pathLenConstraint. Test code only (not built into dist/): it writes keys to a temporary
// directory, which the library itself never does.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildPki, type CertificateProfile, describeCertificate, type Pki } from "../certs/index.js";
import type { PathCertificate } from "./path.js";

const PROFILE: CertificateProfile[] = [
  { name: "root", key: "ecdsa-p256", subject: { CN: "Root CA" }, ca: true },
  { name: "issuer", issuer: "root", key: "ecdsa-p256", subject: { CN: "Issuer CA" }, ca: true },
  { name: "leaf", issuer: "issuer", key: "ecdsa-p256", subject: { CN: "example.com" }, san: ["example.com"] },
  // danetest.in's "never valid" anonymous leaf: empty subject, no SAN, expired.
  {
    name: "anonymous",
    key: "ecdsa-p256",
    subject: {},
    validity: { notBefore: "-3d", notAfter: "-2d" },
  },
  // Same subject as "issuer", another key: signs the leaf a forger presents beside the genuine intermediate.
  { name: "attacker", key: "ecdsa-p256", subject: { CN: "Issuer CA" }, ca: true },
  {
    name: "forged-leaf",
    issuer: "attacker",
    key: "ecdsa-p256",
    subject: { CN: "mx.example.com" },
    san: ["mx.example.com"],
  },
  // An expired intermediate between the root and its leaf.
  {
    name: "old-issuer",
    issuer: "root",
    key: "ecdsa-p256",
    subject: { CN: "Old Issuer CA" },
    ca: true,
    validity: { notBefore: "-400d", notAfter: "-1d" },
  },
  {
    name: "old-leaf",
    issuer: "old-issuer",
    key: "ecdsa-p256",
    subject: { CN: "mx.example.com" },
    san: ["mx.example.com"],
  },
  // A root that allows no CA below it, with one.
  { name: "tight-root", key: "ecdsa-p256", subject: { CN: "Tight Root" }, ca: true, pathLength: 0 },
  { name: "tight-issuer", issuer: "tight-root", key: "ecdsa-p256", subject: { CN: "Tight Issuer" }, ca: true },
  {
    name: "tight-leaf",
    issuer: "tight-issuer",
    key: "ecdsa-p256",
    subject: { CN: "mx.example.com" },
    san: ["mx.example.com"],
  },
];

export interface TestPki {
  pki: Pki;
  der(name: string): Buffer;
  /** The issuer links, as path.ts asks for them. */
  lookup(name: string): PathCertificate | undefined;
  close(): void;
}

export async function testPki(): Promise<TestPki> {
  const dir = mkdtempSync(join(tmpdir(), "dane-test-"));
  const pki = await buildPki({ certificates: PROFILE }, { dir });
  const profiles = new Map(PROFILE.map((c) => [c.name, c]));
  return {
    pki,
    der: (name) => pki.get(name).der,
    lookup: (name) => {
      const p = profiles.get(name);
      return p && { issuer: p.issuer, pathLength: p.pathLength, summary: () => describeCertificate(pki.get(name).der) };
    },
    close: () => rmSync(dir, { recursive: true, force: true }),
  };
}
