// NSEC3 zones (RFC 5155) against independent implementations: the exported zone files must be accepted by
// ldns-verify-zone (anchored at the parent's DS), BIND's dnssec-verify and named-checkzone, for algorithms 8, 13 and 15;
// the hashed owner names must equal what ldns-nsec3-hash computes. BIND's verifier refuses the 500-iteration zone
// ("NSEC3 iterations out of range": BIND 9.18 caps NSEC3 at 150 iterations) while ldns accepts it.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildTree, type SignedTree } from "../zones/index.js";
import { withoutTrailingDot } from "../zones/names.js";
import { nsec3Specs, parentDsText } from "../zones/test-fixtures.js";
import { run } from "./run.js";

let dir: string;
const trees = new Map<number, SignedTree>();
const zoneFile = (alg: number, origin: string) => join(dir, `${alg}`, `${origin}.zone`);
/** The parent's DS for a child, as a file ldns-verify-zone -k reads. */
const dsFile = (alg: number, child: string) => join(dir, `${alg}`, `${child}.ds`);
const CHILDREN = [
  "n3.lab.example",
  "n3salt.lab.example",
  "n3high.lab.example",
  "wild.lab.example",
  "n3wild.lab.example",
];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "zones-nsec3-tools-"));
  for (const alg of [8, 13, 15] as const) {
    const tree = await buildTree(nsec3Specs(alg));
    trees.set(alg, tree);
    mkdirSync(join(dir, `${alg}`));
    for (const z of tree.zones) writeFileSync(zoneFile(alg, z.origin || "root"), z.toZoneFile());
    for (const child of CHILDREN) writeFileSync(dsFile(alg, child), parentDsText(tree, child));
  }
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

for (const alg of [8, 13, 15] as const) {
  describe(`NSEC3 zones, algorithm ${alg}`, () => {
    for (const origin of CHILDREN) {
      it(`ldns-verify-zone and named-checkzone accept ${origin}`, async () => {
        const r = await run("ldns-verify-zone", ["-k", dsFile(alg, origin), zoneFile(alg, origin)]);
        expect(r.output).toContain("Zone is verified and complete");
        expect(r.code).toBe(0);
        const c = await run("named-checkzone", ["-i", "local", origin, zoneFile(alg, origin)]);
        expect(c.output).toMatch(/OK/);
        expect(c.code).toBe(0);
      });
    }

    for (const origin of ["n3.lab.example", "n3salt.lab.example", "wild.lab.example", "n3wild.lab.example"]) {
      it(`dnssec-verify accepts ${origin}`, async () => {
        const v = await run("dnssec-verify", ["-o", origin, zoneFile(alg, origin)]);
        expect(v.output).toContain("Zone fully signed");
        expect(v.code).toBe(0);
      });
    }

    it("dnssec-verify refuses 500 iterations (BIND's own cap, RFC 9276 §3.2)", async () => {
      const v = await run("dnssec-verify", ["-o", "n3high.lab.example", zoneFile(alg, "n3high.lab.example")]);
      expect(v.output).toContain("NSEC3 iterations out of range");
      expect(v.code).not.toBe(0);
    });
  });
}

describe("hashed owner names", () => {
  it("equal ldns-nsec3-hash for every NSEC3 owner of the salted zone", async () => {
    const zone = trees.get(13)!.zone("n3salt.lab.example")!;
    for (const name of ["n3salt.lab.example", "mx.n3salt.lab.example", "_25._tcp.mx.n3salt.lab.example"]) {
      const ldns = await run("ldns-nsec3-hash", ["-s", "aabbccdd", "-t", "10", `${name}.`]);
      expect(ldns.code).toBe(0);
      const owner = zone.nsec3Match(name)?.name;
      expect(owner, name).toBe(`${withoutTrailingDot(ldns.output.trim())}.n3salt.lab.example`);
    }
  });
});
