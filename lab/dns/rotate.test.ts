// The zone fault "rotate" through the DNS server's message path (no sockets): the very same query bytes, asked again
// and again, get the rotating RRset's records in turn — neither the prepared-answer cache nor the byte-for-byte replay
// cache pins one — in authoritative mode (with its RRSIG) and in resolver mode (AD, validated), while other answers are
// still served from the cache.
import dnsPacket from "dns-packet";
import { beforeAll, describe, expect, it } from "vitest";
import { mailZone, rootAndSuffix } from "../../zones/test-fixtures.js";
import { buildTree } from "../../zones/tree.js";
import { treeBackend } from "./backend.js";
import { AD } from "./query.js";
import { Responder } from "./responder.js";

const NAME = "_mta-sts.rot.lab.example";
const txt = (id: string): dnsPacket.Answer => ({ name: NAME, type: "TXT", ttl: 5, data: [`v=STSv1; id=${id};`] });

let responder: Responder;
beforeAll(async () => {
  const tree = await buildTree([
    ...rootAndSuffix(),
    mailZone("rot", { extra: [txt("1"), txt("2")], faults: [{ kind: "rotate", name: NAME, type: "TXT" }] }),
  ]);
  responder = new Responder(treeBackend(tree));
});

const query = (name: string, type: dnsPacket.RecordType, rd: boolean) =>
  dnsPacket.encode({
    type: "query",
    id: 7,
    flags: rd ? dnsPacket.RECURSION_DESIRED : 0,
    questions: [{ type, name }],
    additionals: [{ type: "OPT", name: ".", udpPayloadSize: 1232, flags: dnsPacket.DNSSEC_OK } as dnsPacket.Answer],
  });

function ask(msg: Buffer) {
  const reply = responder.answer(msg, "udp", "127.0.0.1")!;
  const d = dnsPacket.decode(reply);
  const texts = (d.answers ?? [])
    .filter((r) => r.type === "TXT")
    .map((r) => Buffer.from((r.data as Buffer[])[0]!).toString());
  return {
    texts,
    sigs: (d.answers ?? []).filter((r) => r.type === "RRSIG").length,
    ad: (reply.readUInt16BE(2) & AD) !== 0,
  };
}

describe("a rotating RRset through the responder", () => {
  it("alternates between the records for identical queries, each with its RRSIG, in both trust modes", () => {
    for (const rd of [false, true]) {
      const msg = query(NAME, "TXT", rd);
      const seen = [0, 1, 2, 3].map(() => ask(msg));
      expect(seen.map((s) => s.texts)).toEqual([
        ["v=STSv1; id=1;"],
        ["v=STSv1; id=2;"],
        ["v=STSv1; id=1;"],
        ["v=STSv1; id=2;"],
      ]);
      for (const s of seen) expect(s).toMatchObject({ sigs: 1, ad: rd });
    }
  });

  it("still caches answers that do not rotate", () => {
    const msg = query("mx.rot.lab.example", "A", false);
    ask(msg);
    const hits = responder.stats().cacheHits;
    ask(msg);
    expect(responder.stats().cacheHits).toBe(hits + 1);
  });
});
