// certs/ output in real TLS handshakes: a Node TLS server presenting a generated leaf + intermediate passes OpenSSL's
// DANE check for `2 1 1` (intermediate) and `3 1 1` (leaf) and fails it for a wrong digest; and the seed's cause —
// a leaf whose keyUsage is keyEncipherment only — makes GnuTLS abort the handshake ("Key usage violation") while
// OpenSSL completes it (RFC 8446 §4.4.2.2 requires digitalSignature for the key that signs CertificateVerify).
// Loopback addresses of this file: 127.0.10.1–2, port 0.
import { mkdtemp, rm } from "node:fs/promises";
import type { AddressInfo, Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createServer, type Server } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildPki, chainPem, type Pki, tlsaAssociationData } from "../certs/index.js";
import { run } from "./run.js";

const MX = "mx.tls.lab.example";
let tmp: string;
let pki: Pki;
const servers: { server: Server; sockets: Set<Socket> }[] = [];

/** A TLS server on `address` presenting the named chain (leaf first) with the leaf's key. */
async function serve(address: string, chain: string[]): Promise<number> {
  const sockets = new Set<Socket>();
  const server = createServer({ key: pki.get(chain[0]!).keyPem, cert: chainPem(pki, chain) }, (s) => {
    s.on("error", () => {});
    s.on("data", () => {});
  });
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  server.on("tlsClientError", () => {}); // the GnuTLS client aborts on purpose
  await new Promise<void>((resolve) => server.listen(0, address, resolve));
  servers.push({ server, sockets });
  return (server.address() as AddressInfo).port;
}

let goodPort: number;
let kuPort: number;

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), "certs-tls-"));
  pki = await buildPki(
    {
      certificates: [
        { name: "lab/root", key: "ecdsa-p256", subject: { CN: "danelab Root X1", O: "danelab" }, ca: true },
        {
          name: "lab/ca",
          issuer: "lab/root",
          key: "ecdsa-p256",
          subject: { CN: "danelab R3", O: "danelab" },
          ca: true,
        },
        { name: "tls/leaf", issuer: "lab/ca", key: "rsa-2048", subject: { CN: MX }, san: [MX] },
        {
          name: "tls/ku-kenc",
          issuer: "lab/ca",
          key: "rsa-2048",
          subject: { CN: MX },
          san: [MX],
          keyUsage: { usages: ["keyEncipherment"], critical: true },
        },
      ],
    },
    { dir: join(tmp, "pki") },
  );
  goodPort = await serve("127.0.10.1", ["tls/leaf", "lab/ca"]);
  kuPort = await serve("127.0.10.2", ["tls/ku-kenc", "lab/ca"]);
});

afterAll(async () => {
  for (const { server, sockets } of servers) {
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => server.close(resolve));
  }
  await rm(tmp, { recursive: true, force: true });
});

function sClientDane(address: string, port: number, rrdata: string, extra: string[] = []) {
  return run("openssl", [
    "s_client",
    "-connect",
    `${address}:${port}`,
    "-servername",
    MX,
    "-dane_tlsa_domain",
    MX,
    "-dane_tlsa_rrdata",
    rrdata,
    ...extra,
  ]);
}

describe("openssl s_client DANE against a Node TLS server presenting leaf + intermediate", () => {
  it('"2 1 1" of the intermediate verifies (trust anchor at depth 1)', async () => {
    const r = await sClientDane("127.0.10.1", goodPort, `2 1 1 ${tlsaAssociationData(pki.get("lab/ca").der, 1, 1)}`);
    expect(r.stdout).toContain("Verification: OK");
    expect(r.stdout).toContain(`Verified peername: ${MX}`);
    expect(r.stdout).toMatch(/DANE TLSA 2 1 1 .* matched TA certificate at depth 1/);
  });

  it('"3 1 1" of the leaf verifies (end entity at depth 0)', async () => {
    const r = await sClientDane("127.0.10.1", goodPort, `3 1 1 ${tlsaAssociationData(pki.get("tls/leaf").der, 1, 1)}`);
    expect(r.stdout).toContain("Verification: OK");
    expect(r.stdout).toMatch(/DANE TLSA 3 1 1 .* matched EE certificate at depth 0/);
  });

  it("a wrong digest fails verification", async () => {
    const right = tlsaAssociationData(pki.get("tls/leaf").der, 1, 1);
    const wrong = (right.startsWith("00") ? "ff" : "00") + right.slice(2);
    const ee = await sClientDane("127.0.10.1", goodPort, `3 1 1 ${wrong}`);
    expect(ee.stdout).not.toContain("Verification: OK");
    expect(ee.stdout).toContain("Verification error: no matching DANE TLSA records");
    // A "2 1 1" that names no certificate in the chain leaves OpenSSL without a trust anchor.
    const ta = await sClientDane("127.0.10.1", goodPort, `2 1 1 ${wrong}`);
    expect(ta.stdout).not.toContain("Verification: OK");
    expect(ta.stdout).toContain("Verification error: unable to get local issuer certificate");
  });
});

describe("the seed's cause: leaf keyUsage = keyEncipherment only", () => {
  it("GnuTLS (TLS 1.3) aborts with a key usage violation; on the normal leaf it completes", async () => {
    const gnutls = (port: number, address: string) =>
      run("gnutls-cli", ["--insecure", "--priority", "NORMAL:-VERS-ALL:+VERS-TLS1.3", "--port", String(port), address]);
    const bad = await gnutls(kuPort, "127.0.10.2");
    expect(bad.output).toContain("Key usage violation in certificate has been detected");
    expect(bad.code).not.toBe(0);
    const good = await gnutls(goodPort, "127.0.10.1");
    expect(good.output).toContain("Handshake was completed");
  });

  it("OpenSSL completes the same TLS 1.3 handshake and even verifies DANE-EE", async () => {
    const r = await sClientDane(
      "127.0.10.2",
      kuPort,
      `3 1 1 ${tlsaAssociationData(pki.get("tls/ku-kenc").der, 1, 1)}`,
      ["-tls1_3"],
    );
    expect(r.stdout).toContain("New, TLSv1.3");
    expect(r.stdout).toContain("Verification: OK");
  });
});
