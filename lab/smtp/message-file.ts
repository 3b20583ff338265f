// A stored message as a file: the trace fields the store prepends (RFC 5321 §4.4: Return-Path, Delivered-To, one
// Received header with the TLS version, cipher and SNI) and how they are read back — after a restart, the store
// rebuilds each message's facts from its file alone. Also the run id a `run-<id>@…` recipient carries. store.ts
// writes these files and re-exports this module.
import { closeSync, openSync, readSync, statSync } from "node:fs";

/** How the message came in: the facts the Received header records. */
export interface ReceivedTrace {
  /** EHLO/HELO argument, or null when the client sent none. */
  heloName: string | null;
  clientAddress: string;
  /** The MX host name of the listener that received it. */
  byHost: string;
  /** RFC 3848 protocol name: "ESMTPS" (EHLO + STARTTLS), "ESMTP", "SMTPS", "SMTP". */
  protocol: string;
  tls: { version: string; cipher: string; sni: string | null } | null;
  /** MAIL FROM reverse path ("" for the null sender <>). */
  sender: string;
  recipients: string[];
  date?: Date;
}

export interface StoredMessage {
  id: string;
  scenario: string;
  /** Absolute path of the file in new/ (or cur/). */
  path: string;
  /** Bytes of message content, without the trace fields the store prepended. */
  size: number;
  receivedAt: string;
  client: string | null;
  heloName: string | null;
  sender: string | null;
  recipients: string[];
  /** The `<id>` of a `run-<id>` recipient local part, or null. */
  run: string | null;
  tls: { version: string; cipher: string; sni: string | null } | null;
}

/** The `<id>` of the first `run-<id>@…` recipient, or null. */
export function runOf(recipients: string[]): string | null {
  for (const r of recipients) {
    const id = runOfRecipient(r);
    if (id) return id;
  }
  return null;
}

/** `run-42@ta-baseline.lab.example` → "42"; anything else → null. */
export function runOfRecipient(recipient: string): string | null {
  const at = recipient.lastIndexOf("@");
  const local = at >= 0 ? recipient.slice(0, at) : recipient;
  const m = /^run-([A-Za-z0-9._-]+?)(?:\+.*)?$/i.exec(local);
  return m ? m[1]! : null;
}

/**
 * The trace fields prepended to a stored message (RFC 5321 §4.4), CRLF line ends, folded at whitespace:
 *
 *     Return-Path: <sender>
 *     Delivered-To: <recipient>            (one per recipient)
 *     Received: from ehlo.name ([192.0.2.1])
 *             by mx.scenario.lab.example (danelab) with ESMTPS
 *             (using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384; SNI mx.scenario.lab.example)
 *             id <message id>
 *             for <recipient>; Sun, 29 Nov 2026 05:13:41 +0000
 */
export function traceFields(id: string, t: ReceivedTrace, date: Date): string {
  const lines = [`Return-Path: <${t.sender}>`];
  for (const r of t.recipients) lines.push(`Delivered-To: ${r}`);
  const from = `Received: from ${t.heloName ?? "unknown"} ([${t.clientAddress}])`;
  const by = `\tby ${t.byHost} (danelab) with ${t.protocol}`;
  const tls = t.tls
    ? `\t(using ${t.tls.version} with cipher ${t.tls.cipher}; SNI ${t.tls.sni ?? "none"})`
    : "\t(no TLS: received in cleartext)";
  const forClause = t.recipients.length === 1 ? `\tfor <${t.recipients[0]}>; ` : "\t";
  lines.push(from, by, tls, `\tid ${id}`, `${forClause}${rfc5322Date(date)}`);
  return `${lines.join("\r\n")}\r\n`;
}

/** RFC 5322 §3.3 date-time in UTC: "Sun, 29 Nov 2026 05:13:41 +0000". */
export function rfc5322Date(d: Date): string {
  const days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
  const months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  const p = (n: number) => String(n).padStart(2, "0");
  return (
    `${days[d.getUTCDay()]}, ${p(d.getUTCDate())} ${months[d.getUTCMonth()]} ${d.getUTCFullYear()} ` +
    `${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`
  );
}

/**
 * Splits a stored file into the trace fields the store prepended and the message content as received. The store
 * always writes exactly one Received header, last, so the content starts after its continuation lines.
 */
export function splitStored(file: Buffer): { trace: string; content: Buffer } {
  let pos = 0;
  let seenReceived = false;
  while (pos < file.length) {
    const nl = file.indexOf(0x0a, pos);
    const end = nl < 0 ? file.length : nl + 1;
    const line = file.subarray(pos, end).toString("latin1");
    if (seenReceived && !/^[ \t]/.test(line)) break;
    if (line.startsWith("Received:")) seenReceived = true;
    else if (!seenReceived && !/^(Return-Path|Delivered-To):/i.test(line)) break;
    pos = end;
  }
  return { trace: file.subarray(0, pos).toString("latin1"), content: file.subarray(pos) };
}

/** Rebuilds a StoredMessage from a file on disk (after a restart) by reading its trace fields back. */
export function readStoredInfo(path: string, scenario: string, id: string): StoredMessage | null {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch {
    return null;
  }
  try {
    const st = statSync(path);
    const head = Buffer.alloc(Math.min(st.size, 64 * 1024));
    readSync(fd, head, 0, head.length, 0);
    const { trace } = splitStored(head);
    const traceLen = Buffer.byteLength(trace, "latin1");
    const unfolded = trace.replace(/\r?\n[ \t]+/g, " ");
    const sender = /^Return-Path: <([^>]*)>/m.exec(unfolded)?.[1] ?? null;
    const recipients = [...unfolded.matchAll(/^Delivered-To: (\S+)/gm)].map((m) => m[1]!);
    const received = /^Received: from (\S+) \(\[([^\]]+)\]\)(.*)$/m.exec(unfolded);
    const tlsMatch = /\(using (\S+) with cipher (\S+); SNI (\S+)\)/.exec(received?.[3] ?? "");
    const date = /; ([^;]+)$/.exec(received?.[3] ?? "")?.[1];
    const parsedDate = date ? new Date(date) : st.mtime;
    return {
      id,
      scenario,
      path,
      size: st.size - traceLen,
      receivedAt: (Number.isNaN(parsedDate.getTime()) ? st.mtime : parsedDate).toISOString(),
      client: received?.[2] ?? null,
      heloName: received?.[1] ?? null,
      sender,
      recipients,
      run: runOf(recipients),
      tls: tlsMatch
        ? { version: tlsMatch[1]!, cipher: tlsMatch[2]!, sni: tlsMatch[3] === "none" ? null : tlsMatch[3]! }
        : null,
    };
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
}
