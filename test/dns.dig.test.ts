// The lab's DNS server serving a real signed tree (zones/ buildTree), checked with dig and delv — independent
// implementations — in both trust modes: authoritative (+norec: AA, RRSIGs, NSEC proofs, referrals) and resolver
// (RD=1: AD on secure data, SERVFAIL on bogus, no AD when insecure, REFUSED outside the lab).
// Address: 127.0.11.10, port picked by the kernel.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DnsQueryEvent } from "../lab/dns/server.js";
import { type RunningDnsServer, startDnsServer } from "../lab/dns/server.js";
import { bindTrustAnchors, buildTree, type SignedTree } from "../zones/index.js";
import { fixtureZones, SUFFIX } from "./dns.fixture.js";
import { dig } from "./dns.helpers.js";
import { run } from "./run.js";

const ADDRESS = "127.0.11.10";
let server: RunningDnsServer;
let tree: SignedTree;
let dir: string;
const events: DnsQueryEvent[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "danelab-dns-dig-"));
  tree = await buildTree(fixtureZones(ADDRESS), { dir });
  server = await startDnsServer({ address: ADDRESS, port: 0, tree, onQuery: (e) => events.push(e) });
});
afterAll(async () => {
  await server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const auth = (...args: string[]) => dig(ADDRESS, server.port, ["+norec", "+dnssec", ...args]);
const resolver = (...args: string[]) => dig(ADDRESS, server.port, ["+dnssec", ...args]);

describe("authoritative mode (RD=0), dig +norec +dnssec", () => {
  it("a secure TLSA RRset: AA, the records and their RRSIG, no AD, no RA", async () => {
    const r = await auth(`_25._tcp.mx.secure.${SUFFIX}`, "TLSA");
    expect(r.status).toBe("NOERROR");
    expect(r.flags).toContain("aa");
    expect(r.flags).not.toContain("ad");
    expect(r.flags).not.toContain("ra");
    expect(r.answer.filter((t) => t === "TLSA")).toHaveLength(2);
    expect(r.answer).toContain("RRSIG");
  });

  it("NXDOMAIN with NSEC proofs and their signatures in the authority section", async () => {
    const r = await auth(`nope.secure.${SUFFIX}`, "A");
    expect(r.status).toBe("NXDOMAIN");
    expect(r.flags).toContain("aa");
    expect(r.authority).toContain("SOA");
    expect(r.authority).toContain("NSEC");
    expect(r.authority).toContain("RRSIG");
  });

  it("DS at a delegation comes from the parent, signed (RFC 4035 §3.1.4.1); an unsigned child's DS is denied by NSEC", async () => {
    const ds = await auth(`secure.${SUFFIX}`, "DS");
    expect(ds.status).toBe("NOERROR");
    expect(ds.answer).toContain("DS");
    expect(ds.answer).toContain("RRSIG");
    const noDs = await auth(`insecure.${SUFFIX}`, "DS");
    expect(noDs.status).toBe("NOERROR");
    expect(noDs.answer).toEqual([]);
    expect(noDs.authority).toContain("NSEC");
  });

  it("the bad signature is served as published (a validator must find it, not the server)", async () => {
    const r = await auth(`_25._tcp.mx.bogus.${SUFFIX}`, "TLSA");
    expect(r.status).toBe("NOERROR");
    expect(r.answer).toContain("RRSIG");
  });

  it("without DO: no RRSIG", async () => {
    const r = await dig(ADDRESS, server.port, ["+norec", `_25._tcp.mx.secure.${SUFFIX}`, "TLSA"]);
    expect(r.answer).toEqual(["TLSA", "TLSA"]);
  });
});

describe("resolver mode (RD=1, what a glibc stub sends), dig +dnssec", () => {
  it("secure TLSA, MX and A: AD and RA, RRSIGs because DO was set", async () => {
    for (const [name, type] of [
      [`_25._tcp.mx.secure.${SUFFIX}`, "TLSA"],
      [`secure.${SUFFIX}`, "MX"],
      [`mx.secure.${SUFFIX}`, "A"],
    ] as const) {
      const r = await resolver(name, type);
      expect(r.status, `${name} ${type}`).toBe("NOERROR");
      expect(r.flags, `${name} ${type}`).toEqual(expect.arrayContaining(["ad", "ra", "rd"]));
      expect(r.flags).not.toContain("aa");
      expect(r.answer).toContain(type);
      expect(r.answer).toContain("RRSIG");
    }
  });

  it("a bad-signature, an expired-signature and a wrong-DS TLSA: SERVFAIL", async () => {
    for (const zone of ["bogus", "expired", "wrongds"]) {
      const r = await resolver(`_25._tcp.mx.${zone}.${SUFFIX}`, "TLSA");
      expect(r.status, zone).toBe("SERVFAIL");
      expect(r.answer).toEqual([]);
    }
  });

  it("an unsigned child (insecure delegation): the data without AD", async () => {
    const r = await resolver(`_25._tcp.mx.insecure.${SUFFIX}`, "TLSA");
    expect(r.status).toBe("NOERROR");
    expect(r.answer).toContain("TLSA");
    expect(r.flags).not.toContain("ad");
  });

  it("NXDOMAIN with AD and the NSEC proof", async () => {
    const r = await resolver(`nope.secure.${SUFFIX}`, "A");
    expect(r.status).toBe("NXDOMAIN");
    expect(r.flags).toContain("ad");
    expect(r.authority).toContain("NSEC");
  });

  it("names outside the lab: REFUSED", async () => {
    const r = await resolver("www.example.org", "A");
    expect(r.status).toBe("REFUSED");
    expect(r.flags).toContain("ra");
  });

  it("RFC 6840 §5.7: no AD when the query set neither DO nor AD; no RRSIG without DO", async () => {
    const r = await dig(ADDRESS, server.port, ["+noadflag", "+nodnssec", `_25._tcp.mx.secure.${SUFFIX}`, "TLSA"]);
    expect(r.status).toBe("NOERROR");
    expect(r.flags).not.toContain("ad");
    expect(r.answer).toEqual(["TLSA", "TLSA"]);
    const withAd = await dig(ADDRESS, server.port, ["+adflag", "+nodnssec", `_25._tcp.mx.secure.${SUFFIX}`, "TLSA"]);
    expect(withAd.flags).toContain("ad");
    expect(withAd.answer).toEqual(["TLSA", "TLSA"]);
  });

  it("server faults: SERVFAIL fault → SERVFAIL; timeout fault → no reply at all", async () => {
    expect((await resolver(`_25._tcp.sf.faulty.${SUFFIX}`, "TLSA")).status).toBe("SERVFAIL");
    const timeout = await resolver(`_25._tcp.to.faulty.${SUFFIX}`, "TLSA");
    expect(timeout.text).toMatch(/timed out|no servers could be reached/);
    const tcpTimeout = await resolver("+tcp", `_25._tcp.to.faulty.${SUFFIX}`, "TLSA");
    expect(tcpTimeout.text).toMatch(/timed out|no servers could be reached|end of file/);
  });

  it("onQuery reports each query with mode, DO, rcode, AD and fault", () => {
    const tlsa = events.find((e) => e.name === `_25._tcp.mx.secure.${SUFFIX}` && e.rd && e.do);
    expect(tlsa).toMatchObject({ transport: "udp", type: "TLSA", rcode: "NOERROR", ad: true, client: "127.0.0.1" });
    expect(Date.parse(tlsa?.time ?? "")).not.toBeNaN();
    expect(events.find((e) => e.name === `_25._tcp.to.faulty.${SUFFIX}`)).toMatchObject({
      rcode: null,
      fault: "timeout",
    });
  });
});

describe("transport", () => {
  it("dig +tcp gets the same validated answer", async () => {
    const r = await resolver("+tcp", `_25._tcp.mx.secure.${SUFFIX}`, "TLSA");
    expect(r.status).toBe("NOERROR");
    expect(r.flags).toContain("ad");
  });

  it("+bufsize=512 on a 14-record TLSA RRset: TC, dig retries over TCP and gets all 14", async () => {
    for (const mode of ["+norec", "+rec"]) {
      const r = await dig(ADDRESS, server.port, [mode, "+dnssec", "+bufsize=512", `_25._tcp.mx.big.${SUFFIX}`, "TLSA"]);
      expect(r.text).toContain("Truncated, retrying in TCP mode");
      expect(r.status).toBe("NOERROR");
      expect(r.answer.filter((t) => t === "TLSA")).toHaveLength(14);
    }
  });

  it("truncate-udp fault: TC over UDP every time, the data over TCP", async () => {
    const r = await resolver(`_25._tcp.tc.faulty.${SUFFIX}`, "TLSA");
    expect(r.text).toContain("Truncated, retrying in TCP mode");
    expect(r.answer).toContain("TLSA");
  });
});

describe("EDNS0 (RFC 6891)", () => {
  it("OPT in the answer when the query had one, DO echoed, our payload size 1232; none without EDNS", async () => {
    const r = await auth("+bufsize=4096", `mx.secure.${SUFFIX}`, "A");
    expect(r.text).toMatch(/EDNS: version: 0, flags: do; udp: 1232/);
    const plain = await dig(ADDRESS, server.port, ["+norec", "+noedns", `mx.secure.${SUFFIX}`, "A"]);
    expect(plain.status).toBe("NOERROR");
    expect(plain.text).not.toContain("OPT PSEUDOSECTION");
  });

  it("EDNS version 1: BADVERS (§6.1.3), answered with version 0", async () => {
    const r = await dig(ADDRESS, server.port, ["+norec", "+edns=1", "+noednsnegotiation", `mx.secure.${SUFFIX}`, "A"]);
    expect(r.status).toBe("BADVERS");
    expect(r.text).toMatch(/EDNS: version: 0/);
  });
});

describe("delv validates the lab's resolver-mode data itself", () => {
  it("fully validated secure TLSA; failure for the bad signature; unsigned for the insecure child", async () => {
    const anchors = join(dir, "anchors.conf");
    writeFileSync(anchors, bindTrustAnchors(tree.trustAnchors, "static-ds"));
    const delv = (name: string, type: string) =>
      run("delv", [`@${ADDRESS}`, "-p", String(server.port), "-a", anchors, "+root=.", name, type]);
    expect((await delv(`_25._tcp.mx.secure.${SUFFIX}`, "TLSA")).output).toContain("; fully validated");
    expect((await delv(`_25._tcp.mx.bogus.${SUFFIX}`, "TLSA")).output).toMatch(
      /resolution failed|validation failed|SERVFAIL/i,
    );
    expect((await delv(`_25._tcp.mx.insecure.${SUFFIX}`, "TLSA")).output).toContain("; unsigned answer");
  });
});
