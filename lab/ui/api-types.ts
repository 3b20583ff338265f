// The JSON the lab's HTTP API serves and the training board reads, as TypeScript types with no Node import: the one
// definition the server (lab/ui-data.ts builds `ScenarioDetail`) and the browser code (lab/ui/browser/) share.
//
// Types only, and imported only as types from Node-free files (certs/summary.ts, dane/types.ts, ./model.ts), so
// nothing here reaches the bundle. The report, message and matrix shapes are defined by modules that need Node (the
// grader, the mail store, clients/matrix.ts); they are restated here as the board reads them, naming the type they
// come from, and test/ui.api-types.test-d.ts checks at compile time that the server's types still fit them.
import type { CertificateSummary } from "../../certs/summary.js";
import type { Note, NoteLevel, UsableRecord } from "../../dane/types.js";
import type { CatalogueEntry } from "./model.js";

// --- GET /api/scenarios and GET /api/scenarios/<id> ------------------------------------------------------------------

/** One scenario of GET /api/scenarios: the manifest's entry (lab/manifest.ts ManifestScenario). */
export interface Scenario extends CatalogueEntry {
  domain: string;
  recipient: string;
  known?: string;
  mx: { host: string; preference: number; addresses: string[]; port: number }[];
  tlsa: string[];
}

/** A finding on a certificate or record with its severity, as dane/ words it (dane/types.ts). */
export type { Note, NoteLevel };

export type DnsStatus = "secure" | "insecure" | "bogus" | "servfail" | "timeout" | "truncated" | "unknown";

export interface DnsRecordView {
  /** Owner name, fully qualified with the trailing dot. */
  name: string;
  type: string;
  ttl: number;
  /** Presentation form of the RDATA. */
  data: string;
  /** What a validating resolver concludes for this RRset (resolver mode of the lab's DNS server). */
  status: DnsStatus;
  /** The deliberate fault on this RRset, e.g. "bad-signature". */
  fault: string | null;
  /** The validator's explanation, when it has one. */
  why: string | null;
  /** The zone that holds it. */
  zone: string;
}

/** A published TLSA record with dane/'s usability verdict (RFC 7672 §3.1.3) and what it matches. */
export interface TlsaView extends UsableRecord {
  /** The record in presentation form, as published. */
  record: string;
  /** The certificates of the presented chains this record's data matches: chain index and depth (0 = leaf). */
  matches: { chain: number; depth: number; authenticates: boolean }[];
}

export interface CertificateView extends CertificateSummary {
  /** The certificate's name in the lab's PKI ("seed-mx06/r3", "lab/ca"). */
  name: string;
  depth: number;
  /** Indices into the host's `tlsa` of the records whose data matches this certificate. */
  tlsaMatches: number[];
  /** True when a TLSA match on this certificate really authenticates the chain (the leaf chains up to it). */
  authenticates: boolean;
  /** Leaf only: the SAN entries (or the CN) a DANE client accepts as a reference identifier (RFC 7672 §3.2.2). */
  nameMatches: string[];
  /** What `nameMatches` match: the host (TLSA base domain or MX host), only the next-hop domain, or nothing. */
  nameMatchKind: "host" | "next-hop" | null;
  /** True when something about this certificate only looks right (see notes). */
  looksRightOnly: boolean;
  notes: Note[];
}

export interface ChainView {
  /** "presented chain", "also held", "for SNI mx.example". */
  label: string;
  certificates: CertificateView[];
}

export interface CommandView {
  label: string;
  command: string;
}

/**
 * One MX host of a scenario. `Smtp` is the host's `smtp:` block as the scenario file has it (lab/catalogue/schema.ts
 * `HostSpec["smtp"]`, which lab/ui-data.ts fills in); the board shows `behaviour` instead.
 */
export interface HostView<Smtp = unknown> {
  /** MX target, fully qualified. */
  name: string;
  preference: number;
  /** Where address and TLSA live (the CNAME target when the MX host is an alias). */
  addressName: string;
  address: string;
  port: number;
  smtp: Smtp;
  /** Behaviour in words: "first 2 connections get 421", "STARTTLS not offered". */
  behaviour: string[];
  tlsaOwner: string;
  tlsa: TlsaView[];
  /** The names a DANE client accepts in the certificate (TLSA base domain, MX host, next-hop domain). */
  referenceIdentifiers: string[];
  chains: ChainView[];
  commands: CommandView[];
}

/** GET /api/scenarios/<id>: the scenario page's data (lab/ui-data.ts `scenarioDetail`). */
export interface ScenarioDetail<Smtp = unknown> {
  id: string;
  title: string;
  group: string;
  expect: string;
  domain: string;
  recipient: string;
  teach: string;
  rfc: string[];
  known: string | null;
  dns: {
    zone: string;
    signed: boolean;
    ds: "correct" | "wrong";
    /** The domain publishes a Null MX (RFC 7505 `MX 0 .`): its hosts are reached, if at all, outside the MX RRset. */
    nullMx: boolean;
    faults: { kind: string; name: string; type: string }[];
    records: DnsRecordView[];
  };
  hosts: HostView<Smtp>[];
}

/**
 * GET /api/scenarios/<id>: the manifest entry with the `ScenarioDetail` fields laid over it, or the entry alone when
 * the lab serves no detail (lab/http/api.ts without its `scenarioDetail` option).
 */
export type ScenarioWithDetail = Omit<Scenario, "known"> &
  Partial<Omit<ScenarioDetail, keyof Scenario>> & { known?: string | null; stsPolicy?: StsPolicyView };

/**
 * A scenario's MTA-STS policy (RFC 8461) as the scenario page shows it, built by lab/sts/explain.ts `stsDetail`: the
 * policy host and text as served, the deliberate fault on its fetch, the rule that decides the scenario, where TLS-RPT
 * reports go, and a curl command to fetch it by hand. Only scenarios with a policy have it.
 */
export interface StsPolicyView {
  host: string;
  mode: string;
  fault: string | null;
  policy: string;
  rule: string;
  tlsrpt: string | null;
  curl: string;
}

// --- GET /api/report, /api/messages, /api/checks ---------------------------------------------------------------------

/** The grader's verdict for one scenario (lab/grade.ts `ScenarioGrade`, as GET /api/report?format=json serves it). */
export interface Grade {
  scenario: string;
  title?: string;
  group?: string;
  expect: string;
  verdict: string;
  reason: string;
  evidence: { sessions: number; delivered: { tls: number; cleartext: number }; refused: number; messages: string[] };
}

/** GET /api/report?format=json: one run (or all traffic, run null). */
export interface Report {
  run: string | null;
  summary: Record<string, number>;
  grades: Grade[];
}

/** A received message's metadata (lab/smtp/store.ts `StoredMessage`), from GET /api/messages. */
export interface Message {
  id: string;
  scenario: string;
  size: number;
  receivedAt: string;
  client: string | null;
  sender: string | null;
  recipients: string[];
  run: string | null;
  tls: { version: string; cipher: string; sni: string | null } | null;
}

/** One `danelab check` result directory (`<stateDir>/checks/<id>/matrix.json`, written by clients/check.ts). */
export interface CheckSummary {
  id: string;
  generated: string;
  columns: string[];
  scenarios: number;
}

/** One cell of a check's matrix (clients/matrix.ts `MatrixCell`): the lab's grade and the MTA's own outcome. */
export interface MatrixCell {
  grade?: { verdict: string; reason: string };
  outcome?: { status: string; security?: string; attempts: number; error?: string };
}

/** GET /api/checks/<id>: the scenario × client matrix of one `danelab check` (clients/matrix.ts `Matrix`). */
export interface Matrix {
  generated: string;
  columns: { id: string; client: string; mode: string; runId: string; error?: string }[];
  rows: { scenario: string; title: string; group: string; expect: string; cells: Record<string, MatrixCell> }[];
}
