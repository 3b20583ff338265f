// Catalogue v2, second set, as the lab really serves it: Null MX (RFC 7505), a zone signed with an algorithm no
// validator implements (RSAMD5: insecure by RFC 4035 §5.2), and an RSA + ECDSA server whose TLSA RRset matches only
// the RSA key (RFC 7671 §8). `startLab` with those scenarios and `--resolver unbound`; unbound and the lab's resolver
// mode must agree on every question a DANE client asks, the grader must pass a Null MX domain that was looked up and
// never connected to (and fail a delivery to its address), and OpenSSL's DANE verifier must reject the ECDSA
// handshake a default client gets while accepting the RSA one.
// Addresses: lab DNS 127.0.92.11:53, unbound 127.0.92.12:53, SMTP from 127.0.92.20, HTTP 127.0.92.13.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { gradeRun } from "../lab/grade/index.js";
import type { Lab } from "../lab/index.js";
import { withoutTrailingDot } from "../zones/names.js";
import { dig, expectResolversAgree, type ScenarioQuestion, startCatalogueLab } from "./dns.helpers.js";
import { run } from "./run.js";
import { deliverMessage, testMessage } from "./smtp.fixtures.js";

const DNS = "127.0.92.11";
const UNBOUND = "127.0.92.12";
const S = "lab.example";
const ONLY = ["null-mx", "dnssec-algorithm-unsupported", "dual-one-tlsa", "dual-rsa-ecdsa", "insecure-mx-secure-tlsa"];
let lab: Lab;
// Scratch files for ldns (the exported RSAMD5 zone and its key): never the working directory.
const dir = mkdtempSync(join(tmpdir(), "danelab-catalogue-more-files-"));
let close: () => Promise<void> = async () => {};

beforeAll(async () => {
  ({ lab, close } = await startCatalogueLab("127.0.92", "danelab-catalogue-more-", ONLY));
}, 120_000);

afterAll(async () => {
  await close();
  rmSync(dir, { recursive: true, force: true });
});

const fqdn = (scenario: string, rel: string) => (rel === "@" ? `${scenario}.${S}` : `${rel}.${scenario}.${S}`);
const scenario = (id: string) => lab.manifest.scenarios.find((s) => s.id === id)!;

const QUESTIONS: ScenarioQuestion[] = [
  // RFC 7672 §2.2.1: the recipient domain's MX RRset is insecure (unsigned subzone), the MX host and its TLSA secure.
  ["insecure-mx-secure-tlsa", "mail", "MX", "NOERROR", false, 1],
  ["insecure-mx-secure-tlsa", "mx", "A", "NOERROR", true, 1],
  ["insecure-mx-secure-tlsa", "_25._tcp.mx", "TLSA", "NOERROR", true, 1],
  ["insecure-mx-secure-tlsa", "_25._tcp.mx.mail", "TLSA", "NXDOMAIN", false, 0],
  ["null-mx", "@", "MX", "NOERROR", true, 1],
  ["null-mx", "@", "A", "NOERROR", true, 1],
  // RFC 4035 §5.2: the DS is signed and secure; below it nothing validates, and nothing is bogus either.
  ["dnssec-algorithm-unsupported", "@", "DS", "NOERROR", true, 1],
  ["dnssec-algorithm-unsupported", "@", "MX", "NOERROR", false, 1],
  ["dnssec-algorithm-unsupported", "mx", "A", "NOERROR", false, 1],
  ["dnssec-algorithm-unsupported", "_25._tcp.mx", "TLSA", "NOERROR", false, 1],
  ["dnssec-algorithm-unsupported", "_25._tcp.nothing", "TLSA", "NXDOMAIN", false, 0],
  ["dual-one-tlsa", "_25._tcp.mx", "TLSA", "NOERROR", true, 1],
  ["dual-rsa-ecdsa", "_25._tcp.mx", "TLSA", "NOERROR", true, 2],
];

describe("Null MX, an unsupported DNSSEC algorithm, and dual certificates with one TLSA record", () => {
  it("unbound and the lab's resolver mode agree on every question, with the verdict the scenario teaches", async () => {
    await expectResolversAgree({ unbound: UNBOUND, lab: DNS, suffix: S }, QUESTIONS, expect);
  }, 120_000);

  it("serves the Null MX as '0 .' and the RSAMD5 zone with algorithm 1 keys, DS and signatures", async () => {
    const mx = await dig(DNS, 53, ["+dnssec", "+norec", fqdn("null-mx", "@"), "MX"]);
    expect(mx.answerRecords.filter((r) => r.includes(" IN MX "))).toEqual([`${fqdn("null-mx", "@")}. IN MX 0 .`]);
    const ds = await dig(DNS, 53, ["+dnssec", "+norec", fqdn("dnssec-algorithm-unsupported", "@"), "DS"]);
    expect(ds.answerRecords.find((r) => r.includes(" IN DS "))).toMatch(/ DS \d+ 1 2 /);
    const key = await dig(DNS, 53, ["+dnssec", "+norec", fqdn("dnssec-algorithm-unsupported", "@"), "DNSKEY"]);
    expect(key.answerRecords.filter((r) => r.includes(" IN DNSKEY ")).map((r) => r.split(" ")[5])).toEqual(["1", "1"]);
    expect(key.text).toMatch(/RRSIG\s+DNSKEY 1 /);
    // ldns still implements RSAMD5: it verifies every signature of the zone, and derives the DS the parent serves
    // from the KSK (so the RFC 4034 App. B.1 key tag and the digest are right).
    const origin = fqdn("dnssec-algorithm-unsupported", "@");
    const zone = lab.tree.zones.find((z) => z.origin === origin)!;
    const zoneFile = join(dir, "rsamd5.zone");
    writeFileSync(zoneFile, zone.toZoneFile());
    expect((await run("ldns-verify-zone", [zoneFile])).output).toContain("Zone is verified and complete");
    const ksk = zone
      .toZoneFile()
      .split("\n")
      .find((l) => /\tDNSKEY\t257 3 1 /.test(l))!;
    const kskFile = join(dir, "rsamd5.ksk");
    writeFileSync(kskFile, `${ksk}\n`);
    const dsText = (f: string[]) => {
      const i = f.indexOf("DS");
      return [...f.slice(i + 1, i + 4), f.slice(i + 4).join("")].join(" ").toLowerCase();
    };
    const derived = (await run("ldns-key2ds", ["-n", "-2", kskFile])).stdout.trim().split(/\s+/);
    const served = ds.answerRecords.find((r) => r.includes(" IN DS "))!.split(" ");
    expect(dsText(derived)).toBe(dsText(served));
  }, 60_000);

  it("grades a Null MX domain looked up and never connected to as passed, and a delivery to its address as failed", async () => {
    const sc = scenario("null-mx");
    await dig(UNBOUND, 53, ["+dnssec", fqdn("null-mx", "@"), "MX"]);
    const before = lab.report().find((g) => g.scenario === "null-mx")!;
    expect(before.evidence.sessions).toBe(0);
    expect(before.evidence.dnsQueries).toBeGreaterThan(0);
    expect(before.verdict, before.reason).toBe("pass");
    expect(before.reason).toMatch(/did not connect/);
    // A client that ignores the Null MX and uses the domain's address (the implicit MX) delivers: that fails.
    const address = sc.mx[0]!.addresses[0]!;
    const sent = await deliverMessage(address, testMessage("null-mx"), {
      port: sc.mx[0]!.port,
      to: `probe@${fqdn("null-mx", "@")}`,
      servername: fqdn("null-mx", "@"),
    });
    expect(sent.code).toBe(250);
    const after = gradeRun(lab.events.all(), lab.manifest.scenarios).find((g) => g.scenario === "null-mx")!;
    expect(after.verdict, after.reason).toBe("fail");
  }, 60_000);

  it("the server gives a default client the ECDSA leaf, which the single RSA 3 1 1 does not match", async () => {
    const check = async (id: string, extra: string[], strict = true) => {
      const mx = scenario(id).mx[0]!;
      const host = withoutTrailingDot(mx.host);
      const { stdout } = await run("dig", [`@${DNS}`, "+norec", "+short", `_25._tcp.${host}`, "TLSA"]);
      const records = stdout
        .trim()
        .split("\n")
        .map((l) => {
          const [usage, selector, matching, ...data] = l.trim().split(/\s+/);
          return `${usage} ${selector} ${matching} ${data.join("")}`;
        });
      const openssl = run(
        "openssl",
        [
          ...["s_client", "-connect", `${mx.addresses[0]}:${mx.port}`, "-starttls", "smtp", "-servername", host],
          ...["-dane_tlsa_domain", host, ...(strict ? ["-verify_return_error"] : []), "-brief", ...extra],
          ...records.flatMap((r) => ["-dane_tlsa_rrdata", r]),
        ],
        { input: "QUIT\r\n", timeoutMs: 20_000 },
      );
      return (await openssl).output;
    };
    const ecdsa = await check("dual-one-tlsa", []);
    expect(ecdsa).toMatch(/no matching DANE TLSA records/);
    expect(ecdsa).not.toMatch(/Verification: OK/);
    // The same handshake without stopping at the error: the leaf is the ECDSA one.
    expect(await check("dual-one-tlsa", [], false)).toMatch(/^Signature type: ECDSA$/m);
    const rsa = await check("dual-one-tlsa", ["-sigalgs", "RSA-PSS+SHA256:RSA+SHA256", "-tls1_2"]);
    expect(rsa).toMatch(/Verification: OK/);
    expect(rsa).toMatch(/DANE TLSA 3 1 1 .*matched/);
    // With a record for each key (dual-rsa-ecdsa), the default handshake matches.
    const both = await check("dual-rsa-ecdsa", []);
    expect(both).toMatch(/Verification: OK/);
  }, 60_000);
});
