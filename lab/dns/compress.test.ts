// Owner-name compression: the compressed sections decode (dns-packet follows the pointers) to exactly the records
// given, are smaller than dns-packet's uncompressed form, and stay valid when the question's case changes.
import dnsPacket from "dns-packet";
import { describe, expect, it } from "vitest";
import { encodeCompressed } from "./compress.js";

const owner = "_25._tcp.mx.many-tlsa.lab.example";
const tlsa = (i: number): dnsPacket.Answer => ({
  type: "TLSA",
  name: owner,
  ttl: 300,
  class: "IN",
  data: { usage: 2, selector: 1, matchingType: 1, certificate: Buffer.alloc(32, i) },
});
const soa: dnsPacket.Answer = {
  type: "SOA",
  name: "many-tlsa.lab.example",
  ttl: 300,
  class: "IN",
  data: {
    mname: "ns1.many-tlsa.lab.example",
    rname: "hostmaster.many-tlsa.lab.example",
    serial: 1,
    refresh: 3600,
    retry: 600,
    expire: 86400,
    minimum: 300,
  },
};
const root: dnsPacket.Answer = { type: "NS", name: ".", ttl: 300, class: "IN", data: "ns.lab-root" };
const glue: dnsPacket.Answer = { type: "A", name: "ns.lab-root", ttl: 300, class: "IN", data: "127.0.53.1" };

function message(
  qname: string,
  answers: dnsPacket.Answer[],
  authorities: dnsPacket.Answer[],
  additionals: dnsPacket.Answer[],
) {
  const question = dnsPacket.encode({ type: "query", id: 1, questions: [{ type: "TLSA", name: qname }] }).subarray(12);
  const s = encodeCompressed(question.subarray(0, question.length - 4), answers, authorities, additionals);
  const header = Buffer.alloc(12);
  header.writeUInt16BE(7, 0);
  header.writeUInt16BE(0x8400, 2);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(s.an, 6);
  header.writeUInt16BE(s.ns, 8);
  header.writeUInt16BE(s.ar, 10);
  return Buffer.concat([header, question, s.sections]);
}

describe("encodeCompressed", () => {
  it("decodes to the same records, in fewer octets than without compression", () => {
    const answers = Array.from({ length: 14 }, (_, i) => tlsa(i));
    const msg = message(owner, answers, [soa, root], [glue]);
    const d = dnsPacket.decode(msg);
    expect(d.answers).toEqual(answers.map((a) => ({ ...a, flush: false })));
    expect(d.authorities?.[0]).toMatchObject({ name: soa.name, data: soa.data });
    expect(d.authorities?.[1]).toMatchObject({ name: ".", data: "ns.lab-root" });
    expect(d.additionals?.[0]).toMatchObject({ name: "ns.lab-root", data: "127.0.53.1" });
    const plain = dnsPacket.encode({
      type: "response",
      id: 7,
      questions: [{ type: "TLSA", name: owner }],
      answers,
      authorities: [soa, root],
      additionals: [glue],
    });
    expect(msg.length).toBeLessThan(plain.length - 13 * 30);
  });

  it("owner names equal to the question point at it, whatever case the question uses", () => {
    const answers = [tlsa(1), tlsa(2)];
    const upper = message(owner.toUpperCase(), answers, [], []);
    const d = dnsPacket.decode(upper);
    expect(d.answers?.map((a) => a.name.toLowerCase())).toEqual([owner, owner]);
    // 12 header + question, then a 2-octet pointer instead of the 35-octet name.
    const first = 12 + owner.length + 2 + 4;
    expect(upper[first]).toBe(0xc0);
    expect(upper[first + 1]).toBe(12);
  });

  it("names that differ only by a dot inside a label are not confused", () => {
    const odd: dnsPacket.Answer = { type: "A", name: "a.b.lab.example", ttl: 1, class: "IN", data: "127.0.0.9" };
    const question = Buffer.from([3, 0x61, 0x2e, 0x62, 3, 0x6c, 0x61, 0x62, 7, ...Buffer.from("example"), 0]);
    const s = encodeCompressed(question, [odd], [], []);
    // "a.b" as one label must not serve as a pointer target for the labels "a" "b".
    expect(s.sections.subarray(0, 4)).toEqual(Buffer.from([1, 0x61, 1, 0x62]));
  });
});
