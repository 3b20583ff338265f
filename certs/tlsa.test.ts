// TLSA association data and presentation form (RFC 6698 §2.1, §2.2).
import { createHash, X509Certificate } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildPki } from "./build.js";
import { subjectPublicKeyInfo, tlsaAssociationData, tlsaRecord } from "./tlsa.js";
import type { Pki } from "./types.js";

let dir: string;
let pki: Pki;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "certs-tlsa-"));
  pki = await buildPki(
    {
      certificates: [
        { name: "root", key: "ecdsa-p384", subject: { CN: "Root" }, ca: true },
        { name: "ed", issuer: "root", key: "ed25519", subject: { CN: "ed.example" }, san: ["ed.example"] },
        { name: "ec", issuer: "root", key: "ecdsa-p256", subject: {}, san: ["ec.example"] },
      ],
    },
    { dir },
  );
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("tlsaAssociationData", () => {
  it("selector 1 hashes the SubjectPublicKeyInfo as it appears in the certificate", () => {
    for (const name of pki.names()) {
      const der = pki.get(name).der;
      const spki = new X509Certificate(der).publicKey.export({ type: "spki", format: "der" });
      expect(subjectPublicKeyInfo(der).equals(spki)).toBe(true);
      expect(tlsaAssociationData(der, 1, 0)).toBe(spki.toString("hex"));
      expect(tlsaAssociationData(der, 1, 1)).toBe(createHash("sha256").update(spki).digest("hex"));
      expect(tlsaAssociationData(der, 1, 2)).toBe(createHash("sha512").update(spki).digest("hex"));
    }
  });

  it("selector 0 uses the whole DER certificate", () => {
    const der = pki.get("ec").der;
    expect(tlsaAssociationData(der, 0, 0)).toBe(der.toString("hex"));
    expect(tlsaAssociationData(der, 0, 1)).toHaveLength(64);
    expect(tlsaAssociationData(der, 0, 2)).toHaveLength(128);
  });

  it("refuses unknown selectors and matching types, and non-certificates", () => {
    const der = pki.get("ec").der;
    expect(() => tlsaAssociationData(der, 2 as never, 1)).toThrow(/selector 2/);
    expect(() => tlsaAssociationData(der, 1, 3 as never)).toThrow(/matching type 3/);
    expect(() => tlsaAssociationData(Buffer.from("not a certificate"), 1, 1)).toThrow(/not a DER X.509 certificate/);
    expect(() => tlsaAssociationData(der.subarray(0, 100), 1, 1)).toThrow(/truncated/);
  });
});

describe("tlsaRecord", () => {
  it("prints the presentation form, lower-case, fully qualified", () => {
    expect(tlsaRecord("_25._tcp.mx.example.", 300, 2, 1, 1, "ABCDEF01")).toBe(
      "_25._tcp.mx.example. 300 IN TLSA 2 1 1 abcdef01",
    );
    expect(tlsaRecord("_25._tcp.mx.example", 60, 3, 0, 2, "00")).toBe("_25._tcp.mx.example. 60 IN TLSA 3 0 2 00");
  });

  it("prints unassigned values 0–255 (unusable records, RFC 7671 §4) and names a field outside 8 bits", () => {
    expect(tlsaRecord("_25._tcp.mx.example.", 300, 4, 1, 1, "00")).toBe("_25._tcp.mx.example. 300 IN TLSA 4 1 1 00");
    expect(tlsaRecord("_25._tcp.mx.example.", 300, 3, 2, 255, "00")).toBe(
      "_25._tcp.mx.example. 300 IN TLSA 3 2 255 00",
    );
    expect(() => tlsaRecord("_25._tcp.mx.example.", 300, 256, 1, 1, "00")).toThrow(/usage 256 is out of range/);
    expect(() => tlsaRecord("_25._tcp.mx.example.", 300, 3, -1, 1, "00")).toThrow(/selector -1/);
    expect(() => tlsaRecord("_25._tcp.mx.example.", 300, 3, 1, 1.5, "00")).toThrow(/matching type 1.5/);
    expect(() => tlsaRecord("_25._tcp.mx.example.", -1, 3, 1, 1, "00")).toThrow(/TTL/);
    expect(() => tlsaRecord("_25._tcp.mx.example.", 300, 3, 1, 1, "xyz")).toThrow(/hex digits/);
    expect(() => tlsaRecord("_25._tcp.mx.example.", 300, 3, 1, 1, "")).toThrow(/hex digits/);
  });
});
