// NSEC3 (RFC 5155) served by the lab's DNS and judged by real validators: unbound (the product's own startUnbound()
// configuration) and BIND's delv, both walking down from the lab's root trust anchor, must give a validated NXDOMAIN
// and NODATA for the NSEC3 denials, call the Opt-Out delegation and the 500-iteration zone insecure (RFC 5155 §9.2,
// RFC 9276 §3.2), validate wildcard expansions (RFC 4592, RFC 4035 §5.3.4) under NSEC and NSEC3, and the lab's own
// resolver mode (RD=1) must agree with unbound on every name, over UDP and TCP.
// Addresses: lab DNS 127.0.87.1:53 (unbound follows the glue to port 53), unbound 127.0.87.2:53.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { nsec3Specs } from "../zones/test-fixtures.js";
import { dig, digSummary, type LabWithUnbound, labWithUnbound } from "./dns.helpers.js";

const LAB = "127.0.87.1";
const UNBOUND = "127.0.87.2";
const S = "lab.example";
let lab: LabWithUnbound;

beforeAll(async () => {
  lab = await labWithUnbound({
    prefix: "danelab-dns-nsec3-",
    lab: LAB,
    resolver: UNBOUND,
    specs: nsec3Specs(13, LAB),
    probeName: S,
  });
}, 60_000);

afterAll(() => lab?.close());

const viaUnbound = (name: string, type: string) => lab.viaUnbound(name, type);
const delv = (name: string, type: string) => lab.delv(name, type);
const why = () => lab.why();

/** Every name of every NSEC3 zone worth asking about, with what a validator must conclude. */
const CASES: { name: string; type: string; status: string; ad: boolean }[] = [
  // n3: Opt-Out chain, 0 iterations, no salt.
  { name: `n3.${S}`, type: "MX", status: "NOERROR", ad: true },
  { name: `n3.${S}`, type: "NSEC3PARAM", status: "NOERROR", ad: true },
  { name: `_25._tcp.mx.n3.${S}`, type: "TLSA", status: "NOERROR", ad: true },
  { name: `mx.n3.${S}`, type: "TXT", status: "NOERROR", ad: true }, // NODATA (RFC 5155 §7.2.3)
  { name: `deep.n3.${S}`, type: "A", status: "NOERROR", ad: true }, // empty non-terminal NODATA
  { name: `mx.deep.n3.${S}`, type: "A", status: "NOERROR", ad: true },
  // NXDOMAIN whose next-closer NSEC3 has Opt-Out: not proven (RFC 5155 §9.2), so no AD.
  { name: `nope.n3.${S}`, type: "A", status: "NXDOMAIN", ad: false },
  { name: `_25._tcp.mx.deep.n3.${S}`, type: "TLSA", status: "NXDOMAIN", ad: false },
  // The unsigned delegation Opt-Out leaves out of the chain (RFC 5155 §7.2.7, §8.6): insecure.
  { name: `mx.plain.n3.${S}`, type: "A", status: "NOERROR", ad: false },
  { name: `_25._tcp.mx.plain.n3.${S}`, type: "TLSA", status: "NXDOMAIN", ad: false },
  { name: `plain.n3.${S}`, type: "DS", status: "NOERROR", ad: false },
  // n3salt: salt aabbccdd, 10 iterations, no Opt-Out: validated NXDOMAIN and NODATA (RFC 5155 §8.4, §8.5).
  { name: `_25._tcp.mx.n3salt.${S}`, type: "TLSA", status: "NOERROR", ad: true },
  { name: `_25._tcp.nope.n3salt.${S}`, type: "TLSA", status: "NXDOMAIN", ad: true },
  { name: `nope.n3salt.${S}`, type: "A", status: "NXDOMAIN", ad: true },
  { name: `mx.n3salt.${S}`, type: "TXT", status: "NOERROR", ad: true },
  { name: `n3salt.${S}`, type: "TLSA", status: "NOERROR", ad: true },
  { name: `mx.n3salt.${S}`, type: "DS", status: "NOERROR", ad: true },
  // n3high: 500 iterations — positive answers stay secure; denials are insecure (RFC 9276 §3.2, unbound's 150).
  { name: `mx.n3high.${S}`, type: "A", status: "NOERROR", ad: true },
  { name: `nope.n3high.${S}`, type: "A", status: "NXDOMAIN", ad: false },
  { name: `mx.n3high.${S}`, type: "TXT", status: "NOERROR", ad: false },
  // Wildcards (RFC 4592) under NSEC (wild) and NSEC3 (n3wild): *._tcp.mx TLSA and * A expand; NODATA at a wildcard.
  ...["wild", "n3wild"].flatMap((z) => [
    { name: `_25._tcp.mx.${z}.${S}`, type: "TLSA", status: "NOERROR", ad: true },
    { name: `_465._tcp.mx.${z}.${S}`, type: "TLSA", status: "NOERROR", ad: true },
    { name: `any.${z}.${S}`, type: "A", status: "NOERROR", ad: true },
    { name: `x.y.${z}.${S}`, type: "A", status: "NOERROR", ad: true },
    { name: `any.${z}.${S}`, type: "TXT", status: "NOERROR", ad: true },
    { name: `_25._tcp.mx.${z}.${S}`, type: "A", status: "NOERROR", ad: true },
    { name: `nope.mx.${z}.${S}`, type: "A", status: "NXDOMAIN", ad: true },
    { name: `*.${z}.${S}`, type: "A", status: "NOERROR", ad: true },
    { name: `mx.${z}.${S}`, type: "A", status: "NOERROR", ad: true },
  ]),
];

describe("NSEC3 denials judged by unbound and delv", () => {
  it("unbound: every case gets the expected rcode and AD bit", async () => {
    for (const c of CASES) {
      const r = await viaUnbound(c.name, c.type);
      expect({ status: r.status, ad: r.flags.includes("ad") }, `${c.name} ${c.type}\n${why()}`).toEqual({
        status: c.status,
        ad: c.ad,
      });
    }
  }, 120_000);

  it("the NSEC3 proofs are what the lab serves: NXDOMAIN carries 3 NSEC3 + RRSIGs, NODATA the matching one", async () => {
    const nx = await dig(LAB, 53, ["+dnssec", "+norec", `nope.n3salt.${S}`, "A"]);
    expect(nx.status).toBe("NXDOMAIN");
    expect(nx.authority.filter((t) => t === "NSEC3")).toHaveLength(3);
    expect(nx.authority.filter((t) => t === "RRSIG")).toHaveLength(4); // SOA + 3 NSEC3
    const nodata = await dig(LAB, 53, ["+dnssec", "+norec", `mx.n3salt.${S}`, "TXT"]);
    expect(nodata.authority.filter((t) => t === "NSEC3")).toHaveLength(1);
    // No DS at the Opt-Out delegation (RFC 5155 §7.2.4): the NSEC3 matching the closest provable encloser n3 and
    // the Opt-Out NSEC3 (flags 1) covering the next closer name plain.n3 — no NSEC3 of plain.n3 itself.
    const ds = await dig(LAB, 53, ["+dnssec", "+norec", `plain.n3.${S}`, "DS"]);
    expect(ds.status).toBe("NOERROR");
    expect(ds.authority.filter((t) => t === "NSEC3")).toHaveLength(2);
    expect(ds.text).toMatch(/NSEC3\s+1 1 0 - /);
  });

  it("delv: fully validated NXDOMAIN and NODATA with NSEC3; unsigned for Opt-Out and high iterations", async () => {
    for (const [name, type] of [
      [`nope.n3salt.${S}`, "A"],
      [`_25._tcp.nope.n3salt.${S}`, "TLSA"],
      [`mx.n3salt.${S}`, "TXT"],
      [`deep.n3.${S}`, "A"],
    ] as const) {
      const d = await delv(name, type);
      expect(d.output, `${name} ${type}`).toContain("; negative response, fully validated");
    }
    for (const [name, type] of [
      [`mx.plain.n3.${S}`, "A"],
      [`nope.n3high.${S}`, "A"],
    ] as const) {
      const d = await delv(name, type);
      expect(d.output, `${name} ${type}`).toMatch(/; (unsigned answer|negative response, unsigned answer)/);
    }
  }, 120_000);

  it("wildcard answers: the query name with the wildcard's RRSIG labels, the no-closer-match proof; delv validates", async () => {
    for (const [z, proof] of [
      ["wild", "NSEC"],
      ["n3wild", "NSEC3"],
    ] as const) {
      const name = `_25._tcp.mx.${z}.${S}`;
      const r = await dig(LAB, 53, ["+dnssec", "+norec", name, "TLSA"]);
      expect(r.answer).toEqual(["TLSA", "RRSIG"]);
      // RFC 4035 §5.3.4: Labels 5 (_tcp.mx.<zone>.lab.example) < 6 labels of the owner: an expansion.
      expect(r.text).toMatch(new RegExp(`^${name.replace(/\./g, "\\.")}\\.\\s+\\d+\\s+IN\\s+RRSIG\\s+TLSA 13 5 `, "m"));
      expect(r.authority).toEqual([proof, "RRSIG"]);
      const d = await delv(name, "TLSA");
      expect(d.output, name).toContain("; fully validated");
      expect(d.output).toContain(`${name}.`);
    }
  }, 60_000);

  it("the lab's resolver mode (RD=1) agrees with unbound on every case, over UDP and TCP", async () => {
    const rows: string[] = [];
    for (const c of CASES) {
      const ub = digSummary(await viaUnbound(c.name, c.type), c.type);
      for (const transport of ["+notcp", "+tcp"]) {
        const lab = digSummary(await dig(LAB, 53, ["+dnssec", transport, c.name, c.type]), c.type);
        expect(lab, `${c.name} ${c.type} ${transport}`).toEqual(ub);
      }
      rows.push(`${c.name} ${c.type}: ${ub.status}${ub.ad ? "+AD" : ""}`);
    }
    console.log(rows.join("\n"));
  }, 120_000);
});
