// Random probable primes for the lab's RSA keys, made in worker threads.
//
// Why not crypto.generatePrime: OpenSSL 3.0 (what Node 20 bundles) confirms every generated prime with 64 Miller–Rabin
// rounds whatever the caller asks — measured here: 28–32 ms per 1024-bit prime and 250–430 ms per 2048-bit prime, of
// which about 17 ms and 145 ms go to those confirmation rounds (`checkPrime` costs the same with `checks: 1`). For randomly chosen candidates far fewer rounds give a
// negligible error: FIPS 186-5 Appendix B.3, Table B.1 asks for 5 rounds for the 1024-bit primes of an RSA-2048 key
// (error ≤ 2⁻¹¹²) and 4 for the 2048-bit primes of RSA-4096 (≤ 2⁻¹⁴⁴). Key generation is nearly all of a cold lab
// start, so the search below uses those counts: a sieve over the small primes, then Miller–Rabin (FIPS 186-5 B.3.1)
// whose modular exponentiation is OpenSSL's own — an RSA public-key operation without padding is exactly
// x^e mod n (RFC 8017 §5.1.1, RSAEP), so a "public key" (n = candidate, e = exponent) computes it at native speed.
// OpenSSL refuses exponents above 64 bits for moduli over 3072 bits, which bounds the primes this can make (RSA-4096
// needs 2048-bit ones).
//
// `makePrimeSearch` is self-contained (its only input is the node:crypto module) because it runs in workers started from
// its own source text: that works the same from the compiled lab and from the TypeScript sources the tests run.
// The keys are throw-away lab keys; the tests check every kind with `openssl pkey -check`, which re-tests p and q.

import type * as nodeCrypto from "node:crypto";
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";

/** FIPS 186-5 Table B.1 round counts for random candidates, by prime size (see the header). */
export function millerRabinRounds(bits: number): number {
  return bits >= 1536 ? 4 : 5;
}

/** Largest prime the search can make (see the header). */
export const MAX_SEARCH_BITS = 3072;

/**
 * Makes the prime search for one thread: the table of small primes is built once per thread, then each call returns a
 * random probable prime of exactly `bits` bits (a multiple of 8, ≤ 3072) with its top two bits set (so the product of
 * two has exactly 2·bits bits, as FIPS 186-5 A.1.3 asks of p and q) and p − 1 not divisible by `avoidFactor` (65537
 * for RSA, so that e is invertible), as a hex string.
 */
export function makePrimeSearch(
  crypto: typeof nodeCrypto,
): (bits: number, rounds: number, avoidFactor: number) => string {
  // Odd primes below 2^14 (1,899 of them): a sieve by these leaves about 1 odd number in 9 for exponentiation (Mertens:
  // ∏(1 − 1/p) over odd p < x ≈ 2e^−γ / ln x). Deeper sieves cost more in residues than they save: measured 14–16 ms per
  // 1024-bit prime with 2^14, 16–22 ms with 2^13 or 2^15, 27 ms with 2^17.
  const LIMIT = 1 << 14;
  const small: number[] = [];
  const composite = new Uint8Array(LIMIT);
  for (let i = 3; i < LIMIT; i += 2) {
    if (composite[i]) continue;
    small.push(i);
    for (let j = i * i; j < LIMIT; j += 2 * i) composite[j] = 1;
  }
  const WINDOW = 4096; // odd numbers sieved per random start

  return (bits, rounds, avoidFactor) => {
    const bytes = bits / 8;
    const toBytes = (x: bigint) => Buffer.from(x.toString(16).padStart(bytes * 2, "0"), "hex");
    const b64 = (x: bigint) => {
      const hex = x.toString(16);
      return Buffer.from(hex.length % 2 ? `0${hex}` : hex, "hex").toString("base64url");
    };
    const modPow = (base: bigint, exponent: bigint, modulus: bigint): bigint => {
      const key = crypto.createPublicKey({ key: { kty: "RSA", n: b64(modulus), e: b64(exponent) }, format: "jwk" });
      const out = crypto.publicEncrypt({ key, padding: crypto.constants.RSA_NO_PADDING }, toBytes(base));
      return BigInt(`0x${out.toString("hex")}`);
    };
    const random = (below: bigint) => BigInt(`0x${crypto.randomBytes(bytes + 8).toString("hex")}`) % below;
    // FIPS 186-5 B.3.1 (Miller–Rabin): w − 1 = 2^a·m with m odd; a random base b in [2, w − 2]; z = b^m; then square.
    const millerRabin = (w: bigint, count: number): boolean => {
      let m = w - 1n;
      let a = 0;
      while ((m & 1n) === 0n) {
        m >>= 1n;
        a++;
      }
      for (let round = 0; round < count; round++) {
        let z = modPow(2n + random(w - 3n), m, w);
        if (z === 1n || z === w - 1n) continue;
        let passed = false;
        for (let j = 1; j < a && !passed; j++) {
          z = (z * z) % w;
          if (z === 1n) return false;
          passed = z === w - 1n;
        }
        if (!passed) return false;
      }
      return true;
    };
    // base mod p from 32-bit limbs in plain numbers: r < 2^17 (65537 included), so r·2^32 + limb stays below 2^53.
    const residue = (limbs: Uint32Array, p: number) => {
      let r = 0;
      for (let i = 0; i < limbs.length; i++) r = (r * 4294967296 + limbs[i]!) % p;
      return r;
    };
    const sieve = new Uint8Array(WINDOW);
    for (;;) {
      const padded = Buffer.alloc(Math.ceil(bytes / 4) * 4);
      const start = padded.subarray(padded.length - bytes);
      crypto.randomFillSync(start);
      start[0] = (start[0] ?? 0) | 0xc0;
      start[bytes - 1] = (start[bytes - 1] ?? 0) | 1;
      const limbs = new Uint32Array(padded.length / 4);
      for (let i = 0; i < limbs.length; i++) limbs[i] = padded.readUInt32BE(4 * i);
      // Candidate k is start + 2k. For an odd prime p it is a multiple of p from k ≡ −r·2⁻¹ (mod p) on, every p.
      sieve.fill(0);
      for (const p of small) {
        const r = residue(limbs, p);
        for (let k = (((p - r) % p) * ((p + 1) / 2)) % p; k < WINDOW; k += p) sieve[k] = 1;
      }
      // p − 1 divisible by the avoided factor: start + 2k ≡ 1 (mod f).
      const f = avoidFactor;
      const rf = residue(limbs, f);
      for (let k = (((((1 - rf) % f) + f) % f) * ((f + 1) / 2)) % f; k < WINDOW; k += f) sieve[k] = 1;
      const base = BigInt(`0x${start.toString("hex")}`);
      for (let k = 0; k < WINDOW; k++) {
        if (sieve[k]) continue;
        const w = base + 2n * BigInt(k);
        if (w.toString(2).length !== bits) break; // ran past the top: a new start
        if (millerRabin(w, rounds)) return w.toString(16); // a composite almost always fails the first round
      }
    }
  };
}

interface Job {
  bits: number;
  resolve: (p: bigint) => void;
  reject: (err: Error) => void;
}

/**
 * A small pool of worker threads running `makePrimeSearch`. Workers start on the first request (a warm lab start makes
 * none), keep the process alive only while they have work, and are stopped after a moment without any.
 */
export class PrimePool {
  private readonly idle: Worker[] = [];
  private readonly busy = new Map<Worker, Job>();
  private readonly queue: Job[] = [];
  private workers = 0;
  private stopTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly size = Math.max(1, Math.min(availableParallelism(), 8)),
    private readonly idleMs = 500,
  ) {}

  /** A random probable prime of `bits` bits (see makePrimeSearch), p − 1 not divisible by 65537. */
  prime(bits: number): Promise<bigint> {
    if (bits % 8 !== 0 || bits < 64 || bits > MAX_SEARCH_BITS) {
      return Promise.reject(
        new Error(`cannot make a ${bits}-bit prime (multiples of 8 from 64 to ${MAX_SEARCH_BITS})`),
      );
    }
    clearTimeout(this.stopTimer);
    return new Promise((resolve, reject) => {
      this.queue.push({ bits, resolve, reject });
      this.dispatch();
    });
  }

  /** Stops every worker now; pending requests fail. */
  async close(): Promise<void> {
    clearTimeout(this.stopTimer);
    for (const job of this.queue.splice(0)) job.reject(new Error("prime pool closed"));
    const all = [...this.idle.splice(0), ...this.busy.keys()];
    for (const [, job] of this.busy) job.reject(new Error("prime pool closed"));
    this.busy.clear();
    this.workers = 0;
    await Promise.all(all.map((w) => w.terminate()));
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      let worker = this.idle.pop();
      if (!worker) {
        if (this.workers >= this.size) return;
        worker = this.spawn();
      }
      const job = this.queue.shift()!;
      this.busy.set(worker, job);
      worker.ref();
      worker.postMessage({ bits: job.bits, rounds: millerRabinRounds(job.bits), avoid: 65537 });
    }
    if (this.busy.size === 0) this.scheduleStop();
  }

  private spawn(): Worker {
    // getBuiltinModule (Node ≥ 20.16) works whether eval code runs as a script or, under --input-type=module, as a
    // module; older Nodes run it as a script, with require.
    const source = `"use strict";
const builtin = (name) => (process.getBuiltinModule ? process.getBuiltinModule(name) : require(name));
const { parentPort } = builtin("node:worker_threads");
const crypto = builtin("node:crypto");
const search = (${makePrimeSearch.toString()})(crypto);
parentPort.on("message", ({ bits, rounds, avoid }) => {
  parentPort.postMessage(search(bits, rounds, avoid));
});`;
    const worker = new Worker(source, { eval: true });
    this.workers++;
    worker.on("message", (hex: string) => {
      const job = this.busy.get(worker);
      this.busy.delete(worker);
      worker.unref();
      this.idle.push(worker);
      job?.resolve(BigInt(`0x${hex}`));
      this.dispatch();
    });
    worker.on("error", (err) => this.lose(worker, err));
    worker.on("exit", (code) => this.lose(worker, new Error(`prime worker exited with code ${code}`)));
    return worker;
  }

  /** A worker died: fail its job, forget it, and let the queue start a new one. */
  private lose(worker: Worker, err: Error): void {
    const job = this.busy.get(worker);
    const wasIdle = this.idle.indexOf(worker);
    if (!job && wasIdle < 0) return; // already accounted for (close, or error followed by exit)
    this.busy.delete(worker);
    if (wasIdle >= 0) this.idle.splice(wasIdle, 1);
    this.workers--;
    job?.reject(err);
    this.dispatch();
  }

  private scheduleStop(): void {
    clearTimeout(this.stopTimer);
    if (this.workers === 0) return;
    this.stopTimer = setTimeout(() => {
      if (this.busy.size > 0 || this.queue.length > 0) return;
      const all = this.idle.splice(0);
      this.workers -= all.length;
      for (const w of all) {
        w.removeAllListeners("exit");
        void w.terminate();
      }
    }, this.idleMs);
    this.stopTimer.unref();
  }
}
