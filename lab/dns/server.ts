// The lab's DNS server (default 127.0.53.1:53, UDP + TCP), serving a signed zone tree in two trust modes chosen by
// the RD bit: authoritative (RD=0; the signed data as published, faults included, for unbound and other validators)
// and resolver (RD=1; AD on secure data, SERVFAIL on bogus data, for glibc stubs with `options trust-ad edns0`).
// transport.ts carries the bytes, responder.ts decides the answers, backend.ts asks zones/.
import type { SignedTree } from "../../zones/index.js";
import { treeBackend } from "./backend.js";
import type { DnsQueryEvent } from "./responder.js";
import { type RunningDnsServer, serveDns } from "./transport.js";

export { ListenError } from "./errors.js";
export type { DnsQueryEvent, DnsTransport } from "./responder.js";
export type { DnsServerStats, RunningDnsServer } from "./transport.js";

export interface DnsServerOptions {
  /** Default in the lab: 127.0.53.1 (clients' resolv.conf cannot name a port, so port 53). */
  address: string;
  /** 0 picks a free port (the same for UDP and TCP). */
  port: number;
  tree: SignedTree;
  /** Called for every query with a readable question (not for FORMERR garbage), after the reply is decided. */
  onQuery?: (q: DnsQueryEvent) => void;
  /** Report a repeat of the same query from the same client at most once per this many ms (default: every one). */
  onQueryRepeatMs?: number;
  /** RFC 7766 §6.2.3 idle timeout of TCP connections; default 10 s. */
  tcpIdleMs?: number;
  /** Concurrent TCP connections at most; default 256. */
  maxTcpConnections?: number;
}

/** Starts the server; rejects with a ListenError (one paragraph: cause and fix) when the address/port cannot be bound. */
export function startDnsServer(opts: DnsServerOptions): Promise<RunningDnsServer> {
  return serveDns({ ...opts, backend: treeBackend(opts.tree) });
}
