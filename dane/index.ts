// dane/ — what RFC 7672 (SMTP DANE), RFC 7671 (DANE operations) and RFC 6125 (names in certificates) decide about
// one MX host: which TLSA records count, which presented certificate a record matches, whether that match really
// authenticates the server, and which names the server certificate must carry. A pure library like certs/ and
// zones/: data in, verdicts and teaching notes out — no sockets, no files, no clock except the `now` it is given.
//
// The protocol in plain words:
// - A sending MTA looks up the MX host's address and then TLSA records at `_25._tcp.<host>`. Only DNSSEC-validated
//   ("secure") answers count. No TLSA records, or an insecure answer, means DANE does not apply and the client may
//   deliver as before (RFC 7672 §2.2: `no-records`, `insecure`). A secure, non-empty TLSA RRset makes STARTTLS
//   mandatory, even if no record in it is usable (`no-usable-records`).
// - The host whose TLSA records were found is the "TLSA base domain": the MX host, or, when the MX host is a CNAME
//   that validates securely, the CNAME target (RFC 7672 §2.2.3).
// - A TLSA record is three numbers and data. Usage says what the data names: DANE-EE(3) the server's own
//   certificate or key, DANE-TA(2) a trust anchor (a CA) the server's chain leads to; PKIX-TA(0) and PKIX-EE(1) also
//   demand a public-CA check, which SMTP clients do not do: for SMTP they are unusable (RFC 7672 §3.1.3). Selector
//   says whether the data covers the whole certificate (0) or only its public key (1); matching type whether the
//   data is the bytes themselves (0), their SHA-256 (1) or SHA-512 (2). A record with anything else, or a digest of
//   the wrong length, is unusable (RFC 7671 §5; RFC 6698 §2.1). See records.ts.
// - DANE-EE(3): the record matches the server certificate, and that is all. Names, validity dates and issuers are
//   not checked (RFC 7672 §3.1.1, §3.2.1). See verify.ts.
// - DANE-TA(2): the record matches a CA certificate, and the server certificate must chain up to it by signature,
//   with the certificates in between presented and valid — a matching CA that did not sign the leaf is a forged
//   chain (RFC 7672 §3.1.2; RFC 7671 §5.2; RFC 5280 §6.1). See path.ts. The server certificate must then name the
//   host: the TLSA base domain or the MX host (a client MAY also accept the next-hop domain, i.e. the recipient's
//   domain), as a DNS-ID where a `*` may stand for exactly one whole left-most label (RFC 7672 §3.2.2, §3.2.3;
//   RFC 6125 §6.4.3). See names.ts.
// - If no usable record authenticates the chain, the client must not deliver to this host (`no-match`). See
//   outcome.ts for the named outcomes.
//
// certs/ computes the association data; this folder decides what it means. The lab's scenario page
// (lab/ui-data.ts), `danelab explain` (cli/explain.ts) and its tests ask here.

export { keyUsageNotes, type TlsPolicy, validityNote } from "./leaf.js";
export { dnsIdMatches, type NameCheck, nameChecks, nearMiss, presentedNames, referenceIdentifiers } from "./names.js";
export { DANE_OUTCOMES, type DaneOutcome, daneOutcome } from "./outcome.js";
export { type PathCertificate, pathDefects, signaturePath, type TaPath, taPath } from "./path.js";
export { associationMatches, tlsaUsability, USAGE_NAMES } from "./records.js";
export type { Note, NoteLevel, TlsaRecord, UsableRecord } from "./types.js";
export { type RecordAtDepth, recordAtDepth } from "./verify.js";
