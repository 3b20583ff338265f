// Greylisting, the way the seed's test server (Debian bug #1075900) and many real MX hosts do it, as small pieces of
// state the SMTP listener consults:
// - connection greylisting: the first N connections from a client address get a `421 4.7.0` greeting and are closed
//   (RFC 5321 §3.8: a server may refuse service with 421 at the greeting; the client must treat it as temporary);
// - RCPT greylisting: the first attempt of each (client address, sender, recipient) triplet gets `451 4.7.1`, and so
//   does every retry until S seconds have passed; after that the triplet passes (RFC 6647 §2, §4.2 — the classic
//   triplet; RFC 3463: X.7.1 "delivery not authorized").
// The allow-list is lab-wide and shared by every listener: the HTTP API adds a client address at run time so that
// address skips both kinds (like asking the seed's test server operator to put your IP into his database).
import { isIP } from "node:net";

/** Client addresses that skip greylisting at every listener of the lab. */
export class GreylistAllowList {
  private readonly addresses = new Set<string>();

  constructor(initial: Iterable<string> = []) {
    for (const a of initial) this.add(a);
  }

  /** Adds a client IP address; throws a message for a mail admin when it is not an IP address. */
  add(address: string): void {
    const a = normalizeAddress(address);
    if (!isIP(a)) {
      throw new Error(
        `"${address}" is not an IP address: the greylisting allow-list holds client IP addresses (e.g. 127.0.0.1), ` +
          "the address your MTA connects from.",
      );
    }
    this.addresses.add(a);
  }

  delete(address: string): boolean {
    return this.addresses.delete(normalizeAddress(address));
  }

  has(address: string): boolean {
    return this.addresses.has(normalizeAddress(address));
  }

  list(): string[] {
    return [...this.addresses].sort();
  }

  clear(): void {
    this.addresses.clear();
  }
}

/** Connection-level greylisting state of one listener: how many connections each client address has made. */
export class ConnectionGreylist {
  private readonly seen = new Map<string, number>();

  /** @param connections how many first connections per client address are refused */
  constructor(readonly connections: number) {}

  /** Counts this connection; true when it must get the 421 greeting. */
  check(client: string): boolean {
    const a = normalizeAddress(client);
    const n = (this.seen.get(a) ?? 0) + 1;
    this.seen.set(a, n);
    return n <= this.connections;
  }

  /** Forgets one client (or all), so the next connections are greylisted again. */
  reset(client?: string): void {
    if (client === undefined) this.seen.clear();
    else this.seen.delete(normalizeAddress(client));
  }
}

/** RCPT-level greylisting state of one listener: when each (client, sender, recipient) triplet was first seen. */
export class RcptGreylist {
  private readonly firstSeen = new Map<string, number>();

  /**
   * @param seconds how long after the first attempt a triplet keeps being refused
   * @param now clock in milliseconds (injectable for tests)
   */
  constructor(
    readonly seconds: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Records the attempt; true when the RCPT must get 451 4.7.1. */
  check(client: string, sender: string, recipient: string): boolean {
    const key = `${normalizeAddress(client)}\u0000${sender.toLowerCase()}\u0000${recipient.toLowerCase()}`;
    const t = this.now();
    const first = this.firstSeen.get(key);
    if (first === undefined) {
      this.prune(t);
      this.firstSeen.set(key, t);
      return true;
    }
    return t - first < this.seconds * 1000;
  }

  /** Forgets one client's triplets (or all), so its next attempts are greylisted again. */
  reset(client?: string): void {
    if (client === undefined) {
      this.firstSeen.clear();
      return;
    }
    const prefix = `${normalizeAddress(client)}\u0000`;
    for (const key of this.firstSeen.keys()) if (key.startsWith(prefix)) this.firstSeen.delete(key);
  }

  /** Triplets remembered at most (the oldest are forgotten first). */
  static readonly MAX_TRIPLETS = 100_000;

  /**
   * Keeps memory bounded under hostile load, in time proportional to what is dropped: a Map iterates in insertion
   * order, and triplets are inserted when first seen, so the oldest are at the front. Triplets older than a day go,
   * and past MAX_TRIPLETS the oldest go too (their clients are greylisted once more, as on a first visit).
   */
  private prune(t: number): void {
    for (const [key, first] of this.firstSeen) {
      if (t - first <= 86_400_000 && this.firstSeen.size < RcptGreylist.MAX_TRIPLETS) break;
      this.firstSeen.delete(key);
    }
  }

  /** Triplets remembered now. */
  get size(): number {
    return this.firstSeen.size;
  }
}

/** "::ffff:127.0.0.1" (an IPv4 peer of a dual-stack socket) → "127.0.0.1"; lower-case IPv6. */
export function normalizeAddress(address: string): string {
  return address
    .trim()
    .replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, "")
    .toLowerCase();
}
