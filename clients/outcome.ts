// The client-side verdict: what an MTA's own log says it did with one message (one recipient = one scenario).
// The lab grades from the server side (what arrived, over what); this is the other half of the matrix — the MTA's
// words, e.g. Exim's `TLS session: (gnutls_handshake): Key usage violation in certificate has been detected.`,
// which is what a mail admin sees in his logs and searches for.

/** How a delivered message travelled. RFC 7672 §2.2: with usable TLSA records only `dane` is acceptable. */
export type DeliverySecurity =
  | "dane" //           TLS, peer authenticated by a TLSA record (Exim CV=dane; Postfix "Verified" at level dane)
  | "tls-verified" //   TLS, peer verified by some other means (Exim CV=yes; Postfix "Trusted")
  | "tls-unverified" // TLS without peer authentication (Exim CV=no; Postfix "Untrusted"/"Anonymous")
  | "cleartext"; //     no TLS at all

export type OutcomeStatus =
  | "delivered" //      accepted by a server (`=>`, status=sent)
  | "deferred" //       still queued after the last attempt (`==`, status=deferred)
  | "bounced" //        permanently failed (`**`, status=bounced)
  | "not-attempted" //  the log shows no delivery attempt for it
  | "unparsed" //       an MTA the lab does not know (`check --image`): only its log lines, no verdict read from them
  | "probe-accepts" //  a probe tool (posttls-finger, danetool) says an MTA like it would deliver (no mail was sent)
  | "probe-rejects"; // … says it would not

export interface ClientOutcome {
  recipient: string;
  status: OutcomeStatus;
  /** Set when delivered. */
  security?: DeliverySecurity;
  /** Delivery attempts the log shows (deferrals + the final one). */
  attempts: number;
  /** "mx.ta-baseline.lab.example [127.0.25.3]" for the final attempt, when the log names it. */
  host?: string;
  /** TLS version/cipher as logged. */
  tls?: string;
  /** The MTA's own error text: of the final failure, or of the last deferral before a delivery. */
  error?: string;
  /** The log lines about this message, in order (for the report's details). */
  lines: string[];
  /** danetool: TLSA records it printed "Certificate matches." under, of how many it printed. */
  matches?: { matched: number; records: number };
  /** `unparsed` only: false when no log was given (`--log`), so there are no lines to show. */
  logged?: boolean;
}

/** One short phrase for tables: "delivered (DANE)", "deferred", "bounced". */
export function describeOutcome(o: ClientOutcome | undefined): string {
  if (!o) return "no result";
  switch (o.status) {
    case "delivered": {
      const how = {
        dane: "DANE",
        "tls-verified": "TLS, CA-verified",
        "tls-unverified": "TLS, unauthenticated",
        cleartext: "CLEARTEXT",
      }[o.security ?? "cleartext"];
      return o.attempts > 1 ? `delivered (${how}) after ${o.attempts - 1} deferral(s)` : `delivered (${how})`;
    }
    case "deferred":
      return o.attempts > 1 ? `deferred ×${o.attempts}` : "deferred";
    case "bounced":
      return "bounced";
    case "probe-accepts":
    case "probe-rejects": {
      const verdict = o.status === "probe-accepts" ? "would deliver" : "would not deliver";
      const how = o.security === "dane" ? " (DANE)" : o.security === "tls-unverified" ? " (TLS, unauthenticated)" : "";
      const m = o.matches ? `; "matches" under ${o.matches.matched} of ${o.matches.records} records` : "";
      return `${verdict}${o.status === "probe-accepts" ? how : ""}${m}`;
    }
    case "unparsed": {
      if (o.logged === false) return "(no client log)";
      const line = o.lines.at(-1)?.trim();
      if (!line) return "(no log line for it)";
      // What the MTA says after naming the recipient (Postfix: "relay=…, status=sent (…)"); the full line is in the
      // findings and the saved log.
      const i = line.toLowerCase().indexOf(o.recipient.toLowerCase());
      const said = (i >= 0 ? line.slice(i + o.recipient.length) : line).replace(/^[>,\s]+/, "") || line;
      return said.length > 60 ? `${said.slice(0, 59)}…` : said;
    }
    default:
      return "not attempted";
  }
}

/** The outcome for a recipient that never shows up in the log. */
export function notAttempted(recipient: string): ClientOutcome {
  return { recipient, status: "not-attempted", attempts: 0, lines: [] };
}
