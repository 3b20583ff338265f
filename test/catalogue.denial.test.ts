// The catalogue's NSEC3 and wildcard scenarios as the lab really serves them: `startLab` with those scenarios and
// `--resolver unbound`; every question a DANE client asks (MX, the MX host's A, its TLSA) is put to unbound and to the
// lab's own resolver mode (RD=1) over UDP and TCP, which must agree on rcode, AD and records, and both must reach the
// verdict the scenario's teaching text explains. delv (through unbound) fully validates the wildcard TLSA; the 2.7 KB
// TLSA RRset of tlsa-needs-tcp is truncated over UDP and whole over TCP.
// Addresses: lab DNS 127.0.87.11:53, unbound 127.0.87.12:53, SMTP from 127.0.87.20, HTTP 127.0.87.13.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Lab } from "../lab/index.js";
import { bindTrustAnchors } from "../zones/index.js";
import { dig, expectResolversAgree, type ScenarioQuestion, startCatalogueLab } from "./dns.helpers.js";
import { run } from "./run.js";

const DNS = "127.0.87.11";
const UNBOUND = "127.0.87.12";
const S = "lab.example";
const ONLY = [
  "tlsa-nxdomain-nsec3",
  "tlsa-nodata-nsec3",
  "nsec3-optout-insecure",
  "nsec3-iterations-high",
  "tlsa-wildcard",
  "tlsa-needs-tcp",
];
let lab: Lab;
let dir: string;
let close: () => Promise<void> = async () => {};

beforeAll(async () => {
  ({ lab, dir, close } = await startCatalogueLab("127.0.87", "danelab-catalogue-denial-", ONLY));
}, 120_000);

afterAll(() => close());

const QUESTIONS: ScenarioQuestion[] = [
  ["tlsa-nxdomain-nsec3", "@", "MX", "NOERROR", true, 1],
  ["tlsa-nxdomain-nsec3", "mx", "A", "NOERROR", true, 1],
  ["tlsa-nxdomain-nsec3", "_25._tcp.mx", "TLSA", "NXDOMAIN", true, 0],
  ["tlsa-nodata-nsec3", "_25._tcp.mx", "TLSA", "NOERROR", true, 0],
  ["tlsa-nodata-nsec3", "_25._tcp.mx", "TXT", "NOERROR", true, 1],
  ["nsec3-optout-insecure", "@", "MX", "NOERROR", true, 1],
  ["nsec3-optout-insecure", "mx.insecure", "A", "NOERROR", false, 1],
  ["nsec3-optout-insecure", "_25._tcp.mx.insecure", "TLSA", "NOERROR", false, 1],
  ["nsec3-optout-insecure", "insecure", "DS", "NOERROR", false, 0],
  ["nsec3-iterations-high", "mx", "A", "NOERROR", true, 1],
  ["nsec3-iterations-high", "_25._tcp.mx", "TLSA", "NXDOMAIN", false, 0],
  ["tlsa-wildcard", "_25._tcp.mx", "TLSA", "NOERROR", true, 1],
  ["tlsa-wildcard", "_465._tcp.mx", "TLSA", "NOERROR", true, 1],
  ["tlsa-wildcard", "_25._tcp.mx", "A", "NOERROR", true, 0],
  // 31 records, about 2.7 KB signed: unbound and the lab's resolver get them over TCP.
  ["tlsa-needs-tcp", "_25._tcp.mx", "TLSA", "NOERROR", true, 31],
];

const fqdn = (scenario: string, rel: string) => (rel === "@" ? `${scenario}.${S}` : `${rel}.${scenario}.${S}`);

describe("NSEC3 and wildcard scenarios, served by the lab", () => {
  it("unbound and the lab's resolver mode agree on every question, with the verdict the scenario teaches", async () => {
    await expectResolversAgree({ unbound: UNBOUND, lab: DNS, suffix: S }, QUESTIONS, expect);
  }, 120_000);

  it("the authoritative answers carry the NSEC3 proofs and the wildcard expansion", async () => {
    const nx = await dig(DNS, 53, ["+dnssec", "+norec", fqdn("tlsa-nxdomain-nsec3", "_25._tcp.mx"), "TLSA"]);
    // Closest encloser, next closer, wildcard: 3 NSEC3 records, or 2 when one covers both names (here it does).
    expect(nx.authority.filter((t) => t === "NSEC3").length).toBeGreaterThanOrEqual(2);
    const nodata = await dig(DNS, 53, ["+dnssec", "+norec", fqdn("tlsa-nodata-nsec3", "_25._tcp.mx"), "TLSA"]);
    expect(nodata.authority.filter((t) => t === "NSEC3")).toHaveLength(1);
    expect(nodata.text).toMatch(/NSEC3\s+1 0 0 - \S+ TXT RRSIG/);
    const high = await dig(DNS, 53, ["+dnssec", "+norec", fqdn("nsec3-iterations-high", "_25._tcp.mx"), "TLSA"]);
    expect(high.text).toMatch(/NSEC3\s+1 0 500 A1B2C3D4 /);
    const wild = await dig(DNS, 53, ["+dnssec", "+norec", fqdn("tlsa-wildcard", "_25._tcp.mx"), "TLSA"]);
    expect(wild.text).toMatch(/RRSIG\s+TLSA 13 5 /);
    expect(wild.authority).toEqual(["NSEC", "RRSIG"]);
    // Real truncation: over UDP with the usual 1232-octet EDNS size, TC=1 and no records; over TCP, the RRset.
    const big = fqdn("tlsa-needs-tcp", "_25._tcp.mx");
    const udp = await dig(DNS, 53, ["+dnssec", "+norec", "+notcp", "+ignore", "+bufsize=1232", big, "TLSA"]);
    expect(udp.flags).toContain("tc");
    expect(udp.answer).toEqual([]);
    const tcp = await dig(DNS, 53, ["+dnssec", "+norec", "+tcp", big, "TLSA"]);
    expect(tcp.answer.filter((t) => t === "TLSA")).toHaveLength(31);
    // delv, through unbound, anchored at the lab's root.
    const anchors = join(dir, "anchors.conf");
    writeFileSync(anchors, bindTrustAnchors(lab.manifest.dns.trustAnchors, "static-ds"));
    const d = await run("delv", [
      `@${UNBOUND}`,
      "-a",
      anchors,
      "+root=.",
      fqdn("tlsa-wildcard", "_25._tcp.mx"),
      "TLSA",
    ]);
    expect(d.output).toContain("; fully validated");
  }, 60_000);
});
