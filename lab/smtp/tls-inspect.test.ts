// ClientHello parsing (SNI, offered versions) and the mapping of OpenSSL's "peer sent an alert" errors to alert names.
import { describe, expect, it } from "vitest";
import { alertFromError, clientHelloRecordLength, parseClientHello } from "./tls-inspect.js";

/** A minimal TLS 1.3-style ClientHello record with the given SNI and supported_versions. */
function clientHello(sni: string | null, versions: number[]): Buffer {
  const exts: Buffer[] = [];
  if (sni !== null) {
    const name = Buffer.from(sni);
    const entry = Buffer.concat([Buffer.from([0]), u16(name.length), name]);
    const list = Buffer.concat([u16(entry.length), entry]);
    exts.push(Buffer.concat([u16(0), u16(list.length), list]));
  }
  const sv = Buffer.concat([Buffer.from([versions.length * 2]), ...versions.map(u16)]);
  exts.push(Buffer.concat([u16(0x2b), u16(sv.length), sv]));
  const extBlock = Buffer.concat(exts);
  const body = Buffer.concat([
    u16(0x0303),
    Buffer.alloc(32, 7),
    Buffer.from([0]),
    u16(2),
    u16(0x1301),
    Buffer.from([1, 0]),
    u16(extBlock.length),
    extBlock,
  ]);
  const hs = Buffer.concat([Buffer.from([1, 0, body.length >> 8, body.length & 0xff]), body]);
  return Buffer.concat([Buffer.from([0x16, 3, 1]), u16(hs.length), hs]);
}
function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

describe("parseClientHello", () => {
  it("reads the SNI and supported_versions, skipping GREASE", () => {
    const rec = clientHello("mx.ta-baseline.lab.example", [0x1a1a, 0x0304, 0x0303]);
    expect(clientHelloRecordLength(rec)).toBe(rec.length);
    expect(parseClientHello(rec)).toEqual({ sni: "mx.ta-baseline.lab.example", versions: ["TLSv1.3", "TLSv1.2"] });
  });
  it("no SNI; garbage is not a ClientHello", () => {
    expect(parseClientHello(clientHello(null, [0x0303]))).toEqual({ sni: null, versions: ["TLSv1.2"] });
    expect(clientHelloRecordLength(Buffer.from("GET / HTTP/1.1"))).toBeNull();
    expect(parseClientHello(Buffer.from("EHLO x\r\n"))).toBeNull();
    expect(parseClientHello(clientHello("x", [0x0304]).subarray(0, 20))).toBeNull();
  });
});

describe("alertFromError", () => {
  it("maps the alert number in OpenSSL's message, or Node's error code, to the registry name", () => {
    expect(
      alertFromError({
        code: "ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE",
        message: "error:0A000412:SSL routines:ssl3_read_bytes:sslv3 alert bad certificate:...:SSL alert number 42",
      }),
    ).toEqual({ alert: "bad_certificate", alertNumber: 42 });
    expect(alertFromError({ code: "ERR_SSL_TLSV1_ALERT_UNKNOWN_CA", message: "tlsv1 alert unknown ca" })).toEqual({
      alert: "unknown_ca",
      alertNumber: 48,
    });
    expect(alertFromError({ code: "ERR_SSL_TLSV1_ALERT_DECRYPT_ERROR" })).toEqual({
      alert: "decrypt_error",
      alertNumber: 51,
    });
  });
  it("our own handshake failures are not client alerts", () => {
    expect(alertFromError({ code: "ERR_SSL_NO_SHARED_CIPHER", message: "no shared cipher" })).toBeNull();
    expect(alertFromError({ code: "ECONNRESET", message: "read ECONNRESET" })).toBeNull();
  });
});
