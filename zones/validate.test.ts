// resolveValidated: the verdicts of a validating resolver computed by real verification — secure, insecure (proven
// absent DS), bogus for each signature fault and for a wrong DS, CNAME chases across zones, proven NXDOMAIN/NODATA.
import { beforeAll, describe, expect, it } from "vitest";
import { labSpecs } from "./test-fixtures.js";
import { buildTree } from "./tree.js";
import type { SignedTree } from "./types.js";
import { resolveValidated } from "./validate.js";

let tree: SignedTree;
beforeAll(async () => {
  tree = await buildTree(labSpecs(), {});
});

const resolve = (name: string, type: string) => resolveValidated(tree, { name, type });

describe("secure", () => {
  for (const algorithm of [8, 13, 15] as const) {
    it(`TLSA in a signed child, algorithm ${algorithm}`, async () => {
      const t = algorithm === 13 ? tree : await buildTree(labSpecs(algorithm), {});
      const r = resolveValidated(t, { name: "_25._tcp.mx.good.lab.example", type: "TLSA" });
      expect(r).toMatchObject({ rcode: "NOERROR", status: "secure" });
      expect(r.answers.filter((x) => x.type === "TLSA")).toHaveLength(3);
      expect(r.answers.filter((x) => x.type === "RRSIG")).toHaveLength(1);
      expect(r.why).toBeUndefined();
    });
  }

  it("MX and A of the root, suffix and child", () => {
    expect(resolve("good.lab.example", "MX").status).toBe("secure");
    expect(resolve("ns.lab-root", "A").status).toBe("secure");
    expect(resolve("lab.example", "DNSKEY").status).toBe("secure");
  });

  it("proven NXDOMAIN and NODATA are secure", () => {
    expect(resolve("nothere.good.lab.example", "TLSA")).toMatchObject({ rcode: "NXDOMAIN", status: "secure" });
    expect(resolve("nothere.lab.example", "A")).toMatchObject({ rcode: "NXDOMAIN", status: "secure" });
    expect(resolve("mx.good.lab.example", "TLSA")).toMatchObject({ rcode: "NOERROR", status: "secure", answers: [] });
    expect(resolve("_tcp.mx.good.lab.example", "TLSA")).toMatchObject({ rcode: "NOERROR", status: "secure" });
  });
});

describe("insecure", () => {
  it("below a DS the parent proves absent", () => {
    const r = resolve("_25._tcp.mx.plain.lab.example", "TLSA");
    expect(r).toMatchObject({ rcode: "NOERROR", status: "insecure" });
    expect(r.answers.filter((x) => x.type === "TLSA")).toHaveLength(1);
    expect(r.why).toMatch(/plain\.lab\.example is an insecure delegation/);
    expect(resolve("nothere.plain.lab.example", "A")).toMatchObject({ rcode: "NXDOMAIN", status: "insecure" });
  });
});

describe("bogus", () => {
  it("bad-signature on TLSA: the RRSIG does not verify", () => {
    const r = resolve("_25._tcp.mx.badsig.lab.example", "TLSA");
    expect(r.status).toBe("bogus");
    expect(r.why).toMatch(/^RRSIG over TLSA at _25\._tcp\.mx\.badsig\.lab\.example does not verify with key \d+$/);
    // Other data of the zone stays secure.
    expect(resolve("mx.badsig.lab.example", "A").status).toBe("secure");
  });

  it("expired-signature on TLSA", () => {
    const r = resolve("_25._tcp.mx.expired.lab.example", "TLSA");
    expect(r.status).toBe("bogus");
    expect(r.why).toMatch(/RRSIG over TLSA at _25\._tcp\.mx\.expired\.lab\.example expired at \d{14}/);
  });

  it("bad-signature on MX", () => {
    expect(resolve("mxbogus.lab.example", "MX")).toMatchObject({ status: "bogus" });
  });

  it("a wrong DS makes the whole child bogus", () => {
    const r = resolve("mx.wrongds.lab.example", "A");
    expect(r.status).toBe("bogus");
    expect(r.why).toMatch(/DS \d+ for wrongds\.lab\.example matches no DNSKEY/);
  });

  it("a DS whose signature in the parent does not verify", () => {
    const r = resolve("mx.dsbogus.lab.example", "A");
    expect(r.status).toBe("bogus");
    expect(r.why).toMatch(/RRSIG over DS at dsbogus\.lab\.example does not verify/);
  });

  it("a NODATA whose NSEC signature does not verify", () => {
    const r = resolve("mx.nsecbogus.lab.example", "TLSA");
    expect(r.status).toBe("bogus");
    expect(r.why).toMatch(/RRSIG over NSEC at mx\.nsecbogus\.lab\.example/);
  });

  it("servfail and timeout faults come out as SERVFAIL with the fault", () => {
    expect(resolve("_25._tcp.mx.faulty.lab.example", "TLSA")).toMatchObject({
      rcode: "SERVFAIL",
      fault: { kind: "servfail" },
    });
    expect(resolve("mx.faulty.lab.example", "AAAA")).toMatchObject({ rcode: "SERVFAIL", fault: { kind: "timeout" } });
    const t = resolve("faulty.lab.example", "MX");
    expect(t).toMatchObject({ rcode: "NOERROR", status: "secure", fault: { kind: "truncate-udp" } });
  });
});

describe("CNAME chase", () => {
  it("inside one zone", () => {
    const r = resolve("_25._tcp.mx2.good.lab.example", "TLSA");
    expect(r).toMatchObject({ rcode: "NOERROR", status: "secure" });
    expect(r.answers.map((x) => x.type)).toEqual(["CNAME", "RRSIG", "TLSA", "TLSA", "TLSA", "RRSIG"]);
  });

  it("across zones, secure end to end", () => {
    const r = resolve("_25._tcp.mx.cross.lab.example", "TLSA");
    expect(r).toMatchObject({ rcode: "NOERROR", status: "secure" });
    expect(r.answers.filter((x) => x.type === "TLSA").map((x) => x.name)).toEqual([
      "_25._tcp.mx.good.lab.example",
      "_25._tcp.mx.good.lab.example",
      "_25._tcp.mx.good.lab.example",
    ]);
    expect(r.answers[0]).toMatchObject({ name: "_25._tcp.mx.cross.lab.example", type: "CNAME" });
  });

  it("into an unsigned zone is insecure", () => {
    const r = resolve("plainmx.cross.lab.example", "A");
    expect(r).toMatchObject({ rcode: "NOERROR", status: "insecure" });
    expect(r.answers.at(-1)).toMatchObject({ name: "mx.plain.lab.example", type: "A" });
  });

  it("to a name without the type: NODATA, proven in the target zone", () => {
    const r = resolve("mx.cross.lab.example", "TLSA");
    expect(r).toMatchObject({ rcode: "NOERROR", status: "secure" });
    expect(r.answers.map((x) => x.type)).toEqual(["CNAME", "RRSIG"]);
  });
});
