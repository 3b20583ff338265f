// One TLSA record against one certificate of a presented chain whose data it matches: does the match authenticate
// the server, only look right, or not count at all — and the one-line note that says why.
import type { TaPath } from "./path.js";
import type { Note, UsableRecord } from "./types.js";

export interface RecordAtDepth {
  /** The match authenticates the server (RFC 7672 §3.1.1 for DANE-EE, §3.1.2 for DANE-TA). */
  authenticates: boolean;
  /** The match would fool a person (or a careless client) but must not authenticate. */
  looksRightOnly: boolean;
  note: Note;
}

/**
 * `record` (the `index`-th of the host's TLSA RRset, counted from 0) matches the certificate at `depth` (0 = the
 * server certificate). `ta` answers the DANE-TA path question for that certificate (path.ts `taPath`); it is asked
 * only for a usable DANE-TA record at depth > 0.
 */
export function recordAtDepth(record: UsableRecord, index: number, depth: number, ta: () => TaPath): RecordAtDepth {
  const n = index + 1;
  if (!record.usable)
    return {
      authenticates: false,
      looksRightOnly: false,
      note: { level: "info", text: `matches TLSA #${n}, which is unusable (${record.note})` },
    };
  if (record.usage === 3) {
    // RFC 7672 §3.1.1: DANE-EE(3) names the server certificate itself; names and validity are not checked.
    if (depth === 0)
      return {
        authenticates: true,
        looksRightOnly: false,
        note: {
          level: "ok",
          text: `DANE-EE: TLSA #${n} matches this server certificate; names and validity do not matter (RFC 7672 §3.1.1)`,
        },
      };
    return {
      authenticates: false,
      looksRightOnly: true,
      note: {
        level: "warn",
        text: `TLSA #${n} is DANE-EE (usage 3), which applies to the server certificate only, not to depth ${depth}`,
      },
    };
  }
  // RFC 7672 §3.1.2: DANE-TA(2) names a trust anchor; a self-issued server certificate may be its own anchor.
  if (depth === 0)
    return {
      authenticates: true,
      looksRightOnly: false,
      note: { level: "ok", text: `DANE-TA: TLSA #${n} matches this certificate itself (a self-issued trust anchor)` },
    };
  const path = ta();
  switch (path.kind) {
    case "chains":
      return {
        authenticates: true,
        looksRightOnly: false,
        note: {
          level: "ok",
          text: `DANE-TA: TLSA #${n} matches this certificate, and the server certificate chains up to it`,
        },
      };
    case "invalid-path":
      return {
        authenticates: false,
        looksRightOnly: true,
        note: {
          level: "bad",
          text: `TLSA #${n} matches, and the server certificate chains up to it, but the path below it is not valid: ${path.defects.join("; ")} (RFC 5280 §6.1, which a DANE-TA client applies from the trust anchor down)`,
        },
      };
    case "missing-intermediates":
      return {
        authenticates: false,
        looksRightOnly: true,
        note: {
          level: "warn",
          text: `TLSA #${n} matches, but the certificates between it and the server certificate are not presented`,
        },
      };
    case "forged":
      return {
        authenticates: false,
        looksRightOnly: true,
        note: {
          level: "warn",
          text: `TLSA #${n} matches this certificate, but it did not issue the server certificate: only looks right (a client must check the signature path, RFC 7671 §5.2)`,
        },
      };
  }
}
