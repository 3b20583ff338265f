// From one query message to one answer message, with no sockets: the lab's two trust modes, EDNS0, truncation and the
// answer cache. The transport (transport.ts) hands every datagram or TCP frame to `Responder.answer()` and sends what
// comes back, or nothing when it returns null.
//
// Two trust modes, chosen by the RD bit (design README, "DNS trust modes"):
// - RD=0, authoritative mode: the signed data exactly as published, faults included, for a real validating resolver.
// - RD=1, resolver mode: what a validating resolver would say about the lab's data — AD on secure answers, SERVFAIL on
//   bogus ones — so that a glibc stub with `options trust-ad edns0` needs nothing else.
//
// Answers depend only on (mode, name, type, class, DO, CD, AD-requested, EDNS version), so each combination is
// computed once and kept as encoded record sections (owner names compressed, compress.ts); per query only the header,
// the question echo and the OPT record are written around them. In front of that, a reply is remembered for the exact
// bytes of each query (id aside), so a repeated query costs a map lookup and a copy.
import type dnsPacket from "dns-packet";
import { encodeCompressed } from "./compress.js";
import {
  AA,
  AD,
  CD,
  headerOnlyReply,
  MAX_UDP_PAYLOAD,
  type ParsedQuery,
  parseQuery,
  QR,
  RA,
  RCODE,
  RD,
  rcodeName,
  rcodeNumber,
  TC,
} from "./query.js";

type Answer = dnsPacket.Answer;

/** A fault a zone carries (zones/ ZoneFault); only `kind` changes the wire behaviour here. */
export interface FaultLike {
  kind: string;
  name?: string;
  type?: string;
}

/** zones/ answerAuthoritative() result. */
export interface AuthoritativeResult {
  rcode: string | number;
  aa: boolean;
  answers: Answer[];
  authorities: Answer[];
  additionals: Answer[];
  fault?: FaultLike | undefined;
}

/** zones/ resolveValidated() result. */
export interface ValidatedResult {
  rcode: string | number;
  status: "secure" | "insecure" | "bogus";
  answers: Answer[];
  authorities: Answer[];
  fault?: FaultLike | undefined;
  why?: string | undefined;
}

/** Where answers come from: backend.ts adapts a zones/ SignedTree; tests may pass a small hand-written one. */
export interface DnsBackend {
  authoritative(q: { name: string; type: string; dnssecOk: boolean }): AuthoritativeResult;
  resolve(q: { name: string; type: string }): ValidatedResult;
  /** Resolver mode answers only names of the lab (the suffix zone and below, and the root itself). */
  inLab(name: string): boolean;
}

export type DnsTransport = "udp" | "tcp";

/** One query the server read, for the event log (`onQuery`). */
export interface DnsQueryEvent {
  /** ISO 8601. */
  time: string;
  /** Client IP address. */
  client: string;
  transport: DnsTransport;
  /** Lower case, no trailing dot, root = "". */
  name: string;
  /** "TLSA", "MX", … */
  type: string;
  /** RD bit of the query: true = resolver mode, false = authoritative mode. */
  rd: boolean;
  /** DO bit of the query's OPT record. */
  do: boolean;
  /** Response code sent ("NOERROR", "NXDOMAIN", "SERVFAIL", "REFUSED", …); null when no reply was sent. */
  rcode: string | null;
  /** AD bit of the reply. */
  ad: boolean;
  /** TC bit of the reply (the client must retry over TCP). */
  tc: boolean;
  /** The zone fault that shaped the reply ("servfail", "timeout", "truncate-udp", "bad-signature", "rotate", …). */
  fault?: string;
}

export interface ResponderStats {
  /** Messages received (UDP datagrams + TCP frames). */
  received: number;
  udp: number;
  tcp: number;
  /** Messages answered with a full reply (not counting header-only FORMERR/NOTIMP). */
  answered: number;
  /** Header-only replies: FORMERR for undecodable queries, NOTIMP for other opcodes. */
  headerReplies: number;
  /** Silently ignored: shorter than a header, or a response (QR=1). */
  dropped: number;
  /** Queries deliberately left unanswered (timeout fault). */
  unanswered: number;
  /** UDP replies sent with TC=1. */
  truncated: number;
  cacheHits: number;
  cacheMisses: number;
  /** The zones/ backend threw; answered SERVFAIL. */
  backendErrors: number;
  byRcode: Record<string, number>;
}

/** An answer prepared once per (mode, name, type, class, DO, CD, AD-requested, EDNS version). */
interface Prepared {
  /** Header flags without the per-query echoes (RD, CD) and without TC. Includes QR and the rcode's low 4 bits. */
  flags: number;
  /** Upper 8 bits of the 12-bit extended rcode, carried in OPT (RFC 6891 §6.1.3). */
  extendedRcode: number;
  /** Encoded answer, authority and additional records (the OPT record is appended per query). */
  sections: Buffer;
  an: number;
  ns: number;
  ar: number;
  noReply: boolean;
  tcOverUdp: boolean;
  rcode: string;
  ad: boolean;
  fault: string | undefined;
  expires: number;
}

export interface ResponderOptions {
  onQuery?: ((q: DnsQueryEvent) => void) | undefined;
  /**
   * Report a repeat of the very same query (same bytes, id aside, same transport) from the same client at most once
   * per this many milliseconds; default 0 = every query. The lab's event log folds such repeats anyway (dns-log.ts);
   * skipping them here keeps a flood (a benchmark, a resolver's retries) from building an event per packet.
   */
  onQueryRepeatMs?: number;
  /** Prepared answers kept at most (the cache is emptied when full); default 20,000. */
  cacheEntries?: number;
  /** How long a prepared answer is reused; default 30 s (signature validity can run out while a lab runs). */
  cacheMs?: number;
}

const EMPTY = Buffer.alloc(0);
/** RFC 4035 §3.1.1, §3.2.1: these records go to clients only when they set DO (or ask for the type itself). */
const DNSSEC_TYPES = new Set(["RRSIG", "NSEC", "NSEC3"]);
/** An OPT RR with no options: root name, TYPE, CLASS=payload, TTL=ext-rcode/version/flags, RDLENGTH (RFC 6891 §6.1.2). */
const OPT_LENGTH = 11;
const TCP_MAX_MESSAGE = 65535;
/** Queries longer than this (odd EDNS options, padding) skip the byte-for-byte replay cache. */
const MAX_REPLAY_QUERY = 512;

/** A reply remembered for the exact bytes of a query (id aside), with what the event log needs. */
interface Replay {
  /** The whole reply (its id is overwritten per query); null = no reply (timeout fault). */
  reply: Buffer | null;
  expires: number;
  name: string;
  type: string;
  rd: boolean;
  do: boolean;
  rcode: string | null;
  ad: boolean;
  tc: boolean;
  fault: string | undefined;
  /** When each client was last reported to onQuery for this very query (see onQueryRepeatMs). */
  reported: Map<string, number> | undefined;
}

/** Clients remembered per cached query for onQueryRepeatMs; past this the map starts over. */
const MAX_REPORTED_CLIENTS = 1024;

export class Responder {
  private readonly cache = new Map<string, Prepared>();
  private readonly udpReplies = new Map<string, Replay>();
  private readonly tcpReplies = new Map<string, Replay>();
  private readonly cacheEntries: number;
  private readonly cacheMs: number;
  private readonly onQuery: ((q: DnsQueryEvent) => void) | undefined;
  private readonly onQueryRepeatMs: number;
  private readonly counters: ResponderStats = {
    received: 0,
    udp: 0,
    tcp: 0,
    answered: 0,
    headerReplies: 0,
    dropped: 0,
    unanswered: 0,
    truncated: 0,
    cacheHits: 0,
    cacheMisses: 0,
    backendErrors: 0,
    byRcode: {},
  };

  constructor(
    private readonly backend: DnsBackend,
    opts: ResponderOptions = {},
  ) {
    this.cacheEntries = opts.cacheEntries ?? 20_000;
    this.cacheMs = opts.cacheMs ?? 30_000;
    this.onQuery = opts.onQuery;
    this.onQueryRepeatMs = opts.onQueryRepeatMs ?? 0;
  }

  stats(): ResponderStats {
    return { ...this.counters, byRcode: { ...this.counters.byRcode } };
  }

  /** The reply to one query message, or null for silence. Never throws. */
  answer(msg: Buffer, transport: DnsTransport, client: string): Buffer | null {
    const c = this.counters;
    c.received++;
    if (transport === "udp") c.udp++;
    else c.tcp++;
    const now = Date.now();

    // Fast path: the same query bytes (everything but the id) get the same reply bytes. This is what a benchmark,
    // a stub's retries and a resolver's repeated lookups hit, and it skips decoding altogether.
    const replies = transport === "udp" ? this.udpReplies : this.tcpReplies;
    const rawKey = msg.length >= 12 && msg.length <= MAX_REPLAY_QUERY ? msg.toString("latin1", 2) : undefined;
    if (rawKey !== undefined) {
      const hit = replies.get(rawKey);
      if (hit !== undefined && hit.expires > now) {
        c.cacheHits++;
        return this.replay(hit, msg, transport, client, now);
      }
    }

    let q: ReturnType<typeof parseQuery>;
    try {
      q = parseQuery(msg);
    } catch {
      q = { kind: "drop", why: "parser error" };
    }
    if (q.kind === "drop") {
      c.dropped++;
      return null;
    }
    if (q.kind === "header-reply") {
      c.headerReplies++;
      this.count(rcodeName(q.rcode));
      return headerOnlyReply(q);
    }

    const wantsAd = q.dnssecOk || q.ad;
    const key = `${q.rd ? 1 : 0}${q.cd ? 1 : 0}${q.dnssecOk ? 1 : 0}${wantsAd ? 1 : 0}${q.badVersion ? 1 : 0}|${q.qclass}|${q.qtype}|${q.name}`;
    let p = this.cache.get(key);
    if (p !== undefined && p.expires > now) {
      c.cacheHits++;
    } else {
      c.cacheMisses++;
      p = this.prepare(q, now);
      // Fault "rotate": the next query gets the next record, so this answer is never reused (neither here nor in
      // the replay cache below, which takes its expiry from it).
      if (p.fault === "rotate") p.expires = 0;
      else {
        if (this.cache.size >= this.cacheEntries) this.cache.clear();
        this.cache.set(key, p);
      }
    }

    const reply = p.noReply ? null : this.assemble(q, p, transport);
    const tc = reply !== null && (reply.readUInt16BE(2) & TC) !== 0;
    const replay: Replay = {
      reply,
      expires: p.expires,
      name: q.name,
      type: q.type,
      rd: q.rd,
      do: q.dnssecOk,
      rcode: p.noReply ? null : p.rcode,
      ad: p.ad,
      tc,
      fault: p.fault,
      reported: undefined,
    };
    if (rawKey !== undefined && replay.expires > now) {
      if (replies.size >= this.cacheEntries) replies.clear();
      replies.set(rawKey, replay);
    }
    return this.replay(replay, msg, transport, client, now, reply);
  }

  /** Sends a remembered reply with the query's id; `fresh` is a reply just assembled for this very query. */
  private replay(
    r: Replay,
    msg: Buffer,
    transport: DnsTransport,
    client: string,
    now: number,
    fresh?: Buffer | null,
  ): Buffer | null {
    const c = this.counters;
    let buf: Buffer | null = null;
    if (r.reply === null) {
      c.unanswered++;
    } else {
      if (fresh) {
        buf = fresh;
      } else {
        buf = Buffer.allocUnsafe(r.reply.length);
        r.reply.copy(buf);
        buf[0] = msg[0] as number;
        buf[1] = msg[1] as number;
      }
      c.answered++;
      if (r.tc) c.truncated++;
      this.count(r.rcode ?? "NONE");
    }
    if (this.onQuery && this.shouldReport(r, client, now)) {
      const event: DnsQueryEvent = {
        time: new Date().toISOString(),
        client,
        transport,
        name: r.name,
        type: r.type,
        rd: r.rd,
        do: r.do,
        rcode: r.rcode,
        ad: r.ad,
        tc: r.tc,
      };
      if (r.fault) event.fault = r.fault;
      try {
        this.onQuery(event);
      } catch {
        // A broken event sink must not take the DNS server down.
      }
    }
    return buf;
  }

  /** False for a repeat within onQueryRepeatMs of the last report of this query to this client. */
  private shouldReport(r: Replay, client: string, now: number): boolean {
    if (this.onQueryRepeatMs <= 0) return true;
    r.reported ??= new Map();
    const last = r.reported.get(client);
    if (last !== undefined && now - last < this.onQueryRepeatMs) return false;
    if (r.reported.size >= MAX_REPORTED_CLIENTS) r.reported.clear();
    r.reported.set(client, now);
    return true;
  }

  /** Header, the question as asked, the prepared sections (or none, with TC) and the OPT record. */
  private assemble(q: ParsedQuery, p: Prepared, transport: DnsTransport): Buffer {
    const limit = transport === "udp" ? q.udpPayload : TCP_MAX_MESSAGE;
    const opt = q.edns ? OPT_LENGTH : 0;
    const full = 12 + q.question.length + p.sections.length + opt;
    // RFC 2181 §9, RFC 1035 §4.2.1: an answer that does not fit is sent with TC=1 and no records, so the client
    // retries over TCP (RFC 7766 §5) instead of using a partial RRset.
    const truncated = (transport === "udp" && p.tcOverUdp) || full > limit;
    const total = truncated ? 12 + q.question.length + opt : full;
    const buf = Buffer.allocUnsafe(total);
    buf.writeUInt16BE(q.id, 0);
    // RFC 1035 §4.1.1: RD is copied into the response; RFC 4035 §3.2.2: so is CD.
    buf.writeUInt16BE(p.flags | (q.flags & (RD | CD)) | (truncated ? TC : 0), 2);
    buf.writeUInt16BE(1, 4);
    buf.writeUInt16BE(truncated ? 0 : p.an, 6);
    buf.writeUInt16BE(truncated ? 0 : p.ns, 8);
    buf.writeUInt16BE((truncated ? 0 : p.ar) + (q.edns ? 1 : 0), 10);
    let off = 12 + q.question.copy(buf, 12);
    if (!truncated) off += p.sections.copy(buf, off);
    if (q.edns) {
      // RFC 6891 §6.1.2/§6.1.3: root owner, CLASS = our UDP payload size, TTL = extended rcode, version 0, DO echoed
      // (RFC 3225 §3), no options.
      buf[off] = 0;
      buf.writeUInt16BE(41, off + 1);
      buf.writeUInt16BE(MAX_UDP_PAYLOAD, off + 3);
      buf[off + 5] = p.extendedRcode;
      buf[off + 6] = 0;
      buf.writeUInt16BE(q.dnssecOk ? 0x8000 : 0, off + 7);
      buf.writeUInt16BE(0, off + 9);
    }
    return buf;
  }

  private count(rcode: string): void {
    const by = this.counters.byRcode;
    by[rcode] = (by[rcode] ?? 0) + 1;
  }

  private prepare(q: ParsedQuery, now: number): Prepared {
    const base = {
      sections: EMPTY,
      an: 0,
      ns: 0,
      ar: 0,
      extendedRcode: 0,
      noReply: false,
      tcOverUdp: false,
      ad: false,
      fault: undefined,
      expires: now + this.cacheMs,
    };
    const modeFlags = QR | (q.rd ? RA : 0);
    const bare = (rcode: number): Prepared => ({ ...base, flags: modeFlags | (rcode & 0xf), rcode: rcodeName(rcode) });

    // RFC 6891 §6.1.3: an EDNS version we do not implement gets BADVERS (16: upper bits 1 in OPT, header rcode 0).
    if (q.badVersion) return { ...bare(RCODE.NOERROR), extendedRcode: RCODE.BADVERS >> 4, rcode: "BADVERS" };
    // The lab's data is all class IN (CHAOS version.bind and friends are not served).
    if (q.qclass !== 1) return bare(RCODE.REFUSED);
    // RFC 5936 §2.2: zone transfers are not offered; use `danelab export` for the zone files.
    if (q.qtype === 251 || q.qtype === 252) return bare(RCODE.REFUSED);
    // RFC 6891 §6.1.1: OPT is a pseudo-record and cannot be asked for; TKEY/TSIG are not queries either.
    if (q.qtype === 41 || q.qtype === 249 || q.qtype === 250 || q.qtype === 0) return bare(RCODE.FORMERR);
    // RFC 1035 §3.2.3: MAILB/MAILA are obsolete.
    if (q.qtype === 253 || q.qtype === 254) return bare(RCODE.NOTIMP);

    try {
      return q.rd ? this.prepareResolver(q, base, modeFlags) : this.prepareAuthoritative(q, base, modeFlags);
    } catch {
      this.counters.backendErrors++;
      return bare(RCODE.SERVFAIL);
    }
  }

  private prepareAuthoritative(q: ParsedQuery, base: Omit<Prepared, "flags" | "rcode">, modeFlags: number): Prepared {
    const a = this.backend.authoritative({ name: q.name, type: q.type, dnssecOk: q.dnssecOk });
    const fault = a.fault?.kind;
    const withFault = { ...base, fault };
    if (fault === "timeout") return { ...withFault, flags: modeFlags, rcode: "NONE", noReply: true };
    if (fault === "servfail") return { ...withFault, flags: modeFlags | RCODE.SERVFAIL, rcode: "SERVFAIL" };
    const rcode = rcodeNumber(a.rcode);
    const answers = keepDnssec(a.answers, q);
    const authorities = keepDnssec(a.authorities, q);
    const additionals = keepDnssec(a.additionals, q).filter((rr) => rr.type !== "OPT");
    return {
      ...withFault,
      flags: modeFlags | (a.aa ? AA : 0) | (rcode & 0xf),
      rcode: rcodeName(rcode),
      ...encodeCompressed(questionName(q), answers, authorities, additionals),
      tcOverUdp: fault === "truncate-udp",
    };
  }

  private prepareResolver(q: ParsedQuery, base: Omit<Prepared, "flags" | "rcode">, modeFlags: number): Prepared {
    // The lab is not a recursive resolver for the Internet: other names are refused, never looked up.
    if (!this.backend.inLab(q.name)) return { ...base, flags: modeFlags | RCODE.REFUSED, rcode: "REFUSED" };
    const r = this.backend.resolve({ name: q.name, type: q.type });
    const fault = r.fault?.kind;
    const withFault = { ...base, fault };
    if (fault === "timeout") return { ...withFault, flags: modeFlags, rcode: "NONE", noReply: true };
    if (fault === "servfail") return { ...withFault, flags: modeFlags | RCODE.SERVFAIL, rcode: "SERVFAIL" };
    // RFC 4035 §5.5: bogus data is not given to the client — SERVFAIL — unless it set CD (RFC 4035 §3.2.2), in which
    // case it gets the data as published, without AD, and validates it itself (delv does this).
    if (r.status === "bogus") {
      if (!q.cd) return { ...withFault, flags: modeFlags | RCODE.SERVFAIL, rcode: "SERVFAIL" };
      const a = this.backend.authoritative({ name: q.name, type: q.type, dnssecOk: q.dnssecOk });
      const rcode = rcodeNumber(a.rcode);
      return {
        ...withFault,
        flags: modeFlags | (rcode & 0xf),
        rcode: rcodeName(rcode),
        ...encodeCompressed(questionName(q), keepDnssec(a.answers, q), keepDnssec(a.authorities, q), []),
        tcOverUdp: fault === "truncate-udp",
      };
    }
    const rcode = rcodeNumber(r.rcode);
    // RFC 4035 §3.2.3: AD only when every RRset in the answer and authority sections is authentic; RFC 6840 §5.7: and
    // only when the query asked for it with DO or AD.
    const ad = r.status === "secure" && (q.dnssecOk || q.ad) && (rcode === RCODE.NOERROR || rcode === RCODE.NXDOMAIN);
    return {
      ...withFault,
      flags: modeFlags | (ad ? AD : 0) | (rcode & 0xf),
      rcode: rcodeName(rcode),
      ad,
      ...encodeCompressed(questionName(q), keepDnssec(r.answers, q), keepDnssec(r.authorities, q), []),
      tcOverUdp: fault === "truncate-udp",
    };
  }
}

/** The question's name in wire form (the question minus QTYPE and QCLASS). */
function questionName(q: ParsedQuery): Buffer {
  return q.question.subarray(0, q.question.length - 4);
}

/** RFC 4035 §3.1.1, §3.2.1: without DO, RRSIG/NSEC/NSEC3 records are left out unless they are what was asked for. */
function keepDnssec(records: Answer[] | undefined, q: ParsedQuery): Answer[] {
  if (!records) return [];
  if (q.dnssecOk) return records;
  return records.filter((rr) => !DNSSEC_TYPES.has(rr.type) || rr.type === q.type);
}
