// Postfix's maillog_file → client-side outcomes, on lines Postfix 3.7.11 (Debian, OpenSSL 3.0) wrote in this
// project's own runs (fixtures/postfix.maillog, from test/clients.drivers.test.ts against the stand-in lab).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parsePostfixLog } from "./postfix-log.js";

const log = readFileSync(join(import.meta.dirname, "fixtures", "postfix.maillog"), "utf8");
const run = "run-mx1eegdf-103";

describe("parsePostfixLog", () => {
  const outcomes = parsePostfixLog(log);

  it("reads a Verified TLS connection at level dane as a DANE delivery", () => {
    expect(outcomes.get(`${run}@dane-ok.clients.example`)).toMatchObject({
      status: "delivered",
      security: "dane",
      attempts: 1,
      host: "mx.dane-ok.clients.example [127.0.14.10]",
    });
    expect(outcomes.get(`${run}@dane-ok.clients.example`)?.tls).toMatch(/^TLSv1\.3 with cipher TLS_AES_256_GCM_SHA384/);
  });

  it("reads an Untrusted TLS delivery (insecure DNS, opportunistic) as tls-unverified", () => {
    expect(outcomes.get(`${run}@insecure.clients.example`)).toMatchObject({
      status: "delivered",
      security: "tls-unverified",
    });
  });

  it("keeps the DANE diagnostic next to the deferral reason", () => {
    const o = outcomes.get(`${run}@dane-bad.clients.example`)!;
    expect(o.status).toBe("deferred");
    expect(o.attempts).toBe(4);
    expect(o.error).toMatch(/^Server certificate not verified \| .*num=65:no matching DANE TLSA records/);
  });

  it("counts greylisting deferrals before the Verified delivery", () => {
    const o = outcomes.get(`${run}@greylist.clients.example`)!;
    expect(o).toMatchObject({ status: "delivered", security: "dane", attempts: 3 });
    expect(o.error).toMatch(/refused to talk to me: 421 4\.7\.0/);
  });

  it("reports missing STARTTLS as deferred with Postfix's reason", () => {
    expect(outcomes.get(`${run}@no-tls.clients.example`)).toMatchObject({
      status: "deferred",
      error: "TLS is required, but was not offered by host mx.no-tls.clients.example[127.0.14.12]",
    });
  });

  it("reads bounces, cleartext deliveries and qmgr-only deferrals", () => {
    const extra = [
      "Nov 29 06:00:01 postfix postfix/smtp[300]: 1A2B3C: to=<run-2@plain.lab.example>, relay=mx.plain.lab.example[127.0.25.31]:25, delay=0.2, delays=0/0/0.1/0, dsn=2.0.0, status=sent (250 OK)",
      "Nov 29 06:00:02 postfix postfix/smtp[301]: 1A2B3D: to=<run-2@gone.lab.example>, relay=mx.gone.lab.example[127.0.25.32]:25, delay=0.2, delays=0/0/0.1/0, dsn=5.1.1, status=bounced (host mx.gone.lab.example[127.0.25.32] said: 550 5.1.1 no such user (in reply to RCPT TO command))",
      "Nov 29 06:00:03 postfix postfix/error[302]: 1A2B3E: to=<run-2@slow.lab.example>, relay=none, delay=9, delays=9/0/0/0, dsn=4.7.5, status=deferred (delivery temporarily suspended: Server certificate not verified)",
    ].join("\n");
    const o = parsePostfixLog(extra);
    expect(o.get("run-2@plain.lab.example")).toMatchObject({ status: "delivered", security: "cleartext" });
    expect(o.get("run-2@gone.lab.example")).toMatchObject({ status: "bounced" });
    expect(o.get("run-2@slow.lab.example")).toMatchObject({ status: "deferred" });
    expect(o.get("run-2@slow.lab.example")?.host).toBeUndefined();
  });

  describe("against the real lab (fixtures/lab-postfix.maillog, Debian's Postfix 3.7.11 + OpenSSL 3.0)", () => {
    const lab = parsePostfixLog(readFileSync(join(import.meta.dirname, "fixtures", "lab-postfix.maillog"), "utf8"));
    const r = (s: string) => `run-20261129t054827-postfix@${s}.lab.example`;

    it("OpenSSL does not check keyUsage: Postfix delivers the seed's server with DANE", () => {
      expect(lab.get(r("seed-mx06-ku"))).toMatchObject({ status: "delivered", security: "dane", attempts: 1 });
    });

    it("an EKU of clientAuth only: Postfix refuses, saying why", () => {
      const o = lab.get(r("eku-client-only"))!;
      expect(o.status).toBe("deferred");
      expect(o.error).toMatch(/^Server certificate not verified \| .*not designated for use as a server certificate/);
    });

    it("DNS trouble: TLSA lookup errors and bogus MX data defer", () => {
      expect(lab.get(r("tlsa-timeout"))).toMatchObject({
        status: "deferred",
        error: expect.stringMatching(/^TLSA lookup error for mx\.tlsa-timeout\.lab\.example:25/),
      });
      expect(lab.get(r("mx-bogus"))?.error).toMatch(/^Host or domain name not found/);
      expect(lab.get(r("tls-abort"))?.error).toMatch(/^Cannot start TLS: handshake failure/);
    });

    it("RCPT greylisting: one deferral, then a Verified delivery", () => {
      expect(lab.get(r("greylist-rcpt"))).toMatchObject({ status: "delivered", security: "dane", attempts: 2 });
    });

    it("MX preference: delivered at mx1 over unauthenticated TLS (no TLSA there)", () => {
      expect(lab.get(r("mx-preference"))).toMatchObject({
        status: "delivered",
        security: "tls-unverified",
        host: "mx1.mx-preference.lab.example [127.0.14.140]",
      });
    });
  });
});
