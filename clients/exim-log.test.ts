// Exim's main log → client-side outcomes, on lines Exim 4.96 (Debian, GnuTLS) wrote in this project's own runs
// (fixtures/*.mainlog, captured from test/clients.drivers.test.ts against the stand-in lab), and Exim 4.96 rebuilt
// with OpenSSL (exim-openssl-try.mainlog, captured from `danelab check --client exim-openssl` against the lab).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseEximLog } from "./exim-log.js";

const fixture = (name: string) => readFileSync(join(import.meta.dirname, "fixtures", name), "utf8");

describe("parseEximLog", () => {
  const tryLog = parseEximLog(fixture("exim-try.mainlog"));
  const run = "run-mx1edudl-101";

  it("reads a DANE-authenticated delivery (CV=dane) with its TLS parameters and host", () => {
    expect(tryLog.get(`${run}@dane-ok.clients.example`)).toMatchObject({
      status: "delivered",
      security: "dane",
      attempts: 1,
      host: "mx.dane-ok.clients.example [127.0.14.10]",
      tls: "TLS1.3:ECDHE_SECP256R1__ECDSA_SECP256R1_SHA256__AES_256_GCM:256",
    });
  });

  it("reads opportunistic TLS without authentication (CV=no) as tls-unverified", () => {
    expect(tryLog.get(`${run}@insecure.clients.example`)).toMatchObject({
      status: "delivered",
      security: "tls-unverified",
    });
  });

  it("keeps a TLSA mismatch deferred across every forced retry, with GnuTLS's words", () => {
    const o = tryLog.get(`${run}@dane-bad.clients.example`)!;
    expect(o.status).toBe("deferred");
    expect(o.attempts).toBe(4);
    expect(o.error).toBe(
      "TLS session: (certificate verification failed): Verification failed. The certificate differs.",
    );
  });

  it("counts the greylisted attempts before the DANE delivery and remembers why they failed", () => {
    const o = tryLog.get(`${run}@greylist.clients.example`)!;
    expect(o).toMatchObject({ status: "delivered", security: "dane", attempts: 3 });
    expect(o.error).toMatch(/after initial connection: 421 4\.7\.0 greylisted/);
  });

  it("reports a server without STARTTLS as deferred, never as a cleartext delivery", () => {
    const o = tryLog.get(`${run}@no-tls.clients.example`)!;
    expect(o.status).toBe("deferred");
    expect(o.error).toBe("a TLS session is required, but the server did not offer TLS support");
  });

  it("strict mode: an insecure destination defers at the router", () => {
    const strict = parseEximLog(fixture("exim-strict.mainlog"));
    expect(strict.get("run-mx1ee6k9-102@insecure.clients.example")).toMatchObject({
      status: "deferred",
      attempts: 4,
      error: "host lookup done insecurely",
    });
    expect(strict.size).toBe(5);
  });

  it("reads bounces (**), cleartext deliveries and filters by recipient", () => {
    const log = [
      "2026-11-29 06:01:02 1xXXS5-00000W-0N <= sender@client.danelab.invalid U=root P=local S=530",
      "2026-11-29 06:01:02 1xXXS5-00000W-0N ** run-1@tlsa-nxdomain.lab.example R=dnslookup T=remote_smtp H=mx.tlsa-nxdomain.lab.example [127.0.25.30]: DANE error: tlsa lookup FAIL",
      "2026-11-29 06:01:03 1xXXS6-00000A-0A <= sender@client.danelab.invalid U=root P=local S=530",
      '2026-11-29 06:01:03 1xXXS6-00000A-0A => run-1@plain.lab.example R=dnslookup T=remote_smtp H=mx.plain.lab.example [127.0.25.31] C="250 OK" DT=0s',
    ].join("\n");
    const all = parseEximLog(log);
    expect(all.get("run-1@tlsa-nxdomain.lab.example")).toMatchObject({
      status: "bounced",
      error: "DANE error: tlsa lookup FAIL",
    });
    expect(all.get("run-1@plain.lab.example")).toMatchObject({ status: "delivered", security: "cleartext" });
    expect([...parseEximLog(log, ["RUN-1@plain.lab.example"]).keys()]).toEqual(["run-1@plain.lab.example"]);
  });

  describe("against the real lab (fixtures/lab-exim-*.mainlog, Debian's Exim 4.96 + GnuTLS 3.7.9)", () => {
    const lab = parseEximLog(fixture("lab-exim-try.mainlog"));
    const strict = parseEximLog(fixture("lab-exim-strict.mainlog"));
    const r = (s: string, mode = "try") => `run-20261129t055006-exim-${mode}@${s}.lab.example`;

    it("Debian bug #1075900: the key-usage deferral, in GnuTLS's own words", () => {
      expect(lab.get(r("seed-mx06-ku"))).toMatchObject({
        status: "deferred",
        attempts: 4,
        error: "TLS session: (gnutls_handshake): Key usage violation in certificate has been detected.",
      });
    });

    it("GnuTLS libdane accepts the forged chain: delivered with CV=dane", () => {
      expect(lab.get(r("ta-forged-chain"))).toMatchObject({ status: "delivered", security: "dane", attempts: 1 });
    });

    it("reads the original-case recipient Exim logs in <…> and matches it case-insensitively", () => {
      const mixed = parseEximLog(fixture("lab-exim-try.mainlog"), [
        "run-20261129T055006-exim-try@ta-baseline.lab.example",
      ]);
      expect([...mixed.values()].map((o) => [o.status, o.security])).toEqual([["delivered", "dane"]]);
    });

    it("DNS failures defer at the router or the transport", () => {
      expect(lab.get(r("mx-bogus"))).toMatchObject({ status: "deferred", error: "host lookup did not complete" });
      expect(lab.get(r("tlsa-timeout"))).toMatchObject({ status: "deferred", error: "DANE error: tlsa lookup DEFER" });
      expect(lab.get(r("tls-abort"))?.error).toBe(
        "TLS session: (gnutls_handshake): The TLS connection was non-properly terminated.",
      );
    });

    it("unusable TLSA records: TLS without authentication (CV=no)", () => {
      expect(lab.get(r("all-unusable"))).toMatchObject({ status: "delivered", security: "tls-unverified" });
    });

    it("hosts_require_dane bounces a secure TLSA denial, without the DT= field in the error", () => {
      expect(strict.get(r("tlsa-nxdomain", "strict"))).toMatchObject({
        status: "bounced",
        error: "DANE error: tlsa lookup FAIL",
      });
    });
  });

  describe("Exim built with OpenSSL (other log formats)", () => {
    const ossl = parseEximLog(fixture("exim-openssl-try.mainlog"));
    const at = (s: string) => [...ossl].find(([r]) => r.endsWith(`@${s}.lab.example`))?.[1];

    it('reads CV=dane deliveries with DN="/CN=…" and OpenSSL\'s short cipher names', () => {
      expect(at("seed-mx06-ku")).toMatchObject({ status: "delivered", security: "dane", attempts: 1 });
      expect(at("ku-digsig-only-rsa-kx")).toMatchObject({ security: "dane", tls: "TLS1.2:AES128-GCM-SHA256:128" });
      // The last line is the delivery itself (what the matrix quotes), not the later "Completed".
      expect(at("seed-mx06-ku")?.lines.at(-1)).toMatch(/=> .* CV=dane DN="\/CN=et\.seed-mx06-ku\.lab\.example"/);
    });

    it("keeps OpenSSL's own words for a rejected chain", () => {
      expect(at("ta-forged-chain")).toMatchObject({
        status: "deferred",
        error: "TLS session: (SSL_connect): error:0A000086:SSL routines::certificate verify failed",
      });
    });

    it("marks OpenSSL's stale error-queue entry as not being the reason", () => {
      expect(at("ta-nexthop-name")?.error).toBe(
        "TLS session: (SSL_connect): error:068000DE:asn1 encoding routines::illegal zero content (a stale OpenSSL " +
          "error, not the verification result: `exim -d+tls` shows the X509 reason)",
      );
    });
  });
});
