// How long buildTree takes for a lab-sized tree — 47 child zones (MX, A, 1–14 TLSA each) plus root and suffix — cold
// (every key generated) and warm (keys read from the cache directory), and what one answerAuthoritative and one
// resolveValidated cost. Prints the numbers; asserts that a warm start generates no keys and stays fast.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { answerAuthoritative, buildTree, resolveValidated } from "../zones/index.js";
import { mailZone, rootAndSuffix } from "../zones/test-fixtures.js";

const CHILDREN = 47;
const specs = () => [
  ...rootAndSuffix(),
  ...Array.from({ length: CHILDREN }, (_, i) =>
    mailZone(`s${String(i).padStart(2, "0")}`, { tlsaCount: 1 + (i % 14), signed: i % 10 !== 9 }),
  ),
];

const dir = mkdtempSync(join(tmpdir(), "zones-bench-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe(`buildTree with ${CHILDREN} child zones + root + suffix`, () => {
  it("cold, then warm from the key cache", async () => {
    const keys = join(dir, "dnssec");
    let t = performance.now();
    const cold = await buildTree(specs(), { dir: keys });
    const coldMs = performance.now() - t;
    t = performance.now();
    const warm = await buildTree(specs(), { dir: keys });
    const warmMs = performance.now() - t;
    t = performance.now();
    await buildTree(specs(), {});
    const memoryMs = performance.now() - t;
    console.log(
      `zones bench: ${cold.zones.length} zones, ${cold.stats.signatures} RRSIGs; cold ${coldMs.toFixed(0)} ms ` +
        `(${cold.stats.keysGenerated} keys generated), warm ${warmMs.toFixed(0)} ms (${warm.stats.keysGenerated} generated, ` +
        `${warm.stats.keysLoaded} loaded), no cache dir ${memoryMs.toFixed(0)} ms`,
    );
    expect(cold.stats.keysGenerated).toBeGreaterThan(80);
    expect(warm.stats.keysGenerated).toBe(0);
    expect(warmMs).toBeLessThan(5_000);

    const n = 2_000;
    t = performance.now();
    for (let i = 0; i < n; i++) {
      answerAuthoritative(warm, {
        name: `_25._tcp.mx.s${String(i % 40).padStart(2, "0")}.lab.example`,
        type: "TLSA",
        dnssecOk: true,
      });
    }
    const authUs = ((performance.now() - t) / n) * 1000;
    const m = 200;
    t = performance.now();
    for (let i = 0; i < m; i++) {
      const r = resolveValidated(warm, {
        name: `_25._tcp.mx.s${String(i % 9).padStart(2, "0")}.lab.example`,
        type: "TLSA",
      });
      expect(r.status).toBe("secure");
    }
    const resolveUs = ((performance.now() - t) / m) * 1000;
    console.log(
      `zones bench: answerAuthoritative ${authUs.toFixed(0)} µs/query, resolveValidated ${resolveUs.toFixed(0)} µs/query`,
    );
  }, 120_000);

  it("algorithm 8 (RSA keys are slow to make: the key cache matters)", async () => {
    const keys = join(dir, "dnssec-rsa");
    const rsa = () => [
      ...rootAndSuffix(8),
      ...Array.from({ length: 8 }, (_, i) => mailZone(`r${i}`, { algorithm: 8, tlsaCount: 1 + i })),
    ];
    let t = performance.now();
    const cold = await buildTree(rsa(), { dir: keys });
    const coldMs = performance.now() - t;
    t = performance.now();
    const warm = await buildTree(rsa(), { dir: keys });
    const warmMs = performance.now() - t;
    console.log(
      `zones bench (RSASHA256): ${cold.zones.length} zones; cold ${coldMs.toFixed(0)} ms (${cold.stats.keysGenerated} keys), ` +
        `warm ${warmMs.toFixed(0)} ms (${warm.stats.keysGenerated} generated)`,
    );
    expect(warm.stats.keysGenerated).toBe(0);
    expect(resolveValidated(warm, { name: "_25._tcp.mx.r3.lab.example", type: "TLSA" }).status).toBe("secure");
  }, 120_000);
});
