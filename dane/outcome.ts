// The named outcomes of DANE for one MX host (like mox's ErrNoRecords, ErrInsecure, ErrNoMatch): what the DNS answer
// and the presented chain together oblige a sending MTA to do.

export type DaneOutcome = "no-records" | "insecure" | "no-usable-records" | "no-match" | "authenticated";

/** Each outcome, what it obliges the client to do, and the RFC sentence behind it. */
export const DANE_OUTCOMES: Readonly<Record<DaneOutcome, { means: string; rfc: string }>> = {
  "no-records": {
    means: "the TLSA RRset is securely denied: DANE does not apply, and the client delivers as without DANE",
    rfc: "RFC 7672 §2.2",
  },
  insecure: {
    means: "the TLSA RRset (or the MX host's address) is not DNSSEC-validated: DANE does not apply",
    rfc: "RFC 7672 §2.2",
  },
  "no-usable-records": {
    means: "a secure TLSA RRset with no usable record: STARTTLS is mandatory, but the server is not authenticated",
    rfc: "RFC 7672 §2.2, §3.1.3",
  },
  "no-match": {
    means: "usable TLSA records, but none authenticates the presented chain: the client must not deliver to this host",
    rfc: "RFC 7672 §3.1, §3.2",
  },
  authenticated: {
    means: "a usable TLSA record authenticates the presented chain (and, for DANE-TA, the names match)",
    rfc: "RFC 7672 §3.1.1, §3.1.2, §3.2.2",
  },
};

/**
 * The outcome for one host. `tlsa`: what a validating resolver concluded for the TLSA RRset — "secure" with records,
 * "secure-denied" (NXDOMAIN/NODATA proven), or "insecure"; a "bogus" answer is not an outcome here: RFC 7672 §2.1.1
 * says the client must not use the host at all. `usable`: the RRset holds at least one usable record.
 * `authenticated`: one of them authenticates the chain (verify.ts) and, for DANE-TA, the names match (names.ts).
 */
export function daneOutcome(
  tlsa: "secure" | "secure-denied" | "insecure",
  usable: boolean,
  authenticated: boolean,
): DaneOutcome {
  if (tlsa === "secure-denied") return "no-records";
  if (tlsa === "insecure") return "insecure";
  if (!usable) return "no-usable-records";
  return authenticated ? "authenticated" : "no-match";
}
