// answerAuthoritative: AA answers with RRSIGs, referrals with DS or the NSEC proving there is none, DS from the parent
// side, CNAMEs followed inside the zone, NXDOMAIN/NODATA with SOA and NSEC proofs, faults reported.
import { beforeAll, describe, expect, it } from "vitest";
import { answerAuthoritative } from "./answer.js";
import { labSpecs } from "./test-fixtures.js";
import { buildTree } from "./tree.js";
import type { Answer, SignedTree } from "./types.js";

// biome-ignore lint/suspicious/noExplicitAny: test access to record data of any type
const d = <T = any>(r: Answer | undefined): T => (r as unknown as { data: T }).data;

let tree: SignedTree;
beforeAll(async () => {
  tree = await buildTree(labSpecs(), {});
});

const ask = (name: string, type: string, dnssecOk = true, from?: string) =>
  answerAuthoritative(tree, { name, type, dnssecOk, ...(from === undefined ? {} : { from }) });
const brief = (rrs: Answer[]) =>
  rrs.map((r) => `${r.name} ${r.type}${r.type === "RRSIG" ? ` ${d<{ typeCovered: string }>(r).typeCovered}` : ""}`);

describe("answers", () => {
  it("answers TLSA with AA and its RRSIG when DO is set, without RRSIG otherwise", () => {
    const a = ask("_25._tcp.mx.good.lab.example", "TLSA");
    expect(a.rcode).toBe("NOERROR");
    expect(a.aa).toBe(true);
    expect(brief(a.answers)).toEqual([
      "_25._tcp.mx.good.lab.example TLSA",
      "_25._tcp.mx.good.lab.example TLSA",
      "_25._tcp.mx.good.lab.example TLSA",
      "_25._tcp.mx.good.lab.example RRSIG TLSA",
    ]);
    expect(brief(ask("_25._tcp.mx.good.lab.example", "TLSA", false).answers)).not.toContain(
      "_25._tcp.mx.good.lab.example RRSIG TLSA",
    );
  });

  it("accepts names with upper case and a trailing dot", () => {
    expect(ask("MX.Good.Lab.Example.", "a").answers[0]).toBeDefined();
    expect(d(ask("MX.Good.Lab.Example.", "a").answers[0])).toBe("127.0.25.3");
  });

  it("follows a CNAME inside the zone (RFC 1034 §4.3.2)", () => {
    const a = ask("_25._tcp.mx2.good.lab.example", "TLSA");
    expect(brief(a.answers).slice(0, 3)).toEqual([
      "_25._tcp.mx2.good.lab.example CNAME",
      "_25._tcp.mx2.good.lab.example RRSIG CNAME",
      "_25._tcp.mx.good.lab.example TLSA",
    ]);
  });

  it("stops at a CNAME that leaves the zone", () => {
    const a = ask("mx.cross.lab.example", "A");
    expect(brief(a.answers)).toEqual(["mx.cross.lab.example CNAME", "mx.cross.lab.example RRSIG CNAME"]);
    expect(a.rcode).toBe("NOERROR");
  });

  it("answers DS from the parent side of the cut (RFC 4035 §3.1.4.1)", () => {
    const a = ask("good.lab.example", "DS");
    expect(a.aa).toBe(true);
    expect(brief(a.answers)).toEqual(["good.lab.example DS", "good.lab.example RRSIG DS"]);
    expect(d<{ signersName: string }>(a.answers[1]!).signersName).toBe("lab.example");
  });

  it("answers DS for an unsigned child with NODATA and the NSEC at the cut", () => {
    const a = ask("plain.lab.example", "DS");
    expect(a.rcode).toBe("NOERROR");
    expect(a.answers).toEqual([]);
    expect(brief(a.authorities)).toEqual([
      "lab.example SOA",
      "lab.example RRSIG SOA",
      "plain.lab.example NSEC",
      "plain.lab.example RRSIG NSEC",
    ]);
  });
});

describe("referrals (RFC 1034 §4.3.2, RFC 4035 §3.1.4)", () => {
  it("for an unsigned child: NS, the NSEC proving no DS, glue; not authoritative", () => {
    const a = ask("mx.plain.lab.example", "A", true, "lab.example");
    expect(a.aa).toBe(false);
    expect(a.answers).toEqual([]);
    expect(brief(a.authorities)).toEqual([
      "plain.lab.example NS",
      "plain.lab.example NSEC",
      "plain.lab.example RRSIG NSEC",
    ]);
    const types = d<{ rrtypes: string[] }>(a.authorities[1]!).rrtypes;
    expect(types).toContain("NS");
    expect(types).not.toContain("DS");
    expect(brief(a.additionals)).toEqual(["ns1.plain.lab.example A"]);
  });

  it("for a signed child: NS, the signed DS, glue", () => {
    const a = ask("_25._tcp.mx.good.lab.example", "TLSA", true, "lab.example");
    expect(brief(a.authorities)).toEqual(["good.lab.example NS", "good.lab.example DS", "good.lab.example RRSIG DS"]);
    expect(brief(a.additionals)).toEqual(["ns1.good.lab.example A"]);
    expect(brief(ask("_25._tcp.mx.good.lab.example", "TLSA", false, "lab.example").authorities)).toEqual([
      "good.lab.example NS",
    ]);
  });

  it("from the root down to the suffix zone", () => {
    const a = ask("mx.good.lab.example", "A", true, "");
    expect(brief(a.authorities)).toEqual(["lab.example NS", "lab.example DS", "lab.example RRSIG DS"]);
  });
});

describe("denial of existence (RFC 4035 §3.1.3)", () => {
  it("NXDOMAIN: SOA, the NSEC covering the name and the one covering the wildcard, all signed", () => {
    const a = ask("nothere.good.lab.example", "A");
    expect(a.rcode).toBe("NXDOMAIN");
    expect(a.aa).toBe(true);
    const nsecs = a.authorities.filter((r) => r.type === "NSEC");
    expect(nsecs.length).toBeGreaterThanOrEqual(1);
    expect(a.authorities.filter((r) => r.type === "RRSIG")).toHaveLength(1 + nsecs.length);
    expect(a.authorities[0]!.type).toBe("SOA");
    expect((a.authorities[0] as { ttl?: number }).ttl).toBe(300); // RFC 2308 §3
    // The wildcard *.good.lab.example and nothere.good.lab.example both fall in the gaps the NSECs cover.
    expect(brief(a.authorities)).toContain("good.lab.example NSEC");
  });

  it("NODATA: SOA and the NSEC of the name, whose bitmap lacks the type", () => {
    const a = ask("mx.good.lab.example", "TLSA");
    expect(a.rcode).toBe("NOERROR");
    expect(a.answers).toEqual([]);
    const nsec = a.authorities.find((r) => r.type === "NSEC")!;
    expect(nsec.name).toBe("mx.good.lab.example");
    expect(d<{ rrtypes: string[] }>(nsec).rrtypes).not.toContain("TLSA");
  });

  it("NODATA at an empty non-terminal: the NSEC covering it", () => {
    const a = ask("_tcp.mx.good.lab.example", "TLSA");
    expect(a.rcode).toBe("NOERROR");
    const nsec = a.authorities.find((r) => r.type === "NSEC")!;
    expect(d<{ nextDomain: string }>(nsec).nextDomain.endsWith("._tcp.mx.good.lab.example")).toBe(true);
  });

  it("without DO: only the SOA", () => {
    expect(brief(ask("nothere.good.lab.example", "A", false).authorities)).toEqual(["good.lab.example SOA"]);
  });

  it("no proofs in an unsigned zone", () => {
    const a = ask("nothere.plain.lab.example", "A");
    expect(a.rcode).toBe("NXDOMAIN");
    expect(brief(a.authorities)).toEqual(["plain.lab.example SOA"]);
  });
});

describe("faults", () => {
  it("reports servfail, timeout and truncate-udp for the server to act on, only for that name and type", () => {
    expect(ask("_25._tcp.mx.faulty.lab.example", "TLSA").fault?.kind).toBe("servfail");
    expect(ask("mx.faulty.lab.example", "AAAA").fault?.kind).toBe("timeout");
    expect(ask("faulty.lab.example", "MX").fault?.kind).toBe("truncate-udp");
    expect(ask("mx.faulty.lab.example", "A").fault).toBeUndefined();
  });
});
