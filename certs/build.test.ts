// buildPki: files and modes, warm-start reuse (no key generation, no signing), regeneration on change and on drift.
import { X509Certificate } from "node:crypto";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { buildPki, chainPem } from "./build.js";
import { describeCertificate } from "./describe.js";
import { type CertificateProfile, type PkiProfile, ProfileError } from "./types.js";

let dir: string;
beforeEach(async () => {
  dir = join(await mkdtemp(join(tmpdir(), "certs-build-")), "pki");
});
afterEach(async () => {
  await rm(join(dir, ".."), { recursive: true, force: true });
});

const root: CertificateProfile = {
  name: "lab/root",
  key: "ecdsa-p256",
  subject: { CN: "Root", O: "danelab" },
  ca: true,
};
const ca: CertificateProfile = {
  name: "lab/ca",
  issuer: "lab/root",
  key: "ecdsa-p256",
  subject: { CN: "CA", O: "danelab" },
  ca: true,
  pathLength: 0,
};
const leaf: CertificateProfile = {
  name: "s/leaf",
  issuer: "lab/ca",
  key: "ed25519",
  subject: { CN: "mx.s.lab.example" },
  san: ["mx.s.lab.example"],
};
const profile: PkiProfile = { certificates: [root, ca, leaf] };

describe("buildPki", () => {
  it("writes keys 0600 and the directory 0700, and returns what it wrote", async () => {
    const pki = await buildPki(profile, { dir });
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    expect(pki.names()).toEqual(["lab/root", "lab/ca", "s/leaf"]);
    const l = pki.get("s/leaf");
    expect((await stat(l.keyPath)).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, "s"))).mode & 0o777).toBe(0o700);
    expect(await readFile(l.keyPath, "utf8")).toBe(l.keyPem);
    expect(l.keyPem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/); // PKCS#8
    expect(await readFile(l.certPath, "utf8")).toBe(l.pem);
    expect(new X509Certificate(l.pem).raw.equals(l.der)).toBe(true);
    expect(l.keyType).toBe("ed25519");
    expect(pki.stats).toMatchObject({ keysGenerated: 3, certificatesIssued: 3, keysReused: 0, certificatesReused: 0 });
    expect(chainPem(pki, ["s/leaf", "lab/ca"])).toBe(l.pem + pki.get("lab/ca").pem);
    expect(() => pki.get("nope")).toThrow(/no certificate "nope"/);
  });

  it("refuses a bad profile before touching the directory, naming certificate and field", async () => {
    const bad: PkiProfile = { certificates: [root, ca, { ...leaf, san: ["mx.s.lab.example", "bad name"] }] };
    await expect(buildPki(bad, { dir })).rejects.toThrow(ProfileError);
    await expect(buildPki(bad, { dir })).rejects.toThrow(/certificate "s\/leaf", field san\[1\]: "bad name"/);
    await expect(stat(dir)).rejects.toThrow();
  });

  it("warm start of an unchanged profile generates no key and signs nothing", async () => {
    const cold = await buildPki(profile, { dir });
    const mtimes = await Promise.all(cold.names().map((n) => stat(cold.get(n).certPath).then((s) => s.mtimeMs)));
    const warm = await buildPki(profile, { dir });
    expect(warm.stats).toMatchObject({ keysGenerated: 0, certificatesIssued: 0, keysReused: 3, certificatesReused: 3 });
    for (const n of cold.names()) {
      expect(warm.get(n).der.equals(cold.get(n).der)).toBe(true);
      expect(warm.get(n).keyPem).toBe(cold.get(n).keyPem);
    }
    const after = await Promise.all(warm.names().map((n) => stat(warm.get(n).certPath).then((s) => s.mtimeMs)));
    expect(after).toEqual(mtimes);
  });

  it("re-signs but keeps the key when only an extension changes; re-issues the subtree when an issuer key changes", async () => {
    const cold = await buildPki(profile, { dir });
    const changedLeaf = { ...leaf, san: ["mx.s.lab.example", "other.s.lab.example"] };
    const b = await buildPki({ certificates: [root, ca, changedLeaf] }, { dir });
    expect(b.stats.keysGenerated).toBe(0);
    expect(b.stats.issued).toEqual([{ name: "s/leaf", reason: "profile changed" }]);
    expect(b.get("s/leaf").keyPem).toBe(cold.get("s/leaf").keyPem);
    expect(describeCertificate(b.get("s/leaf").der).san).toEqual(["mx.s.lab.example", "other.s.lab.example"]);

    // A different key type for the intermediate: new key, and its leaf is re-signed by it.
    const c = await buildPki({ certificates: [root, { ...ca, key: "rsa-2048" }, changedLeaf] }, { dir });
    expect(c.stats.keysGenerated).toBe(1);
    expect(c.stats.issued.map((i) => i.name).sort()).toEqual(["lab/ca", "s/leaf"]);
    expect(new X509Certificate(c.get("s/leaf").der).verify(new X509Certificate(c.get("lab/ca").der).publicKey)).toBe(
      true,
    );
  });

  it("regenerates a key file edited by hand", async () => {
    await buildPki(profile, { dir });
    await writeFile(join(dir, "s/leaf.key.pem"), "garbage\n");
    const b = await buildPki(profile, { dir });
    expect(b.stats.keysGenerated).toBe(1);
    expect(b.stats.issued).toEqual([{ name: "s/leaf", reason: "profile changed" }]);
  });

  it("stays warm across a build with a subset of the certificates", async () => {
    const full = await buildPki(profile, { dir });
    const subset = await buildPki({ certificates: [root, ca] }, { dir });
    expect(subset.names()).toEqual(["lab/root", "lab/ca"]);
    expect(() => subset.get("s/leaf")).toThrow(/no certificate "s\/leaf"/);
    const again = await buildPki(profile, { dir });
    expect(again.stats).toMatchObject({ keysGenerated: 0, certificatesIssued: 0 });
    expect(again.get("s/leaf").der.equals(full.get("s/leaf").der)).toBe(true);
  });

  it("re-issues a certificate whose relative validity has drifted, and keeps one that is meant to be expired", async () => {
    const t0 = new Date("2026-01-01T00:00:00Z");
    const day = 86400e3;
    const expired = { ...leaf, name: "s/expired", validity: { notBefore: "-400d", notAfter: "-30d" } };
    const future = { ...leaf, name: "s/future", validity: { notBefore: "+2d", notAfter: "+90d" } };
    const fixed = { ...leaf, name: "s/fixed", validity: { notBefore: "2025-01-01", notAfter: "2026-02-01" } };
    const p: PkiProfile = { certificates: [root, ca, leaf, expired, future, fixed] };
    const a = await buildPki(p, { dir, now: t0 });
    expect(a.stats.certificatesIssued).toBe(6);
    expect(describeCertificate(a.get("s/leaf").der).notAfter).toBe("2026-04-01T00:00:00.000Z");

    // One hour on: nothing has changed state. 30 days on: only the "+2d" one, which would now be valid.
    const a2 = await buildPki(p, { dir, now: new Date(t0.getTime() + 3600e3) });
    expect(a2.stats.certificatesIssued).toBe(0);
    const b = await buildPki(p, { dir, now: new Date(t0.getTime() + 30 * day) });
    expect(b.stats.issued.map((i) => i.name)).toEqual(["s/future"]);
    expect(b.stats.issued[0]!.reason).toMatch(/meant to be not yet valid/);

    // 89.99 days on: the +90d leaf expires within the hour, the +2d one is valid again; the expired one stays, as does
    // the absolute-dated one (which has now expired exactly as written).
    const c = await buildPki(p, { dir, now: new Date(t0.getTime() + 89.99 * day) });
    expect(c.stats.keysGenerated).toBe(0);
    expect(c.stats.issued.map((i) => i.name).sort()).toEqual(["s/future", "s/leaf"]);
    expect(c.stats.issued.find((i) => i.name === "s/leaf")!.reason).toMatch(/validity drifted: meant to be valid/);
    expect(c.get("s/expired").der.equals(a.get("s/expired").der)).toBe(true);
    expect(c.get("s/fixed").der.equals(a.get("s/fixed").der)).toBe(true);
  });
});
