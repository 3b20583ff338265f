// The scenario page's data (lab/ui-data.ts) for real scenarios of the catalogue, built with the real PKI and signed
// zones: which certificate a TLSA record really authenticates, which ones only look right, which SAN is the MX host,
// the DNSSEC status of each RRset, and inspect commands that carry the lab's values.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LabView, type ScenarioDetail, scenarioDetail } from "../lab/ui-data.js";
import { type BuiltLab, buildLab } from "../lab/up.js";

const IDS = [
  "seed-mx06",
  "ta-forged-chain",
  "ta-cn-match-san-miss",
  "ta-partial-wildcard",
  "ee-expired-wrong-name",
  "all-unusable",
  "ku-no-digsig",
  "tlsa-bogus",
  "ta-root-not-sent",
  "tlsa-insecure",
];
let built: BuiltLab;
let view: LabView;
let stateDir: string;

beforeAll(async () => {
  stateDir = mkdtempSync(join(tmpdir(), "danelab-uidata-"));
  built = await buildLab({
    stateDir,
    only: IDS,
    dnsAddress: "127.0.16.1",
    dnsPort: 10053,
    smtpFirstAddress: "127.0.16.10",
  });
  view = built;
}, 180_000);
afterAll(() => rmSync(stateDir, { recursive: true, force: true }));

const detail = (id: string): ScenarioDetail => {
  const d = scenarioDetail(view, id);
  if (!d) throw new Error(`no detail for ${id}`);
  return JSON.parse(JSON.stringify(d)); // what the API sends
};

describe("scenario page data", () => {
  it("seed-mx06: R3 carries the one authenticating match among nine records; the MX host is the ninth SAN", () => {
    const d = detail("seed-mx06");
    const host = d.hosts[0]!;
    expect(host.name).toBe("mx06.seed-mx06.lab.example.");
    expect(host.tlsa).toHaveLength(9);
    expect(host.tlsa.map((t) => t.matches.length)).toEqual([0, 0, 0, 0, 0, 0, 0, 1, 0]);
    const [leaf, r3] = host.chains[0]!.certificates;
    expect(r3!.subject).toContain("CN=R3");
    expect(r3!.authenticates).toBe(true);
    expect(r3!.tlsaMatches).toEqual([7]);
    expect(leaf!.authenticates).toBe(false);
    expect(leaf!.san).toHaveLength(9);
    expect(leaf!.nameMatches).toEqual(["mx06.seed-mx06.lab.example"]);
    expect(leaf!.nameMatchKind).toBe("host");
    expect(leaf!.notes.some((n) => n.level === "ok" && n.text.startsWith("SAN 9 of 9"))).toBe(true);
    expect(host.behaviour).toContain("the first 2 connections get a 421 greeting");
    const openssl = host.commands.find((c) => c.command.includes("openssl s_client"))!.command;
    expect(openssl.match(/-dane_tlsa_rrdata "2 1 1 [0-9a-f]{64}"/g)).toHaveLength(9);
    expect(openssl).toContain(`-connect ${host.address}:${host.port}`);
    expect(host.commands.find((c) => c.command.startsWith("dig"))!.command).toContain("@127.0.16.1 -p 10053");
  });

  it("ta-forged-chain: the genuine intermediate matches but did not issue the leaf; the attacker CA only looks like it", () => {
    const chain = detail("ta-forged-chain").hosts[0]!.chains[0]!.certificates;
    const [leaf, attacker, genuine] = chain;
    expect(genuine!.tlsaMatches).toEqual([0]);
    expect(genuine!.authenticates).toBe(false);
    expect(genuine!.looksRightOnly).toBe(true);
    expect(genuine!.notes.map((n) => n.text).join()).toContain("did not issue the server certificate");
    expect(attacker!.looksRightOnly).toBe(true);
    expect(attacker!.notes.map((n) => n.text).join()).toContain("same subject");
    expect(chain.some((c) => c.authenticates)).toBe(false);
    expect(leaf!.nameMatches).toHaveLength(1);
  });

  it("ta-cn-match-san-miss and ta-partial-wildcard: names that only look right", () => {
    const cn = detail("ta-cn-match-san-miss").hosts[0]!.chains[0]!.certificates[0]!;
    expect(cn.nameMatches).toEqual([]);
    expect(cn.looksRightOnly).toBe(true);
    expect(cn.notes.map((n) => n.text).join()).toContain("the CN is ignored");
    const wild = detail("ta-partial-wildcard").hosts[0]!.chains[0]!.certificates[0]!;
    expect(wild.nameMatches).toEqual([]);
    expect(wild.looksRightOnly).toBe(true);
    expect(wild.notes.map((n) => n.text).join()).toContain("partial wildcard");
  });

  it("ee-expired-wrong-name: DANE-EE authenticates the leaf; names and dates are only information", () => {
    const leaf = detail("ee-expired-wrong-name").hosts[0]!.chains[0]!.certificates[0]!;
    expect(leaf.authenticates).toBe(true);
    expect(leaf.notes.filter((n) => n.level === "bad")).toEqual([]);
    expect(leaf.notes.map((n) => n.text).join()).toContain("expired");
  });

  it("all-unusable and ku-no-digsig: unusable records and a keyUsage without digitalSignature are called out", () => {
    const tlsa = detail("all-unusable").hosts[0]!.tlsa;
    expect(tlsa.every((t) => !t.usable)).toBe(true);
    expect(tlsa.map((t) => t.note).join()).toContain("RFC 7672 §3.1.3");
    const leaf = detail("ku-no-digsig").hosts[0]!.chains[0]!.certificates[0]!;
    expect(leaf.notes.map((n) => n.text).join()).toContain("lacks digitalSignature");
  });

  it("ta-root-not-sent: a TLSA record for a certificate that is not presented matches nothing", () => {
    const host = detail("ta-root-not-sent").hosts[0]!;
    expect(host.tlsa[0]!.matches).toEqual([]);
    expect(host.chains[0]!.certificates.some((c) => c.authenticates)).toBe(false);
  });

  it("lists the DNS records a client looks up, with the zone's DS, and marks the faulted RRset", () => {
    const base = detail("seed-mx06").dns.records;
    expect(base.map((r) => r.type)).toEqual(expect.arrayContaining(["DS", "MX", "A", "TLSA"]));
    expect(base.filter((r) => r.type === "TLSA")).toHaveLength(9);
    expect(new Set(base.map((r) => r.status))).toEqual(new Set(["secure"]));
    const bogus = detail("tlsa-bogus").dns;
    expect(bogus.faults).toEqual([
      { kind: "bad-signature", name: "_25._tcp.mx.tlsa-bogus.lab.example.", type: "TLSA" },
    ]);
    const tlsa = bogus.records.find((r) => r.type === "TLSA")!;
    expect(tlsa.status).toBe("bogus");
    expect(bogus.records.find((r) => r.type === "MX")!.status).toBe("secure");
    const insecure = detail("tlsa-insecure").dns;
    expect(insecure.signed).toBe(false);
    expect(insecure.records.find((r) => r.type === "MX")!.status).toBe("insecure");
  });

  it("answers undefined for a scenario the lab does not serve", () => {
    expect(scenarioDetail(view, "no-such-scenario")).toBeUndefined();
  });
});

describe("the whole catalogue", () => {
  let all: BuiltLab;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "danelab-uidata-all-"));
    all = await buildLab({ stateDir: dir, dnsAddress: "127.0.16.1", dnsPort: 10053, smtpFirstAddress: "127.0.16.10" });
  }, 300_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("every scenario that must deliver over DANE shows a certificate that authenticates and a name that matches", () => {
    const problems: string[] = [];
    let checked = 0;
    for (const sp of all.plan.scenarios) {
      const d = scenarioDetail(all, sp.scenario.id)!;
      expect(d.hosts.length).toBeGreaterThan(0);
      if (d.expect !== "deliver" && d.expect !== "deliver-after-retry") continue;
      if (d.dns.records.some((r) => r.type === "TLSA" && r.status !== "secure")) continue;
      for (const host of d.hosts) {
        if (!host.tlsa.some((t) => t.usable)) continue;
        checked++;
        const ok = host.chains.some((c) => {
          const leaf = c.certificates[0]!;
          const authenticated = c.certificates.some((x) => x.authenticates);
          const eeAuth =
            leaf.authenticates && host.tlsa.some((t) => t.usage === 3 && t.matches.some((m) => m.depth === 0));
          return authenticated && (eeAuth || leaf.nameMatches.length > 0);
        });
        if (!ok) problems.push(`${d.id} ${host.name}`);
      }
    }
    expect(problems).toEqual([]);
    expect(checked).toBeGreaterThan(15);
  });

  it("ta-nexthop-name matches only the next-hop domain; ta-wildcard-deep's *.<domain> matches neither name", () => {
    const nexthop = scenarioDetail(all, "ta-nexthop-name")!.hosts[0]!.chains[0]!.certificates[0]!;
    expect(nexthop.nameMatchKind).toBe("next-hop");
    expect(nexthop.notes.some((n) => n.level === "warn" && n.text.includes("only the next-hop domain"))).toBe(true);
    // mx.deep.<domain> under *.<domain>: two labels below the wildcard, and the next-hop domain none.
    const deep = scenarioDetail(all, "ta-wildcard-deep")!.hosts[0]!.chains[0]!.certificates[0]!;
    expect(deep.nameMatchKind).toBeNull();
    expect(deep.notes.map((n) => n.text).join()).toContain("a wildcard stands for one label only");
  });

  it("a DANE-TA match above an invalid path does not authenticate: expired or non-CA intermediate, pathLen exceeded", () => {
    const expectations: [string, RegExp][] = [
      ["ta-intermediate-expired", /ca-old expired on/],
      ["ta-issuer-not-ca", /not-ca is not a CA/],
      ["ta-pathlen-violated", /ca-len0 allows 0 CA certificate\(s\) below it \(pathLenConstraint\) and has 1/],
    ];
    for (const [id, why] of expectations) {
      const chain = scenarioDetail(all, id)!.hosts[0]!.chains[0]!;
      expect(
        chain.certificates.some((c) => c.authenticates),
        id,
      ).toBe(false);
      const root = chain.certificates.at(-1)!;
      expect(root.notes.find((n) => n.level === "bad")?.text, id).toMatch(why);
    }
    // The same root above a valid path still authenticates.
    expect(scenarioDetail(all, "ta-baseline")!.hosts[0]!.chains[0]!.certificates.some((c) => c.authenticates)).toBe(
      true,
    );
  });

  it("no scenario that must not deliver shows an authenticated chain with a matching name, unless DNS or SMTP breaks it", () => {
    const suspicious: string[] = [];
    for (const sp of all.plan.scenarios) {
      const d = scenarioDetail(all, sp.scenario.id)!;
      if (d.expect !== "no-delivery") continue;
      // Scenarios that fail for DNS, STARTTLS or TLS-handshake reasons have a perfectly good chain on purpose.
      // So do those whose domain says "no mail here" (a Null MX).
      if (d.dns.nullMx || d.dns.faults.length || d.dns.records.some((r) => r.status !== "secure")) continue;
      for (const host of d.hosts) {
        if (host.smtp.starttls !== "offered") continue;
        const good = host.chains.filter((c) => {
          const leaf = c.certificates[0]!;
          const warned = c.certificates.some((x) => x.notes.some((n) => n.level === "warn" || n.level === "bad"));
          return c.certificates.some((x) => x.authenticates) && leaf.nameMatches.length > 0 && !warned;
        });
        // A server with several certificates fails a client that is handed one that does not authenticate; only a
        // host whose every chain authenticates is suspicious.
        if (good.length > 0 && good.length === host.chains.length)
          suspicious.push(...good.map((c) => `${d.id} ${host.name} ${c.label}`));
      }
    }
    expect(suspicious).toEqual([]);
  });
});
