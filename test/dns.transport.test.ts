// The DNS server's transport with a small hand-written backend, over real sockets: dig over UDP and TCP, TC and dig's
// retry over TCP, several queries per TCP connection (pipelined, split at every byte), a burst of UDP queries, the
// idle timeout, and the connections a broken or hostile client leaves behind. Address: 127.0.11.1, ports picked by
// the kernel.
import { createSocket } from "node:dgram";
import dnsPacket from "dns-packet";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DnsBackend } from "../lab/dns/responder.js";
import { type RunningDnsServer, serveDns } from "../lab/dns/transport.js";
import { dig, query, TcpClient, udpExchange } from "./dns.helpers.js";

const ADDRESS = "127.0.11.1";
const tlsa = (i: number): dnsPacket.Answer => ({
  type: "TLSA",
  name: "_25._tcp.mx.lab.example",
  ttl: 300,
  data: { usage: 2, selector: 1, matchingType: 1, certificate: Buffer.alloc(32, i) },
});

const backend: DnsBackend = {
  inLab: (name) => name === "" || name.endsWith("lab.example"),
  authoritative: ({ name, type }) => {
    if (type === "TLSA")
      return {
        rcode: "NOERROR",
        aa: true,
        answers: Array.from({ length: 16 }, (_, i) => tlsa(i)),
        authorities: [],
        additionals: [],
      };
    if (name === "slow.lab.example")
      return { rcode: "NOERROR", aa: true, answers: [], authorities: [], additionals: [], fault: { kind: "timeout" } };
    return {
      rcode: "NOERROR",
      aa: true,
      answers: [{ type: "A", name, ttl: 300, data: "127.0.25.1" }],
      authorities: [],
      additionals: [],
    };
  },
  resolve: ({ name }) => ({
    rcode: "NOERROR",
    status: "secure",
    answers: [{ type: "A", name, ttl: 300, data: "127.0.25.1" }],
    authorities: [],
  }),
};

let server: RunningDnsServer;
beforeAll(async () => {
  server = await serveDns({ address: ADDRESS, port: 0, backend, tcpIdleMs: 500 });
});
afterAll(async () => {
  await server?.close();
});

describe("DNS transport", () => {
  it("answers dig over UDP and over TCP on the same port", async () => {
    const udp = await dig(ADDRESS, server.port, ["+norec", "mx.lab.example", "A"]);
    expect(udp.status).toBe("NOERROR");
    expect(udp.flags).toContain("aa");
    const tcp = await dig(ADDRESS, server.port, ["+tcp", "+norec", "mx.lab.example", "A"]);
    expect(tcp.status).toBe("NOERROR");
    expect(tcp.answer).toEqual(["A"]);
    expect(server.stats().tcp).toBeGreaterThanOrEqual(1);
  });

  it("+bufsize=512 on a large TLSA RRset: TC, and dig retries over TCP and gets all records", async () => {
    const r = await dig(ADDRESS, server.port, ["+norec", "+dnssec", "+bufsize=512", "_25._tcp.mx.lab.example", "TLSA"]);
    expect(r.text).toContain("Truncated, retrying in TCP mode");
    expect(r.answer).toHaveLength(16);
    const noRetry = await dig(ADDRESS, server.port, [
      "+norec",
      "+bufsize=512",
      "+ignore",
      "_25._tcp.mx.lab.example",
      "TLSA",
    ]);
    expect(noRetry.flags).toContain("tc");
    expect(noRetry.answer).toHaveLength(0);
  });

  it("several pipelined queries on one TCP connection, answered in order, even when split at every byte", async () => {
    const c = await TcpClient.open(ADDRESS, server.port);
    const frames = [1, 2, 3].map((id) => TcpClient.frame(query(`h${id}.lab.example`, "A", { id, edns: false })));
    c.write(Buffer.concat(frames));
    const replies = await c.waitFor(3);
    expect(replies.map((r) => dnsPacket.decode(r).id)).toEqual([1, 2, 3]);
    for (const byte of TcpClient.frame(query("h4.lab.example", "A", { id: 4 }))) {
      c.write(Buffer.from([byte]));
      await new Promise((r) => setTimeout(r, 1));
    }
    const after = await c.waitFor(4);
    expect(dnsPacket.decode(after[3] as Buffer).answers?.[0]).toMatchObject({
      name: "h4.lab.example",
      data: "127.0.25.1",
    });
    c.end();
  });

  it("closes idle connections, connections that promise more than they send, and zero-length frames", async () => {
    const silent = await TcpClient.open(ADDRESS, server.port);
    const liar = await TcpClient.open(ADDRESS, server.port);
    liar.write(Buffer.from([0xff, 0xff, 1, 2, 3]));
    const zero = await TcpClient.open(ADDRESS, server.port);
    zero.write(Buffer.from([0, 0]));
    expect(await zero.waitClosed(300)).toBe(true);
    expect(await silent.waitClosed(2000)).toBe(true);
    expect(await liar.waitClosed(2000)).toBe(true);
    const r = await dig(ADDRESS, server.port, ["+tcp", "+norec", "mx.lab.example", "A"]);
    expect(r.status).toBe("NOERROR");
  });

  it("timeout fault: no reply over UDP nor TCP, and the TCP connection still serves the next query", async () => {
    expect(await udpExchange(ADDRESS, server.port, query("slow.lab.example", "A"), 500)).toBeNull();
    const c = await TcpClient.open(ADDRESS, server.port);
    c.write(TcpClient.frame(query("slow.lab.example", "A", { id: 1 })));
    c.write(TcpClient.frame(query("fast.lab.example", "A", { id: 2 })));
    const replies = await c.waitFor(1);
    expect(replies.map((r) => dnsPacket.decode(r).id)).toEqual([2]);
    c.end();
  });

  it("a burst of UDP queries from several sockets, sent without waiting: each answered once, to its sender, with its id and name", async () => {
    // Replies are queued per event-loop turn and sent together (transport.ts): none may be lost, doubled or misrouted.
    const sockets = await Promise.all(
      Array.from({ length: 4 }, () => {
        const s = createSocket("udp4");
        return new Promise<typeof s>((res) => s.bind(0, ADDRESS, () => res(s)));
      }),
    );
    const perSocket = 100;
    const got = sockets.map(() => new Map<number, string>());
    const doubled: number[] = [];
    const done = Promise.all(
      sockets.map(
        (s, i) =>
          new Promise<void>((res) => {
            s.on("message", (msg) => {
              const r = dnsPacket.decode(msg);
              if (got[i]!.has(r.id!)) doubled.push(r.id!);
              got[i]!.set(r.id!, r.answers?.[0]?.name ?? "");
              if (got[i]!.size === perSocket) res();
            });
          }),
      ),
    );
    for (let id = 0; id < perSocket; id++)
      for (const [i, s] of sockets.entries())
        s.send(query(`n${i}-${id}.lab.example`, "A", { id }), server.port, ADDRESS);
    await Promise.race([done, new Promise((r) => setTimeout(r, 5000))]);
    for (const s of sockets) s.close();
    expect(doubled).toEqual([]);
    for (const [i, m] of got.entries()) {
      expect(m.size).toBe(perSocket);
      for (const [id, name] of m) expect(name).toBe(`n${i}-${id}.lab.example`);
    }
  });

  it("FORMERR with the id echoed for an undecodable query, silence for a 5-byte packet", async () => {
    const broken = Buffer.from(query("mx.lab.example", "A", { id: 0xabcd })).subarray(0, 20);
    const reply = await udpExchange(ADDRESS, server.port, broken);
    expect(reply && dnsPacket.decode(reply)).toMatchObject({ id: 0xabcd, type: "response", rcode: "FORMERR" });
    expect(await udpExchange(ADDRESS, server.port, Buffer.from([1, 2, 3, 4, 5]), 300)).toBeNull();
  });
});
