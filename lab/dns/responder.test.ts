// The two trust modes, EDNS0 and truncation, decided per message (no sockets), against a small hand-written backend.
import dnsPacket from "dns-packet";
import { describe, expect, it } from "vitest";
import { AD, CD, RD } from "./query.js";
import { type DnsBackend, type DnsQueryEvent, Responder } from "./responder.js";

/** dns-packet's decode result as the tests read it (its typings mark every section optional and omit rcode). */
interface Reply {
  id: number;
  rcode: string;
  flag_aa: boolean;
  flag_tc: boolean;
  flag_ra: boolean;
  flag_ad: boolean;
  questions: dnsPacket.Question[];
  answers: dnsPacket.Answer[];
  authorities: dnsPacket.Answer[];
  additionals: dnsPacket.Answer[];
}
const decode = (b: Buffer) => dnsPacket.decode(b) as unknown as Reply;

const sig = (covered: string): dnsPacket.Answer => ({
  type: "RRSIG",
  name: "mx.lab.example",
  ttl: 300,
  data: {
    typeCovered: covered,
    algorithm: 13,
    labels: 3,
    originalTTL: 300,
    expiration: 2_000_000_000,
    inception: 1_700_000_000,
    keyTag: 1234,
    signersName: "lab.example",
    signature: Buffer.alloc(64, 1),
  },
});
const tlsa = (i: number): dnsPacket.Answer => ({
  type: "TLSA",
  name: "_25._tcp.mx.lab.example",
  ttl: 300,
  data: { usage: 2, selector: 1, matchingType: 1, certificate: Buffer.alloc(32, i) },
});
const bigTlsa = Array.from({ length: 12 }, (_, i) => tlsa(i));

const backend: DnsBackend = {
  inLab: (name) => name === "" || name === "lab.example" || name.endsWith(".lab.example"),
  authoritative: ({ name, type, dnssecOk }) => {
    if ((name === "mx.lab.example" || name === "bogus.lab.example") && type === "A") {
      const a: dnsPacket.Answer = { type: "A", name, ttl: 300, data: "127.0.25.1" };
      return { rcode: "NOERROR", aa: true, answers: dnssecOk ? [a, sig("A")] : [a], authorities: [], additionals: [] };
    }
    if (name === "_25._tcp.mx.lab.example" && type === "TLSA") {
      return { rcode: "NOERROR", aa: true, answers: bigTlsa, authorities: [], additionals: [] };
    }
    if (name === "slow.lab.example") {
      return { rcode: "NOERROR", aa: true, answers: [], authorities: [], additionals: [], fault: { kind: "timeout" } };
    }
    if (name === "tc.lab.example") {
      const a: dnsPacket.Answer = { type: "A", name, ttl: 300, data: "127.0.25.2" };
      return {
        rcode: "NOERROR",
        aa: true,
        answers: [a],
        authorities: [],
        additionals: [],
        fault: { kind: "truncate-udp" },
      };
    }
    if (name === "boom.lab.example") throw new Error("backend bug");
    return { rcode: "NXDOMAIN", aa: true, answers: [], authorities: [], additionals: [] };
  },
  resolve: ({ name, type }) => {
    if (name === "mx.lab.example" && type === "A") {
      return {
        rcode: "NOERROR",
        status: "secure",
        answers: [{ type: "A", name, ttl: 300, data: "127.0.25.1" }, sig("A")],
        authorities: [],
      };
    }
    if (name === "insecure.lab.example") {
      return {
        rcode: "NOERROR",
        status: "insecure",
        answers: [{ type: "A", name, ttl: 300, data: "127.0.25.9" }],
        authorities: [],
      };
    }
    if (name === "bogus.lab.example") {
      return {
        rcode: "NOERROR",
        status: "bogus",
        answers: [{ type: "A", name, ttl: 300, data: "127.0.25.8" }],
        authorities: [],
        why: "bad sig",
      };
    }
    if (name === "fail.lab.example") {
      return { rcode: "NOERROR", status: "secure", answers: [], authorities: [], fault: { kind: "servfail" } };
    }
    return { rcode: "NXDOMAIN", status: "secure", answers: [], authorities: [] };
  },
};

function ask(
  r: Responder,
  name: string,
  type: dnsPacket.RecordType,
  o: { rd?: boolean; do?: boolean; ad?: boolean; edns?: number | false; transport?: "udp" | "tcp" } = {},
) {
  const msg = dnsPacket.encode({
    type: "query",
    id: 4711,
    flags: (o.rd ? RD : 0) | (o.ad ? AD : 0),
    questions: [{ type, name, class: "IN" }],
    additionals:
      o.edns === false || (o.edns === undefined && !o.do)
        ? []
        : [
            {
              type: "OPT",
              name: ".",
              udpPayloadSize: o.edns || 1232,
              flags: o.do ? dnsPacket.DNSSEC_OK : 0,
            } as dnsPacket.Answer,
          ],
  });
  const reply = r.answer(msg, o.transport ?? "udp", "127.0.11.99");
  return reply ? { raw: reply, p: decode(reply) } : null;
}

describe("Responder, authoritative mode (RD=0)", () => {
  it("answers with AA, RRSIG when DO, OPT echoing DO, the question as asked", () => {
    const r = new Responder(backend);
    const a = ask(r, "MX.lab.example", "A", { do: true });
    expect(a?.p.id).toBe(4711);
    expect(a?.p.flag_aa).toBe(true);
    expect(a?.p.flag_ra).toBe(false);
    expect(a?.p.flag_ad).toBe(false);
    expect(a?.p.questions[0]?.name).toBe("MX.lab.example");
    expect(a?.p.answers.map((x) => x.type)).toEqual(["A", "RRSIG"]);
    const opt = a?.p.additionals.find((x) => x.type === "OPT") as dnsPacket.OptAnswer;
    expect(opt.flag_do).toBe(true);
    expect(opt.udpPayloadSize).toBe(1232);
  });

  it("no OPT in the answer when the query had none; NXDOMAIN passes through", () => {
    const r = new Responder(backend);
    const a = ask(r, "nope.lab.example", "A", { edns: false });
    expect(a?.p.rcode).toBe("NXDOMAIN");
    expect(a?.p.additionals).toEqual([]);
  });

  it("RFC 2181 §9: too big for the payload → TC=1 with empty sections; fits over TCP; 512 without EDNS", () => {
    const r = new Responder(backend);
    const small = ask(r, "_25._tcp.mx.lab.example", "TLSA", { edns: 512 });
    expect(small?.p.flag_tc).toBe(true);
    expect(small?.p.answers).toEqual([]);
    expect(small?.p.additionals.map((x) => x.type)).toEqual(["OPT"]);
    const noEdns = ask(r, "_25._tcp.mx.lab.example", "TLSA", { edns: false });
    expect(noEdns?.p.flag_tc).toBe(true);
    const big = ask(r, "_25._tcp.mx.lab.example", "TLSA", { edns: 1232 });
    expect(big?.p.flag_tc).toBe(false);
    expect(big?.p.answers).toHaveLength(12);
    const tcp = ask(r, "_25._tcp.mx.lab.example", "TLSA", { edns: false, transport: "tcp" });
    expect(tcp?.p.flag_tc).toBe(false);
    expect(tcp?.p.answers).toHaveLength(12);
    expect(r.stats().truncated).toBe(2);
  });

  it("faults: timeout → no reply; truncate-udp → TC over UDP, data over TCP; backend error → SERVFAIL", () => {
    const events: DnsQueryEvent[] = [];
    const r = new Responder(backend, { onQuery: (e) => events.push(e) });
    expect(ask(r, "slow.lab.example", "A")).toBeNull();
    expect(events.at(-1)).toMatchObject({ name: "slow.lab.example", rcode: null, fault: "timeout", transport: "udp" });
    expect(ask(r, "tc.lab.example", "A")?.p.flag_tc).toBe(true);
    expect(ask(r, "tc.lab.example", "A", { transport: "tcp" })?.p.answers).toHaveLength(1);
    expect(ask(r, "boom.lab.example", "A")?.p.rcode).toBe("SERVFAIL");
    expect(r.stats().backendErrors).toBe(1);
  });

  it("RFC 6891 §6.1.3: EDNS version 1 → BADVERS in the OPT record", () => {
    const r = new Responder(backend);
    const msg = dnsPacket.encode({
      type: "query",
      id: 1,
      questions: [{ type: "A", name: "mx.lab.example" }],
      additionals: [{ type: "OPT", name: ".", udpPayloadSize: 1232, flags: 0, ednsVersion: 1 } as dnsPacket.Answer],
    });
    const reply = decode(r.answer(msg, "udp", "127.0.0.1") as Buffer);
    const opt = reply.additionals[0] as dnsPacket.OptAnswer & { extendedRcode: number; ednsVersion: number };
    expect(reply.answers).toEqual([]);
    expect(opt.extendedRcode).toBe(1);
    expect(opt.ednsVersion).toBe(0);
  });

  it("zone transfers and other classes are refused", () => {
    const r = new Responder(backend);
    expect(ask(r, "lab.example", "AXFR")?.p.rcode).toBe("REFUSED");
    const ch = dnsPacket.encode({
      type: "query",
      id: 2,
      questions: [{ type: "TXT", name: "version.bind", class: "CH" }],
    });
    expect(decode(r.answer(ch, "udp", "127.0.0.1") as Buffer).rcode).toBe("REFUSED");
  });
});

describe("Responder, resolver mode (RD=1)", () => {
  it("secure data: AD=1 and RA=1 when DO or AD was asked (RFC 6840 §5.7), RRSIG only with DO", () => {
    const events: DnsQueryEvent[] = [];
    const r = new Responder(backend, { onQuery: (e) => events.push(e) });
    const withDo = ask(r, "mx.lab.example", "A", { rd: true, do: true });
    expect(withDo?.p.flag_ad).toBe(true);
    expect(withDo?.p.flag_ra).toBe(true);
    expect(withDo?.p.flag_aa).toBe(false);
    expect(withDo?.p.answers.map((x) => x.type)).toEqual(["A", "RRSIG"]);
    const withAd = ask(r, "mx.lab.example", "A", { rd: true, ad: true });
    expect(withAd?.p.flag_ad).toBe(true);
    expect(withAd?.p.answers.map((x) => x.type)).toEqual(["A"]);
    const plain = ask(r, "mx.lab.example", "A", { rd: true, edns: 1232 });
    expect(plain?.p.flag_ad).toBe(false);
    expect(events[0]).toMatchObject({
      rd: true,
      do: true,
      ad: true,
      rcode: "NOERROR",
      type: "A",
      client: "127.0.11.99",
    });
  });

  it("insecure: no AD; bogus: SERVFAIL; servfail fault: SERVFAIL; outside the lab: REFUSED", () => {
    const r = new Responder(backend);
    const insecure = ask(r, "insecure.lab.example", "A", { rd: true, do: true });
    expect(insecure?.p.rcode).toBe("NOERROR");
    expect(insecure?.p.flag_ad).toBe(false);
    expect(ask(r, "bogus.lab.example", "A", { rd: true, do: true })?.p.rcode).toBe("SERVFAIL");
    expect(ask(r, "fail.lab.example", "A", { rd: true, do: true })?.p.rcode).toBe("SERVFAIL");
    // RFC 4035 §3.2.2: with CD the client validates itself and gets bogus data as published, without AD.
    const cdQuery = (name: string) =>
      dnsPacket.encode({
        type: "query",
        id: 5,
        flags: RD | CD,
        questions: [{ type: "A", name }],
        additionals: [{ type: "OPT", name: ".", udpPayloadSize: 1232, flags: dnsPacket.DNSSEC_OK } as dnsPacket.Answer],
      });
    const cdBogus = decode(r.answer(cdQuery("bogus.lab.example"), "udp", "127.0.0.1") as Buffer);
    expect(cdBogus.rcode).toBe("NOERROR");
    expect(cdBogus.flag_ad).toBe(false);
    expect(cdBogus.answers.map((x) => x.type)).toEqual(["A", "RRSIG"]);
    const cdSecure = decode(r.answer(cdQuery("mx.lab.example"), "udp", "127.0.0.1") as Buffer);
    expect(cdSecure.flag_ad).toBe(true);
    const outside = ask(r, "www.example.org", "A", { rd: true });
    expect(outside?.p.rcode).toBe("REFUSED");
    expect(outside?.p.flag_ra).toBe(true);
  });

  it("answers come from the cache after the first query, with each query's own id", () => {
    const r = new Responder(backend);
    ask(r, "mx.lab.example", "A", { rd: true, do: true });
    const msg = dnsPacket.encode({
      type: "query",
      id: 999,
      flags: RD,
      questions: [{ type: "A", name: "mx.LAB.example" }],
      additionals: [{ type: "OPT", name: ".", udpPayloadSize: 1232, flags: dnsPacket.DNSSEC_OK } as dnsPacket.Answer],
    });
    const reply = decode(r.answer(msg, "udp", "127.0.0.1") as Buffer);
    expect(reply.id).toBe(999);
    expect(reply.questions[0]?.name).toBe("mx.LAB.example");
    expect(reply.flag_ad).toBe(true);
    expect(r.stats()).toMatchObject({ cacheHits: 1, cacheMisses: 1 });
  });
});

describe("Responder, replay of identical queries", () => {
  it("the same bytes with another id get the same reply with that id; UDP and TCP replies are kept apart", () => {
    const events: DnsQueryEvent[] = [];
    const r = new Responder(backend, { onQuery: (e) => events.push(e) });
    const q = (id: number) =>
      dnsPacket.encode({ type: "query", id, questions: [{ type: "TLSA", name: "_25._tcp.mx.lab.example" }] });
    const first = r.answer(q(1), "udp", "127.0.0.1") as Buffer;
    const second = r.answer(q(2), "udp", "127.0.0.1") as Buffer;
    expect(second.readUInt16BE(0)).toBe(2);
    expect(second.subarray(2)).toEqual(first.subarray(2));
    expect(decode(second).flag_tc).toBe(true);
    const overTcp = decode(r.answer(q(3), "tcp", "127.0.0.1") as Buffer);
    expect(overTcp.flag_tc).toBe(false);
    expect(overTcp.answers).toHaveLength(12);
    expect(events.map((e) => [e.transport, e.tc])).toEqual([
      ["udp", true],
      ["udp", true],
      ["tcp", false],
    ]);
    expect(r.stats()).toMatchObject({ cacheHits: 2, cacheMisses: 1, truncated: 2 });
  });

  it("onQueryRepeatMs: a repeat from the same client is answered but reported once per window", async () => {
    const events: DnsQueryEvent[] = [];
    const r = new Responder(backend, { onQuery: (e) => events.push(e), onQueryRepeatMs: 50 });
    const q = (id: number, name = "mx.lab.example") =>
      dnsPacket.encode({ type: "query", id, questions: [{ type: "A", name }] });
    for (let id = 1; id <= 5; id++) expect(r.answer(q(id), "udp", "127.0.0.1")?.readUInt16BE(0)).toBe(id);
    r.answer(q(6), "udp", "127.0.0.2"); // another client
    r.answer(q(7), "tcp", "127.0.0.1"); // another transport: another cached query
    r.answer(q(8, "nope.lab.example"), "udp", "127.0.0.1"); // another question
    expect(events.map((e) => `${e.client} ${e.transport} ${e.name}`)).toEqual([
      "127.0.0.1 udp mx.lab.example",
      "127.0.0.2 udp mx.lab.example",
      "127.0.0.1 tcp mx.lab.example",
      "127.0.0.1 udp nope.lab.example",
    ]);
    await new Promise((res) => setTimeout(res, 60));
    r.answer(q(9), "udp", "127.0.0.1");
    expect(events).toHaveLength(5);
    expect(r.stats()).toMatchObject({ received: 9, answered: 9 });
  });
});
