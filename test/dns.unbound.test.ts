// A real validating resolver (Debian's unbound) in front of the lab's DNS server in authoritative mode: unbound walks
// the lab's tree from its fake root with the lab's trust anchor and reaches its own verdicts — AD for secure data,
// SERVFAIL for a bad signature, an expired signature or a wrong DS, no AD for an unsigned child, validated NXDOMAIN and
// NODATA — and delv through unbound says "fully validated". Then the lab's own resolver mode (RD=1) must agree with
// unbound on every name of the fixture.
// Addresses: lab DNS 127.0.11.20:53 (port 53: unbound follows referrals to the glue address on port 53), unbound
// 127.0.11.21:53.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningDnsServer, startDnsServer } from "../lab/dns/server.js";
import { type RunningUnbound, startUnbound } from "../lab/resolver/unbound.js";
import { buildTree, type SignedTree } from "../zones/index.js";
import { CASES, fixtureZones, SUFFIX } from "./dns.fixture.js";
import { type DigResult, delvAnchors, dig } from "./dns.helpers.js";
import { run } from "./run.js";

const LAB = "127.0.11.20";
const UNBOUND = "127.0.11.21";
let server: RunningDnsServer;
let tree: SignedTree;
let dir: string;
let unbound: RunningUnbound;
let unboundLog: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "danelab-dns-unbound-"));
  tree = await buildTree(fixtureZones(LAB), { dir: join(dir, "keys") });
  server = await startDnsServer({ address: LAB, port: 53, tree });
  writeFileSync(join(dir, "anchors.conf"), delvAnchors(tree.trustAnchors.ds));
  // The very configuration `danelab up --resolver unbound` runs, so what this file proves is what users get.
  unbound = await startUnbound({
    dir: join(dir, "unbound"),
    address: UNBOUND,
    port: 53,
    labDns: { address: LAB, port: 53 },
    trustAnchors: tree.trustAnchors,
    probeName: SUFFIX,
  });
  unboundLog = join(dir, "unbound", "unbound.log");
}, 60_000);

afterAll(async () => {
  await unbound?.close();
  await server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** unbound's own explanation (val-log-level 2), for assertion messages. */
const why = () => {
  try {
    return readFileSync(unboundLog, "utf8").split("\n").slice(-15).join("\n");
  } catch {
    return "(no unbound log)";
  }
};
const viaUnbound = (name: string, type: string) => dig(UNBOUND, 53, ["+dnssec", "+time=4", name, type]);
const delv = (name: string, type: string) =>
  run("delv", [`@${UNBOUND}`, "-a", join(dir, "anchors.conf"), "+root=.", name, type], { timeoutMs: 20_000 });

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
    const summary = (r: DigResult, type: string) => ({
      status: r.status,
      ad: r.flags.includes("ad"),
      records: r.answerRecords.filter((l) => l.split(" ")[2] === type),
    });
    const rows: string[] = [];
    for (const c of CASES) {
      // A timeout is silence from the lab; unbound turns the silence into SERVFAIL after its own retries.
      if (c.verdict === "timeout") continue;
      const lab = summary(await dig(LAB, 53, ["+dnssec", c.name, c.type]), c.type);
      const ub = summary(await viaUnbound(c.name, c.type), c.type);
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
