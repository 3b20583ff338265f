// What every client-MTA driver offers (Exim, Postfix), and the delivery loop they share: submit one message per
// scenario, then a few forced retry rounds with short waits — bounded, so a scenario that must never deliver
// (`no-delivery`) costs seconds, and greylisting scenarios (the lab refuses the first connections, or the first RCPT
// for ~10 s) get their retries without waiting for an MTA's real retry schedule (minutes to hours).
import type { ClientOutcome } from "./outcome.js";

/** The client side's own mail domain (RFC 2606 `.invalid`): bounces end in the container, never leave it. */
export const SENDER_DOMAIN = "client.danelab.invalid";

export interface DriverOptions {
  /** The run id in `run-<runId>@<scenario domain>`, e.g. "20261129T0700-exim-strict". */
  runId: string;
  /** The DNS server written into the container's resolv.conf (the lab's DNS, or its validating resolver). */
  nameserver: string;
  /** The lab's DNS suffix ("lab.example"): Postfix probes DNSSEC support with `ns:<suffix>`. */
  suffix: string;
  /** Source address of the MTA's SMTP connections (each client its own, so the lab can tell them apart). */
  sourceAddress?: string;
  /** Host directory for per-client files (resolv.conf). */
  workDir: string;
  image?: string;
  /** The lab's DNSSEC root trust anchor (DS and DNSKEY lines): probe tools that read a root.key file get it. */
  trustAnchors?: string[];
  /** Exim only: `dane_require_tls_ciphers` (Debian bug #1075900 workaround: "NORMAL:%COMPAT"). */
  eximDaneCiphers?: string;
  log?: (line: string) => void;
}

export interface MtaDriver {
  /** "exim-strict", "exim-try", "postfix". */
  variant: string;
  start(): Promise<void>;
  /** Submits one message per recipient and returns after the first delivery attempt of each. */
  submit(recipients: string[]): Promise<void>;
  /** Forces an immediate retry of everything still queued; returns how many messages were retried. */
  retry(): Promise<number>;
  /** Messages still in the queue. */
  queued(): Promise<number>;
  /** Client-side outcomes from the MTA's own log. */
  outcomes(recipients: string[]): Promise<Map<string, ClientOutcome>>;
  rawLog(): Promise<string>;
  stop(): Promise<void>;
}

/** The message body every driver sends: small, with the run in the subject so a human finds it in the lab's store. */
export function testMessage(runId: string, variant: string): string {
  return (
    `Subject: danelab check run ${runId} (${variant})\n` +
    `X-Danelab-Run: ${runId}\n` +
    "\n" +
    `Test message from danelab's client matrix: ${variant}, run ${runId}.\n`
  );
}

export interface DeliveryTimings {
  /** ms from submission until the first attempts were done. */
  firstAttemptMs: number;
  /** ms of the whole loop, retries included. */
  totalMs: number;
  rounds: number;
}

/**
 * Submit, then retry while anything is queued: after each wait in `retryDelaysMs` one forced round. Default waits
 * 3 s, 8 s, 12 s: three retries within ~25 s, past the catalogue's 10 s RCPT greylisting.
 */
export async function deliverAll(
  driver: MtaDriver,
  recipients: string[],
  opts: { retryDelaysMs?: number[]; log?: (line: string) => void } = {},
): Promise<DeliveryTimings> {
  const delays = opts.retryDelaysMs ?? [3_000, 8_000, 12_000];
  const t0 = performance.now();
  await driver.submit(recipients);
  const firstAttemptMs = Math.round(performance.now() - t0);
  let queued = await driver.queued();
  opts.log?.(`${driver.variant}: first attempts done in ${(firstAttemptMs / 1000).toFixed(1)} s, ${queued} queued`);
  let rounds = 1;
  for (const delay of delays) {
    if (queued === 0) break;
    await sleep(delay);
    await driver.retry();
    rounds++;
    queued = await driver.queued();
    opts.log?.(`${driver.variant}: retry round ${rounds - 1} done, ${queued} still queued`);
  }
  return { firstAttemptMs, totalMs: Math.round(performance.now() - t0), rounds };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
