// What the listener can tell about a client's TLS attempt beyond what Node's TLS socket reports:
// - `parseClientHello` reads the SNI and offered versions out of the first TLS record, so a failed or deliberately
//   aborted handshake is still recorded with the name the client asked for (RFC 6066 §3 server_name; RFC 8446 §4.1.2
//   ClientHello, §4.2.1 supported_versions);
// - `alertFromError` turns the error OpenSSL raises when the *client* sends a fatal alert (Node: `ERR_SSL_SSLV3_ALERT_
//   BAD_CERTIFICATE`, "... SSL alert number 42") into the alert's name from the TLS registry (RFC 8446 §6, RFC 5246
//   §7.2), e.g. "bad_certificate", "unknown_ca", "decrypt_error" — the grader's evidence that a client refused the
//   certificate rather than, say, timing out;
// - `sniffClientHello` waits for that first record after `220 Ready to start TLS` without consuming it.
import type { Socket } from "node:net";
import type { ClientHelloSummary } from "../events.js";

/** TLS alert descriptions (IANA "TLS Alerts" registry). */
export const TLS_ALERTS: Record<number, string> = {
  0: "close_notify",
  10: "unexpected_message",
  20: "bad_record_mac",
  21: "decryption_failed",
  22: "record_overflow",
  30: "decompression_failure",
  40: "handshake_failure",
  41: "no_certificate",
  42: "bad_certificate",
  43: "unsupported_certificate",
  44: "certificate_revoked",
  45: "certificate_expired",
  46: "certificate_unknown",
  47: "illegal_parameter",
  48: "unknown_ca",
  49: "access_denied",
  50: "decode_error",
  51: "decrypt_error",
  60: "export_restriction",
  70: "protocol_version",
  71: "insufficient_security",
  80: "internal_error",
  86: "inappropriate_fallback",
  90: "user_canceled",
  100: "no_renegotiation",
  109: "missing_extension",
  110: "unsupported_extension",
  111: "certificate_unobtainable",
  112: "unrecognized_name",
  113: "bad_certificate_status_response",
  114: "bad_certificate_hash_value",
  115: "unknown_psk_identity",
  116: "certificate_required",
  120: "no_application_protocol",
};

const NAME_TO_NUMBER = new Map(Object.entries(TLS_ALERTS).map(([n, name]) => [name, Number(n)]));

/**
 * The alert the peer sent, when `err` says OpenSSL received one; null for errors of our own side ("no shared cipher",
 * "wrong version number") and for plain socket errors.
 */
export function alertFromError(err: { code?: string; message?: string } | null | undefined): {
  alert: string;
  alertNumber: number | null;
} | null {
  if (!err) return null;
  const text = `${err.message ?? ""}`;
  const num = /SSL alert number (\d+)/.exec(text);
  if (num) {
    const n = Number(num[1]);
    return { alert: TLS_ALERTS[n] ?? `alert_${n}`, alertNumber: n };
  }
  // ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE, ERR_SSL_TLSV1_ALERT_UNKNOWN_CA, ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED
  const code = /^ERR_SSL_(?:SSLV3|TLSV1|TLSV13)_ALERT_(.+)$/.exec(err.code ?? "");
  const fromText = /(?:sslv3|tlsv1|tlsv13) alert ([a-z ]+)/i.exec(text);
  const raw = code?.[1] ?? fromText?.[1];
  if (!raw) return null;
  let name = raw.trim().toLowerCase().replace(/ /g, "_");
  // OpenSSL's names that differ from the registry's
  if (name === "no_certificate_received" || name === "certificate_required") name = "certificate_required";
  if (name === "unknown_certificate") name = "certificate_unknown";
  return { alert: name, alertNumber: NAME_TO_NUMBER.get(name) ?? null };
}

const VERSION_NAMES: Record<number, string> = {
  768: "SSLv3",
  769: "TLSv1",
  770: "TLSv1.1",
  771: "TLSv1.2",
  772: "TLSv1.3",
};

/** How many bytes of a TLS record the sniffer must wait for: null = not a TLS handshake record. */
export function clientHelloRecordLength(buf: Buffer): number | null {
  if (buf.length < 1) return 0;
  if (buf[0] !== 0x16) return null; // RFC 8446 §5.1: ContentType handshake(22)
  if (buf.length < 5) return 5;
  return 5 + buf.readUInt16BE(3);
}

/** SNI and offered versions from the first TLS record; null when it is not a parsable ClientHello. */
export function parseClientHello(buf: Buffer): ClientHelloSummary | null {
  try {
    if (buf.length < 9 || buf[0] !== 0x16 || buf[5] !== 0x01) return null;
    const recordEnd = Math.min(buf.length, 5 + buf.readUInt16BE(3));
    let p = 9; // record header (5) + handshake type (1) + length (3)
    const legacyVersion = buf.readUInt16BE(p);
    p += 2 + 32; // legacy_version, random
    p += 1 + buf[p]!; // legacy_session_id
    p += 2 + buf.readUInt16BE(p); // cipher_suites
    p += 1 + buf[p]!; // legacy_compression_methods
    let sni: string | null = null;
    let versions: string[] | null = null;
    if (p + 2 <= recordEnd) {
      const extEnd = Math.min(recordEnd, p + 2 + buf.readUInt16BE(p));
      p += 2;
      while (p + 4 <= extEnd) {
        const type = buf.readUInt16BE(p);
        const len = buf.readUInt16BE(p + 2);
        const data = buf.subarray(p + 4, Math.min(p + 4 + len, extEnd));
        if (type === 0x0000 && data.length >= 5) {
          // RFC 6066 §3: ServerNameList; name_type host_name(0)
          let q = 2;
          while (q + 3 <= data.length) {
            const nameType = data[q]!;
            const nameLen = data.readUInt16BE(q + 1);
            if (nameType === 0) {
              sni = data.subarray(q + 3, q + 3 + nameLen).toString("latin1");
              break;
            }
            q += 3 + nameLen;
          }
        } else if (type === 0x002b && data.length >= 1) {
          // RFC 8446 §4.2.1: supported_versions; GREASE values (0x?a?a, RFC 8701) are skipped
          versions = [];
          for (let q = 1; q + 1 < 1 + data[0]! && q + 1 < data.length; q += 2) {
            const v = data.readUInt16BE(q);
            if ((v & 0x0f0f) === 0x0a0a) continue;
            versions.push(VERSION_NAMES[v] ?? `0x${v.toString(16).padStart(4, "0")}`);
          }
        }
        p += 4 + len;
      }
    }
    return {
      sni,
      versions: versions ?? [VERSION_NAMES[legacyVersion] ?? `0x${legacyVersion.toString(16).padStart(4, "0")}`],
    };
  } catch {
    return null;
  }
}

/**
 * Reads the first TLS record the client sends after `220 Ready to start TLS` (its ClientHello), without consuming
 * it: the bytes are handed back so the caller can unshift them for the real TLS socket. Stops at the first byte that
 * is not a TLS handshake record (garbage: the TLS layer will reject it), at 20 KB, or when the socket ends.
 */
export function sniffClientHello(socket: Socket): Promise<{ buffered: Buffer; ended: boolean }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const done = (ended: boolean) => {
      if (settled) return;
      settled = true;
      socket.removeListener("data", onData);
      socket.removeListener("end", onEnd);
      socket.removeListener("close", onEnd);
      socket.pause();
      resolve({ buffered: Buffer.concat(chunks, size), ended });
    };
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
      const head = chunks.length === 1 ? chunk : Buffer.concat(chunks, size);
      const need = clientHelloRecordLength(head);
      if (need === null || (need > 0 && size >= need) || size > 20_480) done(false);
    };
    const onEnd = () => done(true);
    socket.on("data", onData);
    socket.once("end", onEnd);
    socket.once("close", onEnd);
    if (socket.destroyed) done(true);
    else socket.resume(); // unpiping the SMTP parser left the socket paused
  });
}
