// A real validating resolver (Debian's unbound) in front of the lab's DNS server in authoritative mode: unbound walks
// the lab's tree from its fake root with the lab's trust anchor and reaches its own verdicts — AD for secure data,
// SERVFAIL for a bad signature, an expired signature or a wrong DS, no AD for an unsigned child, validated NXDOMAIN and
// NODATA — and delv through unbound says "fully validated". Then the lab's own resolver mode (RD=1) must agree with
// unbound on every name of the fixture.
// Addresses: lab DNS 127.0.11.20:53 (port 53: unbound follows referrals to the glue address on port 53), unbound
// 127.0.11.21:53.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CASES, fixtureZones, SUFFIX } from "./dns.fixture.js";
import { dig, digSummary, type LabWithUnbound, labWithUnbound } from "./dns.helpers.js";

const LAB = "127.0.11.20";
const UNBOUND = "127.0.11.21";
let lab: LabWithUnbound;

beforeAll(async () => {
  lab = await labWithUnbound({
    prefix: "danelab-dns-unbound-",
    lab: LAB,
    resolver: UNBOUND,
    specs: fixtureZones(LAB),
    probeName: SUFFIX,
  });
}, 60_000);

afterAll(() => lab?.close());

const viaUnbound = (name: string, type: string) => lab.viaUnbound(name, type);
const delv = (name: string, type: string) => lab.delv(name, type);
const why = () => lab.why();

describe("unbound validating the lab (authoritative mode)", () => {
  it("secure MX, A and TLSA: AD from dig, 'fully validated' from delv", async () => {
    for (const [name, type] of [
      [`secure.${SUFFIX}`, "MX"],
      [`mx.secure.${SUFFIX}`, "A"],
      [`_25._tcp.mx.secure.${SUFFIX}`, "TLSA"],
    ] as const) {
      const r = await viaUnbound(name, type);
      expect(r.status, `${name} ${type}\n${why()}`).toBe("NOERROR");
      expect(r.flags, `${name} ${type}\n${why()}`).toContain("ad");
      expect(r.answer).toContain(type);
      const d = await delv(name, type);
      expect(d.output, `${name} ${type}`).toContain("; fully validated");
    }
  });

  it("bad signature, expired signature, wrong DS: SERVFAIL", async () => {
    for (const zone of ["bogus", "expired", "wrongds"]) {
      const r = await viaUnbound(`_25._tcp.mx.${zone}.${SUFFIX}`, "TLSA");
      expect(r.status, `${zone}\n${why()}`).toBe("SERVFAIL");
    }
  });

  it("unsigned child: the data without AD; delv calls it unsigned", async () => {
    const r = await viaUnbound(`_25._tcp.mx.insecure.${SUFFIX}`, "TLSA");
    expect(r.status, why()).toBe("NOERROR");
    expect(r.flags).not.toContain("ad");
    expect(r.answer).toContain("TLSA");
    expect((await delv(`_25._tcp.mx.insecure.${SUFFIX}`, "TLSA")).output).toContain("; unsigned answer");
  });

  it("validated NXDOMAIN and NODATA (AD on the denial)", async () => {
    const nx = await viaUnbound(`nope.secure.${SUFFIX}`, "A");
    expect(nx.status, why()).toBe("NXDOMAIN");
    expect(nx.flags, why()).toContain("ad");
    const nodata = await viaUnbound(`mx.secure.${SUFFIX}`, "TXT");
    expect(nodata.status, why()).toBe("NOERROR");
    expect(nodata.answer).toEqual([]);
    expect(nodata.flags, why()).toContain("ad");
  });
});

describe("the lab's resolver mode agrees with unbound", () => {
  it("every fixture name: same rcode, same AD, same records (the timeout fault excepted)", async () => {
    const rows: string[] = [];
    for (const c of CASES) {
      // A timeout is silence from the lab; unbound turns the silence into SERVFAIL after its own retries.
      if (c.verdict === "timeout") continue;
      const lab = digSummary(await dig(LAB, 53, ["+dnssec", c.name, c.type]), c.type);
      const ub = digSummary(await viaUnbound(c.name, c.type), c.type);
      rows.push(
        `${c.name} ${c.type}: lab ${lab.status}${lab.ad ? "+AD" : ""}, unbound ${ub.status}${ub.ad ? "+AD" : ""}`,
      );
      expect(lab, `${c.name} ${c.type} (expected ${c.verdict})\n${why()}`).toEqual(ub);
      const expected = {
        secure: ["NOERROR", true],
        insecure: ["NOERROR", false],
        bogus: ["SERVFAIL", false],
        servfail: ["SERVFAIL", false],
        nxdomain: ["NXDOMAIN", true],
        nodata: ["NOERROR", true],
      }[c.verdict];
      expect([lab.status, lab.ad], `${c.name} ${c.type}`).toEqual(expected);
    }
    console.log(rows.join("\n"));
  }, 120_000);
});
