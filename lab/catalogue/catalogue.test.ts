// The built-in scenario catalogue (lab/scenarios/*.yaml) against its document (docs/catalogue.md), the schema and the
// planner; and what a user sees when a scenario file of their own is broken (`file:line: what is wrong`).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Answer } from "dns-packet";
import { afterAll, describe, expect, it } from "vitest";
import { rowsInDocument } from "./doc.js";
import { CatalogueError, type LoadedScenario, loadCatalogue, parseScenarioFile } from "./load.js";

/** The sections of the "deciding sentences" table: the first cell of each row that names an RFC section. */
function rowsOfSentences(markdown: string): string[] {
  return markdown
    .split("\n")
    .map((l) => /^\| (RFC \d{4} §[\d.]+) +\|/.exec(l)?.[1])
    .filter((x): x is string => x !== undefined);
}

const GROUPS = ["seed", "dane-ta-names", "tlsa-and-chains", "dnssec-status", "smtp-and-tls", "mta-sts"];
const CATALOGUE_DOC = new URL("../../docs/catalogue.md", import.meta.url);

const ADDRESSES = {
  suffix: "lab.example",
  dnsAddress: "127.0.53.1",
  dnsPort: 53,
  smtpFirstAddress: "127.0.25.1",
  smtpPort: 25,
};

describe("the built-in catalogue", () => {
  const catalogue: LoadedScenario[] = loadCatalogue();
  const byId = new Map(catalogue.map((s) => [s.id, s]));

  it("is what docs/catalogue.md lists: every id once, with the same verdict and deciding RFC section", () => {
    const ids = catalogue.map((s) => s.id);
    expect(new Set(ids).size).toBe(ids.length);
    const doc = readFileSync(CATALOGUE_DOC, "utf8");
    const documented = rowsInDocument(doc);
    const fix = "run `npm run docs` to rewrite the tables of docs/catalogue.md from the scenario files";
    expect(documented.map((r) => r.id).sort(), fix).toEqual([...ids].sort());
    for (const row of documented) {
      const s = byId.get(row.id)!;
      expect({ id: row.id, expect: row.expect, decidedBy: row.decidedBy }, fix).toEqual({
        id: s.id,
        expect: s.expect,
        decidedBy: s.rfc[0],
      });
    }
  });

  it("quotes the deciding sentence of every RFC 7672 section that decides a verdict", () => {
    const doc = readFileSync(CATALOGUE_DOC, "utf8");
    const quoted = new Set(rowsOfSentences(doc));
    for (const s of catalogue) {
      const decidedBy = s.rfc[0]!;
      if (decidedBy.startsWith("RFC 7672 ")) expect(quoted.has(decidedBy), `${s.id}: ${decidedBy}`).toBe(true);
    }
  });

  it("validates every file and gives each scenario a group, a title, teaching text and RFC references", () => {
    for (const s of catalogue) {
      const again = parseScenarioFile(s.file, readFileSync(s.file, "utf8"));
      expect("problems" in again ? again.problems : [], s.file).toEqual([]);
      expect(GROUPS, `${s.id}: group`).toContain(s.group);
      expect(s.title.length, `${s.id}: title`).toBeLessThan(120);
      const sentences = s.teach.split(/[.!?](\s|$)/).filter((x) => x.trim().length > 1).length;
      expect(sentences, `${s.id}: teach has ${sentences} sentences`).toBeGreaterThanOrEqual(2);
      expect(s.rfc.length, `${s.id}: rfc`).toBeGreaterThan(0);
      for (const r of s.rfc) expect(r, `${s.id}: rfc`).toMatch(/^RFC \d{4}( §[\d.]+)?$/);
    }
  });

  it("plans every scenario: all certificate, host and placeholder references resolve", async () => {
    const { planLab } = await import("./compile.js");
    const plan = planLab(catalogue, ADDRESSES);
    const certs = new Map(plan.pki.certificates.map((c) => [c.name, c]));
    expect(certs.size).toBe(plan.pki.certificates.length); // no two certificates share a name
    for (const c of plan.pki.certificates) {
      if (c.issuer) expect(certs.has(c.issuer), `${c.name}: issuer ${c.issuer}`).toBe(true);
      for (const text of [...Object.values(c.subject), ...(c.san ?? [])])
        expect(text, `${c.name}: unexpanded placeholder`).not.toMatch(/[{}]/);
    }
    const addresses = new Set<string>();
    for (const sp of plan.scenarios) {
      for (const h of sp.hosts) {
        addresses.add(h.address);
        for (const name of [...h.chain, ...h.extraChains.flat(), ...h.sni.flatMap((s) => s.chain)])
          expect(certs.has(name), `${sp.scenario.id}: ${name}`).toBe(true);
        for (const t of h.tlsa) if ("cert" in t) expect(certs.has(t.cert), `${sp.scenario.id}: ${t.cert}`).toBe(true);
        for (const s of h.sni) for (const n of s.names) expect(n).not.toMatch(/[{}]/);
      }
    }
    // One listener address per MX host, none shared.
    expect(addresses.size).toBe(plan.scenarios.reduce((n, sp) => n + sp.hosts.length, 0));
  });

  it("builds the seed as the bug report describes it", async () => {
    const { planLab } = await import("./compile.js");
    const plan = planLab(
      catalogue.filter((s) => s.id === "seed-mx06" || s.id === "seed-mx06-ku"),
      ADDRESSES,
    );
    for (const sp of plan.scenarios) {
      const id = sp.scenario.id;
      const [host] = sp.hosts;
      expect(sp.hosts).toHaveLength(1);
      expect(host!.name).toBe(`mx06.${id}.lab.example`);
      expect(host!.chain).toEqual([`${id}/leaf`, `${id}/r3`]);
      const leaf = plan.pki.certificates.find((c) => c.name === `${id}/leaf`)!;
      expect(leaf.key).toBe("rsa-4096");
      expect(leaf.subject.CN).toBe(`et.${id}.lab.example`);
      expect(leaf.san).toHaveLength(9);
      expect(leaf.san!.at(-1)).toBe(host!.name); // the MX host only as the last SAN
      expect(leaf.san!.slice(0, -1)).not.toContain(host!.name);
      expect(leaf.issuer).toBe(`${id}/r3`);
      // Nine 2 1 1 records over nine distinct intermediates of the same root; exactly one is r3.
      expect(host!.tlsa).toHaveLength(9);
      const named = host!.tlsa.map((t) => ("cert" in t ? `${t.usage} ${t.selector} ${t.matching} ${t.cert}` : t.data));
      expect(new Set(named).size).toBe(9);
      expect(named.filter((n) => n.startsWith("2 1 1 "))).toHaveLength(9);
      expect(named.filter((n) => n === `2 1 1 ${id}/r3`)).toHaveLength(1);
      for (const t of host!.tlsa) {
        const ca = plan.pki.certificates.find((c) => "cert" in t && c.name === t.cert)!;
        expect(ca.ca).toBe(true);
        expect(ca.issuer).toBe("lab/root");
      }
    }
    const scenario = (id: string) => plan.scenarios.find((sp) => sp.scenario.id === id)!;
    const [mx06, ku] = [scenario("seed-mx06"), scenario("seed-mx06-ku")];
    expect(mx06!.hosts[0]!.smtp.greylist).toEqual({ connections: 2 });
    expect(ku!.hosts[0]!.smtp.greylist).toBeUndefined();
    const kuLeaf = plan.pki.certificates.find((c) => c.name === "seed-mx06-ku/leaf")!;
    expect(kuLeaf.keyUsage).toEqual({ usages: ["keyEncipherment"], critical: true });
  });

  it("names the first MX host in the default leaf, and the second host's own leaf (mx-preference)", async () => {
    const { planLab } = await import("./compile.js");
    const plan = planLab([byId.get("mx-preference")!], ADDRESSES);
    const [mx1, mx2] = plan.scenarios[0]!.hosts;
    expect([mx1!.name, mx1!.preference, mx1!.tlsa]).toEqual(["mx1.mx-preference.lab.example", 10, []]);
    expect([mx2!.name, mx2!.preference, mx2!.tlsa.length]).toEqual(["mx2.mx-preference.lab.example", 20, 1]);
    const cert = (n: string) => plan.pki.certificates.find((c) => c.name === n)!;
    expect(cert(mx1!.chain[0]!).san).toEqual([mx1!.name]);
    expect(cert(mx2!.chain[0]!).san).toEqual([mx2!.name]);
  });

  it("expands a 100-name SAN list with the MX host last (ta-long-san-list)", async () => {
    const { planLab } = await import("./compile.js");
    const plan = planLab([byId.get("ta-long-san-list")!], ADDRESSES);
    const leaf = plan.pki.certificates.find((c) => c.name === "ta-long-san-list/leaf")!;
    expect(leaf.san).toHaveLength(100);
    expect(new Set(leaf.san).size).toBe(100);
    expect(leaf.san!.at(-1)).toBe("mx.ta-long-san-list.lab.example");
  });

  it("publishes the TLSA records each scenario needs once the PKI exists", async () => {
    const { planLab } = await import("./compile.js");
    const { tlsaRdata, zoneSpecs } = await import("./zone-specs.js");
    const { buildPki, tlsaAssociationData } = await import("../../certs/index.js");
    const ids = ["all-unusable", "ee-mismatch", "ta-forged-chain", "cname-mx-host", "tlsa-cname", "tlsa-nxdomain"];
    const plan = planLab(
      ids.map((id) => byId.get(id)!),
      ADDRESSES,
    );
    const dir = mkdtempSync(join(tmpdir(), "danelab-catalogue-pki-"));
    try {
      const pki = await buildPki(plan.pki, { dir: join(dir, "pki") });
      const host = (id: string) => plan.scenarios.find((sp) => sp.scenario.id === id)!.hosts[0]!;
      // all-unusable: 0 1 1, 1 1 1, and a 3 1 1 one byte short (RFC 7672 §3.1.3: unusable).
      const unusable = host("all-unusable").tlsa.map((t) => tlsaRdata(t, pki));
      expect(unusable.map((r) => `${r.usage} ${r.selector} ${r.matching} ${r.hex.length / 2}`)).toEqual([
        "0 1 1 32",
        "1 1 1 32",
        "3 1 1 31",
      ]);
      // ee-mismatch: right length, wrong digest.
      const leafDigest = tlsaAssociationData(pki.get("ee-mismatch/leaf").der, 1, 1);
      const [mismatch] = host("ee-mismatch").tlsa.map((t) => tlsaRdata(t, pki));
      expect(mismatch!.hex).toHaveLength(64);
      expect(mismatch!.hex).not.toBe(leafDigest);
      // ta-forged-chain: the record names the genuine intermediate, which is in the chain but did not issue the leaf.
      const forged = host("ta-forged-chain");
      expect(forged.chain).toEqual(["ta-forged-chain/leaf", "ta-forged-chain/attacker", "lab/ca"]);
      expect(tlsaRdata(forged.tlsa[0]!, pki).hex).toBe(tlsaAssociationData(pki.get("lab/ca").der, 1, 1));
      const { describeCertificate } = await import("../../certs/index.js");
      const attacker = describeCertificate(pki.get("ta-forged-chain/attacker").der);
      const genuine = describeCertificate(pki.get("lab/ca").der);
      expect(attacker.subject).toBe(genuine.subject);
      expect(describeCertificate(pki.get("ta-forged-chain/leaf").der).issuer).toBe(genuine.subject);

      const zones = zoneSpecs(plan, pki);
      const records = (origin: string): Answer[] => zones.find((z) => z.origin === origin)!.records;
      const find = (origin: string, name: string, type: string) =>
        records(origin).filter((r) => r.name === name && r.type === type);
      // cname-mx-host: mx is a CNAME to real; address and TLSA at real.
      const cn = "cname-mx-host.lab.example";
      expect(find(cn, `mx.${cn}`, "CNAME").map((r) => ("data" in r ? r.data : undefined))).toEqual([`real.${cn}`]);
      expect(find(cn, `real.${cn}`, "A")).toHaveLength(1);
      expect(find(cn, `_25._tcp.real.${cn}`, "TLSA")).toHaveLength(1);
      // tlsa-cname: _25._tcp.mx is a CNAME; the RRset lives at the target.
      const tc = "tlsa-cname.lab.example";
      expect(find(tc, `_25._tcp.mx.${tc}`, "CNAME").map((r) => ("data" in r ? r.data : undefined))).toEqual([
        `tlsa-shared.${tc}`,
      ]);
      expect(find(tc, `tlsa-shared.${tc}`, "TLSA")).toHaveLength(1);
      // tlsa-nxdomain: no TLSA anywhere in the zone.
      expect(records("tlsa-nxdomain.lab.example").filter((r) => r.type === "TLSA")).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("builds the PKI and zone inputs of the whole catalogue: certs/ accepts every certificate profile", async () => {
    const { planLab } = await import("./compile.js");
    const { zoneSpecs } = await import("./zone-specs.js");
    const { buildPki, describeCertificate } = await import("../../certs/index.js");
    const plan = planLab(catalogue, ADDRESSES);
    const dir = mkdtempSync(join(tmpdir(), "danelab-catalogue-all-"));
    try {
      const pki = await buildPki(plan.pki, { dir: join(dir, "pki") });
      expect(pki.names().sort()).toEqual(plan.pki.certificates.map((c) => c.name).sort());
      const zones = zoneSpecs(plan, pki);
      // Root, suffix, one zone per scenario, plus the insecure subzones.
      const subzones = catalogue.reduce((n, s) => n + s.dns.subzones.length, 0);
      expect(subzones).toBe(3);
      expect(zones).toHaveLength(2 + catalogue.length + subzones);
      // NSEC3 parameters reach the zone and its subzone; the wildcard TLSA lives at *._tcp.<mx>.
      const spec = (origin: string) => zones.find((z) => z.origin === origin)!;
      expect(spec("nsec3-iterations-high.lab.example")).toMatchObject({
        denial: "nsec3",
        nsec3: { iterations: 500, salt: "a1b2c3d4", optOut: false },
      });
      expect(spec("insecure.nsec3-optout-insecure.lab.example")).toMatchObject({ denial: "nsec3", signed: false });
      expect(
        spec("tlsa-wildcard.lab.example")
          .records.filter((r) => r.type === "TLSA")
          .map((r) => r.name),
      ).toEqual(["*._tcp.mx.tlsa-wildcard.lab.example"]);
      expect(
        spec("tlsa-nodata-nsec3.lab.example")
          .records.filter((r) => r.type === "TXT")
          .map((r) => r.name),
      ).toEqual(["_25._tcp.mx.tlsa-nodata-nsec3.lab.example"]);
      // The expired self-signed DANE-EE leaf really is expired and self-signed.
      const self = describeCertificate(pki.get("ee-expired-wrong-name/self").der);
      expect(self.issuer).toBe(self.subject);
      expect(new Date(self.notAfter).getTime()).toBeLessThan(Date.now());
      // ta-stale-intermediate: the leaf's issuer is not the certificate the TLSA record names.
      const stale = describeCertificate(pki.get("ta-stale-intermediate/leaf").der);
      expect(stale.issuer).not.toBe(describeCertificate(pki.get("lab/ca").der).subject);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 300_000);

  it("puts the DNS faults and unsigned zones where scenarios.md says", async () => {
    const { planLab } = await import("./compile.js");
    const plan = planLab(catalogue, ADDRESSES);
    const dns = (id: string) => byId.get(id)!.dns;
    expect(dns("tlsa-bogus").faults).toEqual([{ kind: "bad-signature", name: "_25._tcp.mx", type: "TLSA" }]);
    expect(dns("tlsa-expired-rrsig").faults).toEqual([
      { kind: "expired-signature", name: "_25._tcp.mx", type: "TLSA" },
    ]);
    expect(dns("tlsa-servfail").faults).toEqual([{ kind: "servfail", name: "_25._tcp.mx", type: "TLSA" }]);
    expect(dns("tlsa-timeout").faults).toEqual([{ kind: "timeout", name: "_25._tcp.mx", type: "TLSA" }]);
    expect(dns("mx-bogus").faults).toEqual([{ kind: "bad-signature", name: "@", type: "MX" }]);
    expect(dns("tlsa-insecure").signed).toBe(false);
    expect(dns("insecure-a-tlsa-servfail").subzones).toEqual([{ name: "insecure", signed: false }]);
    const insecureHost = plan.scenarios.find((sp) => sp.scenario.id === "insecure-a-tlsa-servfail")!.hosts[0]!;
    expect(insecureHost.tlsaOwner).toBe("_25._tcp.mx.insecure.insecure-a-tlsa-servfail.lab.example");
    // RFC 7672 §2.2.1: the recipient domain (owner of the MX RRset) in an unsigned subzone, the MX host in the signed
    // zone — the manifest sends clients to the recipient domain.
    const insecureMx = plan.scenarios.find((sp) => sp.scenario.id === "insecure-mx-secure-tlsa")!;
    expect([insecureMx.mailDomain, insecureMx.hosts[0]!.name]).toEqual([
      "mail.insecure-mx-secure-tlsa.lab.example",
      "mx.insecure-mx-secure-tlsa.lab.example",
    ]);
    // Every other scenario: a signed zone without faults (MTA-STS is for unsigned zones: RFC 8461 §1).
    const faulty = catalogue.filter((s) => (s.dns.faults.length || !s.dns.signed || s.dns.subzones.length) && !s.sts);
    expect(faulty.map((s) => s.id).sort()).toEqual(
      [
        "insecure-a-tlsa-servfail",
        "insecure-mx-secure-tlsa",
        "nsec3-optout-insecure",
        "mx-bogus",
        "tlsa-bogus",
        "tlsa-expired-rrsig",
        "tlsa-insecure",
        "tlsa-servfail",
        "tlsa-timeout",
      ].sort(),
    );
  });
});

describe("the worked examples of docs/scenarios.md", () => {
  const docs = readFileSync(new URL("../../docs/scenarios.md", import.meta.url), "utf8");
  // Every ```yaml block that starts with "# file: <name>.yaml" is a complete scenario file.
  const examples = [...docs.matchAll(/```yaml\n# file: ([a-z0-9-]+\.yaml)\n([\s\S]*?)```/g)].map((m) => ({
    name: m[1]!,
    text: `# file: ${m[1]}\n${m[2]}`,
  }));

  it("validate and plan like built-in scenarios", async () => {
    expect(examples.map((e) => e.name)).toEqual(["my-rotation.yaml", "shared-tlsa-two-mx.yaml"]);
    const dir = mkdtempSync(join(tmpdir(), "danelab-docs-examples-"));
    try {
      for (const e of examples) writeFileSync(join(dir, e.name), e.text);
      const scenarios = loadCatalogue({ dirs: [dir] });
      const { planLab } = await import("./compile.js");
      const plan = planLab(scenarios, ADDRESSES);
      const rotation = plan.scenarios.find((sp) => sp.scenario.id === "my-rotation")!;
      expect(rotation.hosts[0]!.tlsa).toHaveLength(3);
      const shared = plan.scenarios.find((sp) => sp.scenario.id === "shared-tlsa-two-mx")!;
      expect(shared.hosts.map((h) => [h.name, h.tlsaHolder])).toEqual([
        ["mx1.shared-tlsa-two-mx.lab.example", "_dane.shared-tlsa-two-mx.lab.example"],
        ["backup.legacy.shared-tlsa-two-mx.lab.example", "_25._tcp.backup.legacy.shared-tlsa-two-mx.lab.example"],
      ]);
      const leaf = plan.pki.certificates.find((c) => c.name === "shared-tlsa-two-mx/leaf")!;
      expect(leaf.san).toEqual(shared.hosts.map((h) => h.name));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("a broken scenario file", () => {
  const dir = mkdtempSync(join(tmpdir(), "danelab-catalogue-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  // A valid file; each case below breaks one line of it. Line numbers matter: they are what the user is told.
  const VALID = [
    "id: NAME", // 1
    'title: "a test scenario"', // 2
    "group: smtp-and-tls", // 3
    "expect: deliver", // 4
    "teach: >-", // 5
    "  First sentence. Second sentence.", // 6
    "hosts:", // 7
    "  - name: mx", // 8
    "    smtp:", // 9
    "      starttls: offered", // 10
    "      greylist:", // 11
    "        connections: 2", // 12
  ];
  /** One file per case, each with one line replaced (or inserted); written before any test runs. */
  const CASES: Record<string, (lines: string[]) => void> = {
    "valid-one": () => {},
    "unknown-field": (l) => l.splice(3, 0, "colour: red"), // becomes line 4
    "unknown-deep-field": (l) => l.splice(10, 0, "      colour: red"), // line 11, inside hosts[0].smtp
    "bad-expect": (l) => {
      l[3] = "expect: delivered";
    },
    "yaml-tab": (l) => {
      l[9] = "\tstarttls: offered";
    },
    "yaml-colon": (l) => {
      l[1] = "title: Note: a colon and a space inside an unquoted value";
    },
    "alias-bomb": (l) => {
      l.push(
        "x-a: &a [x, x, x, x, x, x, x, x, x, x]", // 13
        "x-b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]", // 14
        "x-c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]",
        "x-d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]",
        "x-e: [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]",
      );
    },
    "alias-unknown": (l) => {
      l[1] = "title: *nowhere";
    },
    "deep-type": (l) => {
      l[11] = '        connections: "two"';
    },
    "deep-enum": (l) => {
      l[9] = "      starttls: sometimes";
    },
  };
  const files: Record<string, string> = {};
  for (const [name, edit] of Object.entries(CASES)) {
    const lines = VALID.map((l) => l.replace("NAME", name));
    edit(lines);
    files[name] = join(dir, `${name}.yaml`);
    writeFileSync(files[name], `${lines.join("\n")}\n`);
  }
  const problemsOf = (name: string): string[] => {
    const file = files[name]!;
    const result = parseScenarioFile(file, readFileSync(file, "utf8"));
    return "problems" in result ? result.problems : [];
  };
  /** `<file>:<line>: ` at the start of a problem. */
  const at = (name: string, line: number) => new RegExp(`^${escapeRegExp(files[name]!)}:${line}: `);

  it("loads when nothing is broken", () => {
    expect(problemsOf("valid-one")).toEqual([]);
  });

  it("names an unknown top-level field at the line of that field", () => {
    const problems = problemsOf("unknown-field");
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(at("unknown-field", 4));
    expect(problems[0]).toContain('"colour"');
    expect(problems[0]).toContain("docs/scenarios.md");
  });

  it("names an unknown field inside hosts[0].smtp at the line of that field, with its path", () => {
    const [problem] = problemsOf("unknown-deep-field");
    expect(problem).toMatch(at("unknown-deep-field", 11));
    expect(problem).toContain("hosts.0.smtp");
    expect(problem).toContain('"colour"');
  });

  it("names a bad expect value, its line and the allowed values", () => {
    const [problem] = problemsOf("bad-expect");
    expect(problem).toMatch(at("bad-expect", 4));
    expect(problem).toContain("expect: must be one of");
    expect(problem).toContain('"deliver-after-retry"');
  });

  it("reports YAML syntax errors at their line: a tab used for indentation", () => {
    const problems = problemsOf("yaml-tab");
    expect(problems[0]).toMatch(at("yaml-tab", 10));
    expect(problems[0]).toMatch(/YAML syntax: .*[Tt]ab/);
  });

  it("reports YAML syntax errors at their line: ': ' inside an unquoted value", () => {
    const problems = problemsOf("yaml-colon");
    expect(problems.length).toBeGreaterThan(0);
    for (const p of problems) expect(p).toMatch(at("yaml-colon", 2));
    expect(problems[0]).toContain("YAML syntax: ");
  });

  it("reports an alias bomb at the line of its first alias, without expanding it", () => {
    const problems = problemsOf("alias-bomb");
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(at("alias-bomb", 14));
    expect(problems[0]).toContain("YAML aliases expand to too much data");
  });

  it("reports an alias to an anchor that does not exist at its line", () => {
    const problems = problemsOf("alias-unknown");
    expect(problems[0]).toMatch(at("alias-unknown", 2));
    expect(problems[0]).toContain("Unresolved alias");
  });

  it("refuses a {from..to} range that expands past MAX_RANGE_NAMES, naming the file", async () => {
    const { planLab, MAX_RANGE_NAMES } = await import("./compile.js");
    const file = join(dir, "wide-range.yaml");
    const text = `${VALID.map((l) => l.replace("NAME", "wide-range")).join("\n")}
pki:
  certificates:
    - name: leaf
      san: ["h{1..1000}.{domain}", "x{1..1000}y{1..1000000}.{domain}"]
`;
    const parsed = parseScenarioFile(file, text);
    if (!("scenario" in parsed)) throw new Error(parsed.problems.join("\n"));
    expect(() => planLab([parsed.scenario], ADDRESSES)).toThrow(
      `${file}: "x{1..1000}y{1..1000000}.wide-range.lab.example" expands to 1000000000 names; a {from..to} range may produce at most ${MAX_RANGE_NAMES}`,
    );
  });

  it("reports a wrong type deep inside hosts[0].smtp at that line, naming the field path", () => {
    const [problem] = problemsOf("deep-type");
    expect(problem).toMatch(at("deep-type", 12));
    expect(problem).toContain("hosts.0.smtp.greylist.connections: ");
    expect(problem).toMatch(/number/);
  });

  it("reports an unknown STARTTLS mode deep inside hosts[0].smtp", () => {
    const [problem] = problemsOf("deep-enum");
    expect(problem).toMatch(at("deep-enum", 10));
    expect(problem).toContain("hosts.0.smtp.starttls: must be one of ");
    expect(problem).toContain('"offered"');
  });

  it("reports every broken file of a directory at once, through loadCatalogue", () => {
    let error: unknown;
    try {
      loadCatalogue({ dirs: [dir] });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(CatalogueError);
    const problems = (error as CatalogueError).problems;
    for (const name of Object.keys(CASES).filter((n) => n !== "valid-one"))
      expect(
        problems.some((p) => p.startsWith(`${files[name]}:`)),
        name,
      ).toBe(true);
    expect(problems.some((p) => p.startsWith(`${files["valid-one"]}:`))).toBe(false);
    expect((error as Error).message).toContain("docs/scenarios.md");
  });
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

describe("planning the catalogue v2 fields", () => {
  const plan = async (id: string, yaml: string) => {
    const { planLab } = await import("./compile.js");
    const head = `id: ${id}\ntitle: "t"\ngroup: dnssec-status\nexpect: deliver\nteach: >-\n  One. Two.\n`;
    const parsed = parseScenarioFile(`/tmp/${id}.yaml`, head + yaml);
    if ("problems" in parsed) throw new Error(parsed.problems.join("\n"));
    return () => planLab([parsed.scenario], ADDRESSES);
  };

  it("refuses NSEC3 parameters without denial: nsec3, and two homes for one TLSA RRset", async () => {
    expect(await plan("p1", "dns:\n  nsec3: { iterations: 0 }\n")).toThrow(/add denial: nsec3/);
    expect(await plan("p2", "hosts:\n  - { tlsaCname: _dane, tlsaWildcard: true }\n")).toThrow(/keep one of them/);
    expect((await plan("p3", "dns:\n  denial: nsec3\n"))().scenarios[0]!.scenario.dns.denial).toBe("nsec3");
  });

  it("rejects a salt that is not hex at its line", () => {
    const r = parseScenarioFile(
      "/tmp/p4.yaml",
      'id: p4\ntitle: "t"\ngroup: g\nexpect: deliver\nteach: x\ndns:\n  denial: nsec3\n  nsec3: { salt: "zz" }\n',
    );
    expect("problems" in r ? r.problems.join("\n") : "").toMatch(/p4\.yaml:8: dns\.nsec3\.salt: hex/);
  });
});
