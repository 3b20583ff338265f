// describeCertificate: the summary `danelab explain` and the UI show, checked against the profile that made it.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildPki } from "./build.js";
import { describeCertificate } from "./describe.js";
import { tlsaAssociationData } from "./tlsa.js";
import type { Pki } from "./types.js";

let dir: string;
let pki: Pki;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "certs-describe-"));
  pki = await buildPki(
    {
      certificates: [
        { name: "root", key: "ecdsa-p256", subject: { CN: "Root", O: "danelab", C: "DE" }, ca: true, pathLength: 1 },
        {
          name: "leaf",
          issuer: "root",
          key: "ecdsa-p384",
          subject: { CN: "et.s.lab.example" },
          san: ["a.s.lab.example", "*.s.lab.example"],
          keyUsage: { usages: ["keyEncipherment"], critical: false },
          extKeyUsage: ["clientAuth", "serverAuth"],
          validity: { notBefore: "2025-01-01", notAfter: "2025-06-30T12:00:00Z" },
        },
        { name: "bare", issuer: "root", key: "ed25519", subject: {}, keyUsage: null, extKeyUsage: null },
      ],
    },
    { dir: join(dir, "pki") },
  );
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("describeCertificate", () => {
  it("summarises a leaf exactly as profiled", () => {
    const d = describeCertificate(pki.get("leaf").der);
    expect(d.subject).toBe("CN=et.s.lab.example");
    expect(d.issuer).toBe("C=DE, O=danelab, CN=Root");
    expect(d.san).toEqual(["a.s.lab.example", "*.s.lab.example"]);
    expect(d.keyUsage).toEqual({ usages: ["keyEncipherment"], critical: false });
    expect(d.extKeyUsage).toEqual(["clientAuth", "serverAuth"]);
    expect(d.ca).toBe(false);
    expect(d.notBefore).toBe("2025-01-01T00:00:00.000Z");
    expect(d.notAfter).toBe("2025-06-30T12:00:00.000Z");
    expect(d.keyType).toBe("ecdsa-p384");
    expect(d.serial).toMatch(/^[0-9a-f]{32}$/);
    expect(d.spkiSha256).toBe(tlsaAssociationData(pki.get("leaf").der, 1, 1));
    expect(d.certSha256).toBe(tlsaAssociationData(pki.get("leaf").der, 0, 1));
  });

  it("shows absent extensions as null / empty, and CAs as CAs", () => {
    const bare = describeCertificate(pki.get("bare").der);
    expect(bare.subject).toBe("");
    expect(bare.san).toEqual([]);
    expect(bare.keyUsage).toBeNull();
    expect(bare.extKeyUsage).toBeNull();
    expect(bare.keyType).toBe("ed25519");
    const root = describeCertificate(pki.get("root").der);
    expect(root.ca).toBe(true);
    expect(root.subject).toBe(root.issuer);
    expect(root.keyUsage).toEqual({ usages: ["digitalSignature", "keyCertSign", "cRLSign"], critical: true });
  });
});
