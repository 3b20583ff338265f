// What the query reader makes of well-formed, odd and broken messages: answer, header-only error, or silence.
import dnsPacket from "dns-packet";
import { describe, expect, it } from "vitest";
import { CD, headerOnlyReply, parseQuery, QR, RCODE, RD } from "./query.js";

const query = (over: Partial<dnsPacket.Packet> = {}, opt?: Partial<dnsPacket.OptAnswer> & { ednsVersion?: number }) =>
  dnsPacket.encode({
    type: "query",
    id: 0x1234,
    flags: RD,
    questions: [{ type: "TLSA", name: "_25._tcp.MX.Lab.Example", class: "IN" }],
    additionals: opt ? [{ type: "OPT", name: ".", udpPayloadSize: 4096, flags: 0, ...opt } as dnsPacket.Answer] : [],
    ...over,
  });

describe("parseQuery", () => {
  it("reads name (lower-cased), type, RD, and keeps the question bytes as sent", () => {
    const q = parseQuery(query());
    expect(q).toMatchObject({ kind: "query", id: 0x1234, name: "_25._tcp.mx.lab.example", type: "TLSA", qtype: 52 });
    if (q.kind !== "query") throw new Error("unreachable");
    expect(q.rd).toBe(true);
    expect(q.edns).toBe(false);
    expect(q.udpPayload).toBe(512);
    expect(q.question.toString("latin1")).toContain("MX");
  });

  it("RFC 6891: DO bit, payload size clamped to 512..1232, BADVERS for version 1", () => {
    const big = parseQuery(query({}, { flags: dnsPacket.DNSSEC_OK, udpPayloadSize: 4096 }));
    expect(big).toMatchObject({ edns: true, dnssecOk: true, udpPayload: 1232, badVersion: false });
    expect(parseQuery(query({}, { udpPayloadSize: 100 }))).toMatchObject({ udpPayload: 512, dnssecOk: false });
    expect(parseQuery(query({}, { udpPayloadSize: 1000 }))).toMatchObject({ udpPayload: 1000 });
    expect(parseQuery(query({}, { ednsVersion: 1 }))).toMatchObject({ badVersion: true });
  });

  it("the root name is the empty string", () => {
    const q = parseQuery(query({ questions: [{ type: "DNSKEY", name: ".", class: "IN" }] }));
    expect(q).toMatchObject({ kind: "query", name: "", type: "DNSKEY" });
  });

  it("silence for less than a header and for responses", () => {
    expect(parseQuery(Buffer.alloc(11)).kind).toBe("drop");
    const response = query({ type: "response" });
    expect(parseQuery(response).kind).toBe("drop");
  });

  it("FORMERR with the id echoed for broken bodies, absurd counts, two OPTs, compressed question", () => {
    const cut = query().subarray(0, 20);
    expect(parseQuery(cut)).toMatchObject({ kind: "header-reply", id: 0x1234, rcode: RCODE.FORMERR });
    const absurd = Buffer.from(query());
    absurd.writeUInt16BE(0xffff, 10);
    expect(parseQuery(absurd)).toMatchObject({ kind: "header-reply", rcode: RCODE.FORMERR });
    const twoOpt = dnsPacket.encode({
      type: "query",
      id: 7,
      questions: [{ type: "A", name: "a.lab.example" }],
      additionals: [
        { type: "OPT", name: ".", udpPayloadSize: 1232, flags: 0 } as dnsPacket.Answer,
        { type: "OPT", name: ".", udpPayloadSize: 1232, flags: 0 } as dnsPacket.Answer,
      ],
    });
    expect(parseQuery(twoOpt)).toMatchObject({ kind: "header-reply", id: 7, rcode: RCODE.FORMERR });
    // A pointer to itself: the classic compression loop.
    const loop = Buffer.from([0, 9, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1]);
    expect(parseQuery(loop)).toMatchObject({ kind: "header-reply", id: 9, rcode: RCODE.FORMERR });
    const noQuestion = query({ questions: [] });
    expect(parseQuery(noQuestion)).toMatchObject({ kind: "header-reply", rcode: RCODE.FORMERR });
  });

  it("NOTIMP for opcodes other than QUERY", () => {
    const notify = Buffer.from(query());
    notify.writeUInt16BE((4 << 11) | RD, 2);
    expect(parseQuery(notify)).toMatchObject({ kind: "header-reply", rcode: RCODE.NOTIMP });
  });

  it("header-only replies echo id, opcode, RD and CD and set QR", () => {
    const reply = headerOnlyReply({ kind: "header-reply", id: 0xbeef, flags: RD | CD, rcode: RCODE.FORMERR, why: "" });
    expect(reply.length).toBe(12);
    expect(reply.readUInt16BE(0)).toBe(0xbeef);
    expect(reply.readUInt16BE(2)).toBe(QR | RD | CD | RCODE.FORMERR);
    const d = dnsPacket.decode(reply) as unknown as { rcode: string };
    expect(d.rcode).toBe("FORMERR");
  });
});
