// The prime search behind RSA keys: every result is prime by OpenSSL's own 64-round test, has exactly the asked size
// with its top two bits set, and keeps 65537 invertible; the worker pool answers many requests at once, refuses sizes it
// cannot make, and does not keep a process alive once its work is done.
import { execFile } from "node:child_process";
import * as crypto from "node:crypto";
import { resolve } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { MAX_SEARCH_BITS, makePrimeSearch, millerRabinRounds, PrimePool } from "./primes.js";

const execFileAsync = promisify(execFile);

describe("makePrimeSearch", () => {
  const search = makePrimeSearch(crypto);
  it.each([512, 1024, 1536, 2048])("gives %i-bit primes with the top two bits set and p − 1 prime to 65537", (bits) => {
    for (let i = 0; i < (bits <= 1024 ? 10 : 2); i++) {
      const p = BigInt(`0x${search(bits, millerRabinRounds(bits), 65537)}`);
      expect(crypto.checkPrimeSync(p)).toBe(true);
      expect(p.toString(2)).toMatch(new RegExp(`^11[01]{${bits - 2}}$`));
      expect((p - 1n) % 65537n).not.toBe(0n);
    }
  });
});

describe("PrimePool", () => {
  it("answers concurrent requests from worker threads", async () => {
    const pool = new PrimePool(2);
    try {
      const primes = await Promise.all(Array.from({ length: 12 }, () => pool.prime(1024)));
      expect(new Set(primes).size).toBe(12);
      for (const p of primes) expect(crypto.checkPrimeSync(p)).toBe(true);
    } finally {
      await pool.close();
    }
  });

  it("refuses sizes it cannot make, and fails pending requests on close", async () => {
    const pool = new PrimePool(1);
    await expect(pool.prime(MAX_SEARCH_BITS + 8)).rejects.toThrow(/cannot make a 3080-bit prime/);
    await expect(pool.prime(1001)).rejects.toThrow(/multiples of 8/);
    const pending = [pool.prime(2048), pool.prime(2048)].map((p) => p.then(String, (err: Error) => err.message));
    await pool.close();
    expect(await Promise.all(pending)).toEqual(["prime pool closed", "prime pool closed"]);
  });

  it("lets the process exit once its keys are made (idle workers do not hold it open)", async () => {
    // A child that makes one RSA key and then has nothing left to do must exit by itself, well before the timeout.
    // It runs the compiled module (`npm test` builds first), as `danelab up` does.
    const keys = resolve("dist/certs/keys.js");
    const started = Date.now();
    const { stdout } = await execFileAsync(
      process.execPath,
      [
        "--input-type=module",
        "-e",
        `const { generateKey } = await import(${JSON.stringify(keys)}); const k = await generateKey("rsa-2048"); console.log(k.keyPem.length > 1000 ? "made" : "short");`,
      ],
      { timeout: 20_000 },
    );
    expect(stdout.trim()).toBe("made");
    expect(Date.now() - started).toBeLessThan(15_000);
  });
});
