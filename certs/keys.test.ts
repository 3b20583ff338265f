// Key generation: every key type comes out as a valid PKCS#8 key of the right size/curve that signs and verifies;
// RSA keys assembled from primes pass OpenSSL's own consistency check.
import { execFileSync } from "node:child_process";
import { createPrivateKey, createPublicKey, sign, verify } from "node:crypto";
import { describe, expect, it } from "vitest";
import { generateKey, keyTypeOf, loadKey } from "./keys.js";
import { KEY_TYPES } from "./types.js";

describe("generateKey", () => {
  it("makes every key type, and loadKey reads it back", async () => {
    const keys = await Promise.all(KEY_TYPES.map((t) => generateKey(t)));
    for (const k of keys) {
      expect(k.keyPem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
      const priv = createPrivateKey(k.keyPem);
      expect(keyTypeOf(priv)).toBe(k.keyType);
      expect(createPublicKey(priv).export({ type: "spki", format: "der" }).equals(k.spki)).toBe(true);
      const data = Buffer.from("danelab");
      const alg = k.keyType === "ed25519" ? null : "sha256";
      expect(verify(alg, data, createPublicKey(priv), sign(alg, data, priv))).toBe(true);
      expect(loadKey(k.keyPem, k.keyType)?.spki.equals(k.spki)).toBe(true);
      expect(loadKey(k.keyPem, k.keyType === "ed25519" ? "rsa-2048" : "ed25519")).toBeNull();
    }
  });

  it("RSA keys pass `openssl pkey -check` (p·q = n, d·e ≡ 1, CRT values)", async () => {
    for (const t of ["rsa-2048", "rsa-3072", "rsa-4096"] as const) {
      const k = await generateKey(t);
      const out = execFileSync("openssl", ["pkey", "-check", "-noout"], { input: k.keyPem, encoding: "utf8" });
      expect(out).toContain("Key is valid");
      expect(createPrivateKey(k.keyPem).asymmetricKeyDetails).toMatchObject({
        modulusLength: Number(t.slice(4)),
        publicExponent: 65537n,
      });
    }
  });
});
