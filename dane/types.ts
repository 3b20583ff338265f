// The data shapes of dane/: a TLSA record as three numbers and hex, the same record with its usability verdict, and
// a teaching note (a one-line finding with a severity) — the form the scenario page shows.

/** A TLSA record's RDATA (RFC 6698 §2.1): certificate usage, selector, matching type, association data (hex). */
export interface TlsaRecord {
  usage: number;
  selector: number;
  matching: number;
  /** Lower-case hex, as certs/ `tlsaAssociationData` writes it. */
  hex: string;
}

/** A TLSA record with what `tlsaUsability` says of it. */
export interface UsableRecord extends TlsaRecord {
  usable: boolean;
  /** Why it is unusable; null when usable. */
  note: string | null;
}

/** ok = this is why it works, info = worth knowing, warn = looks right only, bad = breaks. */
export type NoteLevel = "ok" | "info" | "warn" | "bad";

export interface Note {
  level: NoteLevel;
  text: string;
}
