// zones/ against independent DNSSEC implementations: the exported zone files of the root, the suffix and a child with
// MX/A/TLSA/CNAME, for algorithms 8, 13 and 15, must be accepted by ldns-verify-zone (anchored at the trust anchor or
// the parent's DS), BIND's dnssec-verify and named-checkzone; the deliberately bogus zones (bad-signature,
// expired-signature) must be rejected; key tags and DS digests must equal what ldns-key2ds and dnssec-dsfromkey compute.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildTree, type SignedTree, trustAnchorFiles } from "../zones/index.js";
import { cname, labSpecs, mailZone, parentDsText, rootAndSuffix } from "../zones/test-fixtures.js";
import { recordText } from "../zones/zonefile.js";
import { run } from "./run.js";

/** The zone checkers take a few seconds on large signed zones. */
const T = { timeoutMs: 30_000 };

let dir: string;
const trees = new Map<number, SignedTree>();
const file = (alg: number, origin: string) => join(dir, `${alg}`, `${origin || "root"}.zone`);

/** Root, suffix and a child with MX, A, TLSA and CNAMEs, plus the bogus ones, all exported to files. */
function specs(alg: 8 | 13 | 15) {
  return [
    ...rootAndSuffix(alg),
    mailZone("good", {
      algorithm: alg,
      tlsaCount: 3,
      extra: [
        cname("alias.good.lab.example", "mx.good.lab.example"),
        // Presentation of the less common shapes: several strings, a quote, a backslash, a non-ASCII octet.
        {
          name: "good.lab.example",
          type: "TXT",
          ttl: 300,
          class: "IN",
          data: ["v=spf1 -all", 'say "hi" \\ caf\u00e9'],
        },
        { name: "mx.good.lab.example", type: "AAAA", ttl: 300, class: "IN", data: "::1" },
      ],
    }),
    mailZone("plain", { signed: false }),
    mailZone("badsig", {
      algorithm: alg,
      faults: [{ kind: "bad-signature", name: "_25._tcp.mx.badsig.lab.example", type: "TLSA" }],
    }),
    mailZone("expired", {
      algorithm: alg,
      faults: [{ kind: "expired-signature", name: "_25._tcp.mx.expired.lab.example", type: "TLSA" }],
    }),
  ];
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "zones-tools-"));
  for (const alg of [8, 13, 15, 0] as const) {
    // 0: the unit tests' tree, with every fault (a DS with a broken signature in the suffix zone among them).
    const tree = await buildTree(alg === 0 ? labSpecs(13) : specs(alg), {});
    trees.set(alg, tree);
    spawnSync("mkdir", ["-p", join(dir, `${alg}`)]);
    for (const z of tree.zones) writeFileSync(file(alg, z.origin), z.toZoneFile());
    writeFileSync(join(dir, `${alg}`, "anchor.ds"), `${tree.trustAnchors.ds.join("\n")}\n`);
  }
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The parent's DS for a child, as a file ldns-verify-zone -k reads. */
function dsFile(alg: number, child: string): string {
  const path = join(dir, `${alg}`, `${child}.ds`);
  writeFileSync(path, parentDsText(trees.get(alg)!, child));
  return path;
}

const SECURE = ["", "lab.example", "good.lab.example"];

for (const alg of [8, 13, 15] as const) {
  describe(`algorithm ${alg}`, () => {
    for (const origin of SECURE) {
      const label = origin || ".";
      it(`ldns-verify-zone accepts ${label}, anchored at ${origin === "" ? "the trust anchor" : "the parent's DS"}`, async () => {
        const anchor = origin === "" ? join(dir, `${alg}`, "anchor.ds") : dsFile(alg, origin);
        const r = await run("ldns-verify-zone", ["-k", anchor, file(alg, origin)], T);
        expect(r.output).toContain("Zone is verified and complete");
        expect(r.code).toBe(0);
      });

      it(`dnssec-verify and named-checkzone accept ${label}`, async () => {
        const v = await run("dnssec-verify", ["-o", label, file(alg, origin)], T);
        expect(v.output).toContain("Zone fully signed");
        expect(v.code).toBe(0);
        const c = await run("named-checkzone", ["-i", "local", label, file(alg, origin)], T);
        expect(c.output).toMatch(/OK/);
        expect(c.code).toBe(0);
      });
    }

    it("named-checkzone accepts the unsigned child", async () => {
      const c = await run("named-checkzone", ["plain.lab.example", file(alg, "plain.lab.example")], T);
      expect(c.code).toBe(0);
    });

    for (const bogus of ["badsig.lab.example", "expired.lab.example"]) {
      it(`ldns-verify-zone and dnssec-verify reject ${bogus}`, async () => {
        const l = await run("ldns-verify-zone", [file(alg, bogus)], T);
        expect(l.code).not.toBe(0);
        expect(l.output).toMatch(/_25\._tcp\.mx\.[a-z]+\.lab\.example\.\s+TLSA/);
        const v = await run("dnssec-verify", ["-o", bogus, file(alg, bogus)], T);
        expect(v.code).not.toBe(0);
      });
    }

    it("key tags and DS digests equal ldns-key2ds and dnssec-dsfromkey", async () => {
      const tree = trees.get(alg)!;
      for (const origin of ["lab.example", "good.lab.example"]) {
        const zone = tree.zone(origin)!;
        const parent = tree.zone(zone.parent!)!;
        const ours = parent.rrset(origin, "DS").map((r) => recordText(r).split("\t").pop());
        // BIND: DS for the KSK, from the DNSKEYs in the exported zone file.
        const bind = await run("dnssec-dsfromkey", ["-2", "-f", file(alg, origin), origin], T);
        expect(bind.code).toBe(0);
        expect(bind.output.trim().split(/\s+/).slice(3).join(" ")).toBe(ours[0]);
        // ldns: DS (with the key tag) for every key, SEP flag ignored.
        for (const key of zone.keys) {
          const keyFile = join(dir, `${alg}`, `${origin}.${key.keyTag}.key`);
          writeFileSync(keyFile, `${origin}. 3600 IN DNSKEY ${key.flags} 3 ${key.algorithm} ${key.publicKey}\n`);
          const l = await run("ldns-key2ds", ["-n", "-f", "-2", keyFile], T);
          expect(l.code).toBe(0);
          const fields = l.output.trim().split(/\s+/);
          expect(Number(fields[4])).toBe(key.keyTag);
          if (key.flags === 257) expect(fields.slice(4).join(" ").toUpperCase()).toBe(ours[0]);
        }
      }
    });

    it("trust-anchor files carry the root KSK", async () => {
      const tree = trees.get(alg)!;
      const { unbound, bind } = trustAnchorFiles(tree);
      const ksk = tree.zone("")!.keys.find((k) => k.flags === 257)!;
      expect(unbound).toContain(`. 3600 IN DS ${ksk.keyTag} ${alg} 2 `);
      expect(bind).toContain(`. static-key 257 3 ${alg} "${ksk.publicKey}";`);
      // The DNSKEY form, fed back to ldns-verify-zone as the anchor, also verifies the root.
      const anchor = join(dir, `${alg}`, "anchor.dnskey");
      writeFileSync(anchor, `${tree.trustAnchors.dnskey.join("\n")}\n`);
      expect((await run("ldns-verify-zone", ["-k", anchor, file(alg, "")], T)).code).toBe(0);
      // The files parse where they are meant to go: named.conf (also what delv -a reads) and unbound's config.
      const bindFile = join(dir, `${alg}`, "anchors.conf");
      writeFileSync(bindFile, bind);
      expect((await run("named-checkconf", [bindFile], T)).code).toBe(0);
      const unboundAnchor = join(dir, `${alg}`, "root.anchor");
      writeFileSync(unboundAnchor, unbound);
      const unboundConf = join(dir, `${alg}`, "unbound.conf");
      writeFileSync(unboundConf, `server:\n  trust-anchor-file: "${unboundAnchor}"\n  chroot: ""\n  username: ""\n`);
      const u = await run("unbound-checkconf", [unboundConf], T);
      expect(u.output).toContain("no errors");
    });
  });
}

describe("the faults of the unit-test tree, seen by BIND", () => {
  for (const [origin, what] of [
    ["lab.example", "dsbogus.lab.example DS"],
    ["mxbogus.lab.example", "mxbogus.lab.example MX"],
    ["nsecbogus.lab.example", "mx.nsecbogus.lab.example NSEC"],
  ]) {
    it(`dnssec-verify rejects ${origin}: ${what}`, async () => {
      const v = await run("dnssec-verify", ["-o", origin!, file(0, origin!)], T);
      expect(v.code).not.toBe(0);
      expect(v.output).toContain(`No correct ECDSAP256SHA256 signature for ${what}`);
    });
  }

  it("dnssec-verify accepts the zones the faults do not touch", async () => {
    for (const origin of ["", "good.lab.example", "wrongds.lab.example", "cross.lab.example", "faulty.lab.example"]) {
      expect((await run("dnssec-verify", ["-o", origin || ".", file(0, origin)], T)).code).toBe(0);
    }
  });
});
