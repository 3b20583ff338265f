// certs/ against the OpenSSL command line: chains meant to verify do, broken ones (expired, not yet valid, signed by
// an attacker CA named like the genuine intermediate, missing intermediate) do not; `openssl x509 -text` shows exactly
// the names and key usages the catalogue's leaves ask for; TLSA data equals what openssl computes.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildPki, type CertificateProfile, type Pki, tlsaAssociationData } from "../certs/index.js";
import { parseX509Text } from "./certs.helpers.js";
import { run, runBinary } from "./run.js";

const MX = "mx.s.lab.example";
const hundred = Array.from({ length: 99 }, (_, i) => `h${i + 1}.s.lab.example`).concat(MX);

const leaf = (name: string, extra: Partial<CertificateProfile> = {}): CertificateProfile => ({
  name: `s/${name}`,
  issuer: "lab/ca",
  key: "rsa-2048",
  subject: { CN: MX },
  san: [MX],
  ...extra,
});

const certificates: CertificateProfile[] = [
  { name: "lab/root", key: "ecdsa-p256", subject: { CN: "danelab Root X1", O: "danelab" }, ca: true },
  {
    name: "lab/ca",
    issuer: "lab/root",
    key: "ecdsa-p256",
    subject: { CN: "danelab R3", O: "danelab" },
    ca: true,
    pathLength: 0,
  },
  // The attacker: a self-made CA whose subject is byte-for-byte the genuine intermediate's.
  { name: "evil/ca", key: "ecdsa-p256", subject: { CN: "danelab R3", O: "danelab" }, ca: true },
  { name: "evil/leaf", issuer: "evil/ca", key: "ecdsa-p256", subject: { CN: MX }, san: [MX] },
  leaf("baseline"),
  leaf("ku-kenc", { keyUsage: { usages: ["keyEncipherment"], critical: true } }),
  leaf("ku-digsig", { keyUsage: { usages: ["digitalSignature"], critical: false } }),
  leaf("ku-none", { keyUsage: null }),
  leaf("eku-client", { extKeyUsage: ["clientAuth"] }),
  leaf("eku-none", { extKeyUsage: null }),
  leaf("cn-only", { san: undefined }),
  leaf("san-only", { subject: {}, san: [MX] }),
  leaf("san-100", { subject: { CN: "et.s.lab.example" }, san: hundred }),
  leaf("wildcard", { san: ["*.s.lab.example"] }),
  leaf("partial-wildcard", { san: ["m*.s.lab.example"] }),
  leaf("expired", { validity: { notBefore: "-400d", notAfter: "-30d" } }),
  leaf("not-yet-valid", { validity: { notBefore: "+30d", notAfter: "+120d" } }),
  leaf("long", { validity: { notAfter: "2099-12-31" } }),
  {
    name: "s/self-expired",
    key: "rsa-2048",
    subject: { CN: "unrelated.example" },
    san: ["unrelated.example"],
    validity: { notBefore: "-400d", notAfter: "-30d" },
  },
  leaf("ecdsa", { key: "ecdsa-p256" }),
  leaf("ed25519", { key: "ed25519" }),
  // One root per signing key type: the signature algorithm follows the issuer's key.
  { name: "rsa/root", key: "rsa-2048", subject: { CN: "RSA Root" }, ca: true },
  { name: "rsa/leaf", issuer: "rsa/root", key: "ecdsa-p256", subject: { CN: MX }, san: [MX] },
  { name: "p384/root", key: "ecdsa-p384", subject: { CN: "P-384 Root" }, ca: true },
  { name: "p384/leaf", issuer: "p384/root", key: "rsa-2048", subject: { CN: MX }, san: [MX] },
  { name: "ed/root", key: "ed25519", subject: { CN: "Ed25519 Root" }, ca: true },
  { name: "ed/leaf", issuer: "ed/root", key: "rsa-2048", subject: { CN: MX }, san: [MX] },
];

let tmp: string;
let pki: Pki;
const file = (name: string) => pki.get(name).certPath;

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), "certs-openssl-"));
  pki = await buildPki({ certificates }, { dir: join(tmp, "pki") });
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

async function verify(leafName: string, opts: { untrusted?: string[]; purpose?: string } = {}) {
  const args = ["verify", "-CAfile", file("lab/root")];
  for (const u of opts.untrusted ?? ["lab/ca"]) args.push("-untrusted", file(u));
  if (opts.purpose) args.push("-purpose", opts.purpose);
  return run("openssl", [...args, file(leafName)]);
}

async function text(name: string) {
  const r = await run("openssl", ["x509", "-text", "-noout", "-in", file(name)]);
  expect(r.code).toBe(0);
  return parseX509Text(r.stdout);
}

describe("openssl verify", () => {
  it("accepts every chain meant to verify", async () => {
    for (const name of [
      "s/baseline",
      "s/ku-kenc",
      "s/ku-digsig",
      "s/ku-none",
      "s/eku-client",
      "s/cn-only",
      "s/san-only",
      "s/san-100",
      "s/wildcard",
      "s/long",
      "s/ecdsa",
      "s/ed25519",
    ]) {
      const r = await verify(name);
      expect(r.output, name).toContain(": OK");
      expect(r.code, name).toBe(0);
    }
  });

  it("verifies signatures by RSA (PKCS#1 v1.5), ECDSA P-256/P-384 and Ed25519 issuers, all with SHA-256 where hashed", async () => {
    const expected: Record<string, string> = {
      rsa: "sha256WithRSAEncryption",
      lab: "ecdsa-with-SHA256",
      p384: "ecdsa-with-SHA256",
      ed: "ED25519",
    };
    for (const [prefix, alg] of Object.entries(expected)) {
      const leafName = prefix === "lab" ? "s/baseline" : `${prefix}/leaf`;
      const rootName = prefix === "lab" ? "lab/root" : `${prefix}/root`;
      const untrusted = prefix === "lab" ? ["-untrusted", file("lab/ca")] : [];
      const r = await run("openssl", ["verify", "-CAfile", file(rootName), ...untrusted, file(leafName)]);
      expect(r.output, leafName).toContain(": OK");
      expect((await text(leafName)).signatureAlgorithm, leafName).toBe(alg);
    }
  });

  it("rejects an expired leaf and a not-yet-valid leaf", async () => {
    const expired = await verify("s/expired");
    expect(expired.code).not.toBe(0);
    expect(expired.output).toContain("certificate has expired");
    const future = await verify("s/not-yet-valid");
    expect(future.code).not.toBe(0);
    expect(future.output).toContain("certificate is not yet valid");
  });

  it("rejects a leaf signed by an attacker CA whose subject equals the genuine intermediate's", async () => {
    const caText = await text("lab/ca");
    const evilText = await text("evil/ca");
    expect(evilText.subject).toBe(caText.subject); // same name, different key
    // Offered only the genuine intermediate: the name matches, the signature cannot.
    const r1 = await verify("evil/leaf");
    expect(r1.code).not.toBe(0);
    // Offered both: the leaf's authorityKeyIdentifier leads to the attacker CA, which chains to nothing trusted.
    const r2 = await verify("evil/leaf", { untrusted: ["lab/ca", "evil/ca"] });
    expect(r2.code).not.toBe(0);
    expect((await text("evil/leaf")).authorityKeyIdentifier).not.toBe(
      (await text("s/baseline")).authorityKeyIdentifier,
    );
  });

  it("rejects a chain with the intermediate missing", async () => {
    const r = await verify("s/baseline", { untrusted: [] });
    expect(r.code).not.toBe(0);
    expect(r.output).toContain("unable to get local issuer certificate");
  });

  it("checks the purpose: an EKU clientAuth-only leaf is not a TLS server certificate", async () => {
    expect((await verify("s/baseline", { purpose: "sslserver" })).code).toBe(0);
    const r = await verify("s/eku-client", { purpose: "sslserver" });
    expect(r.code).not.toBe(0);
    expect(r.output).toContain("unsuitable certificate purpose");
  });
});

describe("openssl x509 -text shows exactly what the profile asked for", () => {
  it("baseline: CN = SAN = MX host, KU digitalSignature+keyEncipherment critical, EKU serverAuth, CA:FALSE", async () => {
    const t = await text("s/baseline");
    expect(t.subject).toBe(`CN = ${MX}`);
    expect(t.issuer).toBe("O = danelab, CN = danelab R3");
    expect(t.san).toEqual([MX]);
    expect(t.keyUsage).toEqual({ critical: true, value: "Digital Signature, Key Encipherment" });
    expect(t.extKeyUsage).toEqual({ critical: false, value: "TLS Web Server Authentication" });
    expect(t.basicConstraints).toEqual({ critical: true, value: "CA:FALSE" });
    expect(t.publicKey).toBe("rsaEncryption");
    expect(t.signatureAlgorithm).toBe("ecdsa-with-SHA256");
  });

  it("keyUsage variants: keyEncipherment only, digitalSignature only (not critical), none", async () => {
    expect((await text("s/ku-kenc")).keyUsage).toEqual({ critical: true, value: "Key Encipherment" });
    expect((await text("s/ku-digsig")).keyUsage).toEqual({ critical: false, value: "Digital Signature" });
    expect((await text("s/ku-none")).keyUsage).toBeNull();
  });

  it("extKeyUsage variants: clientAuth only, none", async () => {
    expect((await text("s/eku-client")).extKeyUsage).toEqual({
      critical: false,
      value: "TLS Web Client Authentication",
    });
    expect((await text("s/eku-none")).extKeyUsage).toBeNull();
  });

  it("names: no SAN + CN, SAN without CN, 100 SANs with the MX host last, wildcards", async () => {
    const cnOnly = await text("s/cn-only");
    expect(cnOnly.subject).toBe(`CN = ${MX}`);
    expect(cnOnly.san).toBeNull();
    const sanOnly = await text("s/san-only");
    expect(sanOnly.subject).toBe("");
    expect(sanOnly.san).toEqual([MX]);
    const long = await text("s/san-100");
    expect(long.subject).toBe("CN = et.s.lab.example");
    expect(long.san).toHaveLength(100);
    expect(long.san!.at(-1)).toBe(MX);
    expect(long.san).toEqual(hundred);
    expect((await text("s/wildcard")).san).toEqual(["*.s.lab.example"]);
    expect((await text("s/partial-wildcard")).san).toEqual(["m*.s.lab.example"]);
  });

  it("self-signed expired leaf: issuer = subject, dates in the past, no AKI", async () => {
    const t = await text("s/self-expired");
    expect(t.issuer).toBe(t.subject);
    expect(t.authorityKeyIdentifier).toBeNull();
    const end = await run("openssl", ["x509", "-noout", "-checkend", "0", "-in", file("s/self-expired")]);
    expect(end.stdout).toContain("Certificate will expire");
    const self = await run("openssl", ["verify", "-CAfile", file("s/self-expired"), file("s/self-expired")]);
    expect(self.output).toContain("certificate has expired");
  });

  it("ECDSA P-256 and Ed25519 leaves; ECDSA leaves default to keyUsage digitalSignature", async () => {
    const ec = await text("s/ecdsa");
    expect(ec.publicKey).toBe("id-ecPublicKey");
    expect(ec.keyUsage).toEqual({ critical: true, value: "Digital Signature" });
    const ed = await text("s/ed25519");
    expect(ed.publicKey).toBe("ED25519");
  });
});

describe("TLSA association data equals what the openssl CLI computes", () => {
  for (const name of ["s/baseline", "s/ecdsa", "s/ed25519", "lab/ca"]) {
    it(`${name}: selectors 0/1 × matching types 0/1/2`, async () => {
      const c = pki.get(name);
      const pubPem = (await run("openssl", ["x509", "-pubkey", "-noout", "-in", c.certPath])).stdout;
      const spki = await runBinary("openssl", ["pkey", "-pubin", "-outform", "DER"], pubPem);
      const der = await runBinary("openssl", ["x509", "-outform", "DER"], c.pem);
      const dgst = async (alg: string, data: Buffer) =>
        (await runBinary("openssl", ["dgst", `-${alg}`, "-r"], data)).toString().split(" ")[0];
      expect(tlsaAssociationData(c.der, 1, 0)).toBe(spki.toString("hex"));
      expect(tlsaAssociationData(c.der, 1, 1)).toBe(await dgst("sha256", spki));
      expect(tlsaAssociationData(c.der, 1, 2)).toBe(await dgst("sha512", spki));
      expect(tlsaAssociationData(c.der, 0, 0)).toBe(der.toString("hex"));
      expect(tlsaAssociationData(c.der, 0, 1)).toBe(await dgst("sha256", der));
      expect(tlsaAssociationData(c.der, 0, 2)).toBe(await dgst("sha512", der));
    });
  }
});
