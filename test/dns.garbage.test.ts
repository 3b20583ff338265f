// Garbage in, nothing out of the ordinary: 100,000 random and mutated packets over UDP (bit flips of valid queries,
// truncations, random lengths, compression loops, absurd counts) and a few thousand TCP frames and hostile connections
// (length prefixes promising more than is sent, connections that send nothing, raw bytes without framing). The server
// must not crash, its memory must stay bounded, and it must answer correctly right afterwards. The tree also holds the
// NSEC3 and wildcard zones (RFC 5155, RFC 4592), whose hashing and synthesis run on every mutated query for them.
// Address: 127.0.11.5, port picked by the kernel.
import { createSocket } from "node:dgram";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type dnsPacket from "dns-packet";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningDnsServer, startDnsServer } from "../lab/dns/server.js";
import { buildTree } from "../zones/index.js";
import { nsec3Specs } from "../zones/test-fixtures.js";
import { fixtureZones, SUFFIX } from "./dns.fixture.js";
import { dig, query, rssMiB, TcpClient } from "./dns.helpers.js";

const ADDRESS = "127.0.11.5";

/** Deterministic PRNG (mulberry32), so a failure can be replayed. */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (n: number) => Math.floor(next() * n),
    pick: <T>(xs: T[]) => xs[Math.floor(next() * xs.length)] as T,
  };
}

const NAMES = [
  SUFFIX,
  `secure.${SUFFIX}`,
  `mx.secure.${SUFFIX}`,
  `_25._tcp.mx.big.${SUFFIX}`,
  "",
  `nope.${SUFFIX}`,
  `nope.n3salt.${SUFFIX}`,
  `_25._tcp.mx.n3wild.${SUFFIX}`,
  `x.y.wild.${SUFFIX}`,
  `plain.n3.${SUFFIX}`,
  `nope.n3high.${SUFFIX}`,
];
const TYPES: dnsPacket.RecordType[] = ["A", "TLSA", "MX", "DNSKEY", "DS", "NSEC", "NSEC3", "SOA", "AAAA"];

function validQueries(): Buffer[] {
  const out: Buffer[] = [];
  for (const name of NAMES) {
    for (const type of TYPES) {
      out.push(query(name, type, { rd: true, do: true }));
      out.push(query(name, type, { rd: false, do: true, edns: 512 }));
      out.push(query(name, type, { rd: false, edns: false }));
    }
  }
  return out;
}

/** One hostile packet: a mutation of a valid query, or something made up from nothing. */
function garbage(r: ReturnType<typeof prng>, seeds: Buffer[]): Buffer {
  const base = Buffer.from(r.pick(seeds));
  switch (r.int(8)) {
    case 0: // bit flips
    case 1: {
      const flips = 1 + r.int(8);
      for (let i = 0; i < flips; i++) {
        const bit = r.int(base.length * 8);
        base[bit >> 3] = (base[bit >> 3] as number) ^ (1 << (bit & 7));
      }
      return base;
    }
    case 2: // truncation
      return base.subarray(0, r.int(base.length));
    case 3: {
      // random bytes of random length
      const b = Buffer.alloc(r.int(600));
      for (let i = 0; i < b.length; i++) b[i] = r.int(256);
      return b;
    }
    case 4: {
      // absurd counts
      base.writeUInt16BE(r.int(65536), 4 + 2 * r.int(4));
      return base;
    }
    case 5: {
      // compression loops: a pointer to itself, to the next byte, or two pointers to each other, in question or additional
      const head = base.subarray(0, 12);
      const loops = [
        Buffer.from([0xc0, 12, 0, 1, 0, 1]),
        Buffer.from([1, 0x61, 0xc0, 12, 0, 1, 0, 1]),
        Buffer.from([0xc0, 14, 0xc0, 12, 0, 1, 0, 1]),
        Buffer.from([0, 0, 1, 0, 1, 0xc0, 17, 0, 41, 4, 0xd0, 0, 0, 0, 0, 0, 0]),
      ];
      const out = Buffer.concat([head, r.pick(loops)]);
      out.writeUInt16BE(1, 4);
      out.writeUInt16BE(0, 6);
      out.writeUInt16BE(0, 8);
      out.writeUInt16BE(out.length > 20 ? 1 : 0, 10);
      return out;
    }
    case 6: {
      // random garbage after a valid header and question, with counts claiming records there
      const tail = Buffer.alloc(r.int(200));
      for (let i = 0; i < tail.length; i++) tail[i] = r.int(256);
      const out = Buffer.concat([base, tail]);
      out.writeUInt16BE(r.int(4), 10);
      out.writeUInt16BE(r.int(2), 6);
      return out;
    }
    default: {
      // labels that lie about their length, opcodes, QR set, EDNS version 1..255
      const b = Buffer.from(base);
      b[12] = r.int(256);
      b.writeUInt16BE(r.int(65536), 2);
      return b;
    }
  }
}

let server: RunningDnsServer;
let dir: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "danelab-dns-garbage-"));
  // The NSEC3/wildcard children join the fixture's root and suffix (their own copies of those are left out).
  const extra = nsec3Specs(13, ADDRESS).filter((z) => z.origin !== "" && z.origin !== SUFFIX);
  const tree = await buildTree([...fixtureZones(ADDRESS), ...extra], { dir });
  server = await startDnsServer({ address: ADDRESS, port: 0, tree, tcpIdleMs: 300 });
});
afterAll(async () => {
  await server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("DNS server under garbage", () => {
  it("100,000 hostile UDP packets: no crash, bounded memory, correct answers afterwards", async () => {
    const r = prng(1075900);
    const seeds = validQueries();
    const client = createSocket("udp4");
    let replies = 0;
    client.on("message", () => replies++);
    await new Promise<void>((res) => client.bind(0, "127.0.0.1", () => res()));
    const rssBefore = rssMiB();
    const startReceived = server.stats().received;
    const total = 100_000;
    let sent = 0;
    const started = Date.now();
    while (sent < total) {
      for (let i = 0; i < 250 && sent < total; i++, sent++) client.send(garbage(r, seeds), server.port, ADDRESS);
      // Let the server catch up (it runs in this process) so the kernel does not simply drop the burst.
      const deadline = Date.now() + 200;
      while (server.stats().received - startReceived < sent - 50 && Date.now() < deadline) {
        await new Promise((res) => setImmediate(res));
      }
    }
    await new Promise((res) => setTimeout(res, 200));
    client.close();
    const stats = server.stats();
    const received = stats.received - startReceived;
    const rssAfter = rssMiB();
    console.log(
      `garbage UDP: ${sent} sent, ${received} received by the server, ${replies} replies, ${Date.now() - started} ms, ` +
        `RSS ${rssBefore.toFixed(0)} → ${rssAfter.toFixed(0)} MiB; ${JSON.stringify(stats.byRcode)}; ` +
        `dropped ${stats.dropped}, header-only ${stats.headerReplies}`,
    );
    expect(received).toBeGreaterThan(total * 0.95);
    expect(stats.headerReplies).toBeGreaterThan(1000);
    expect(stats.dropped).toBeGreaterThan(1000);
    expect(rssAfter - rssBefore).toBeLessThan(150);

    const udp = await dig(ADDRESS, server.port, ["+norec", "+dnssec", `mx.secure.${SUFFIX}`, "A"]);
    expect(udp.status).toBe("NOERROR");
    expect(udp.flags).toContain("aa");
    const res = await dig(ADDRESS, server.port, ["+dnssec", `mx.secure.${SUFFIX}`, "A"]);
    expect(res.flags).toContain("ad");
    const nx = await dig(ADDRESS, server.port, ["+dnssec", `nope.n3salt.${SUFFIX}`, "A"]);
    expect([nx.status, nx.flags.includes("ad")]).toEqual(["NXDOMAIN", true]);
    const wild = await dig(ADDRESS, server.port, ["+dnssec", `_25._tcp.mx.n3wild.${SUFFIX}`, "TLSA"]);
    expect([wild.status, wild.flags.includes("ad"), wild.answer[0]]).toEqual(["NOERROR", true, "TLSA"]);
  }, 60_000);

  it("a few thousand hostile TCP frames and connections: no crash, idle ones closed, correct answers afterwards", async () => {
    const r = prng(7672);
    const seeds = validQueries();
    const rssBefore = rssMiB();
    const clients: TcpClient[] = [];
    let frames = 0;
    // 40 connections × 60 garbage frames each, written in random-sized pieces.
    for (let c = 0; c < 40; c++) {
      const client = await TcpClient.open(ADDRESS, server.port);
      clients.push(client);
      const parts: Buffer[] = [];
      for (let i = 0; i < 60; i++, frames++) parts.push(TcpClient.frame(garbage(r, seeds)));
      const all = Buffer.concat(parts);
      for (let off = 0; off < all.length; ) {
        const n = 1 + r.int(700);
        client.write(all.subarray(off, off + n));
        off += n;
      }
    }
    // Hostile connections: silent; a prefix promising 65535 octets and sending 10; raw bytes without framing;
    // half a length prefix.
    const hostile: TcpClient[] = [];
    for (let i = 0; i < 20; i++) {
      const silent = await TcpClient.open(ADDRESS, server.port);
      const liar = await TcpClient.open(ADDRESS, server.port);
      liar.write(Buffer.concat([Buffer.from([0xff, 0xff]), Buffer.alloc(10, 7)]));
      const raw = await TcpClient.open(ADDRESS, server.port);
      const bytes = Buffer.alloc(300);
      for (let j = 0; j < bytes.length; j++) bytes[j] = r.int(256);
      raw.write(bytes);
      const half = await TcpClient.open(ADDRESS, server.port);
      half.write(Buffer.from([0x01]));
      hostile.push(silent, liar, raw, half);
    }
    for (const c of clients) await c.waitFor(60, 3000);
    // Every hostile connection is closed by the server (idle timeout 300 ms here, zero-length frames at once).
    const closed = await Promise.all(hostile.map((c) => c.waitClosed(3000)));
    expect(closed.every(Boolean)).toBe(true);
    for (const c of clients) c.end();
    const stats = server.stats();
    console.log(
      `garbage TCP: ${frames} frames on ${clients.length} connections + ${hostile.length} hostile connections; ` +
        `RSS ${rssBefore.toFixed(0)} → ${rssMiB().toFixed(0)} MiB; closed by server ${stats.tcpClosedByServer}`,
    );
    expect(stats.tcp).toBeGreaterThan(frames * 0.5);
    expect(rssMiB() - rssBefore).toBeLessThan(100);
    await new Promise((res) => setTimeout(res, 100));
    expect(server.stats().tcpConnections).toBe(0);

    const tcp = await dig(ADDRESS, server.port, ["+tcp", "+norec", "+dnssec", `mx.secure.${SUFFIX}`, "A"]);
    expect(tcp.status).toBe("NOERROR");
    expect(tcp.flags).toContain("aa");
  }, 60_000);
});
