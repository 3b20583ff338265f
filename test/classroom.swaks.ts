// A minimal mail client built from a stub resolver and swaks, for the classroom test: it behaves like a correct MTA without DANE
// (a Postfix with `smtp_tls_security_level = may` is the model) so that thirty of them can run the whole catalogue
// at once, each from its own source address with its own run id.
// What it does per scenario, and why:
// - Looks up the MX (RFC 5321 §5.1; no MX → the domain's own address) and each host's A record at the lab's DNS, from
//   its source address (node:dns Resolver.setLocalAddress), with the RD bit, so the lab answers as a validating resolver: a bogus or
//   unanswerable answer (SERVFAIL) is a temporary failure and the message waits (RFC 7672 §2.1.1 asks the same).
// - Tries the hosts in preference order (RFC 5321 §5.1), STARTTLS whenever offered (swaks -tlsos: a failed handshake
//   ends that attempt; no STARTTLS → cleartext), and moves to the next host when one cannot be reached or refuses
//   temporarily.
// - Retries a temporary failure (421 greeting, 4xx reply, DNS SERVFAIL) in rounds after fixed waits (RFC 5321
//   §4.5.4.1), like an MTA's queue runner; a 5xx is final.
// What it cannot do: DANE. It never looks up TLSA records and accepts any certificate, so it delivers where an RFC
// 7672 client must not (the no-delivery scenarios whose DNS resolves). That is this client's fault, by design, and
// the test says which scenarios that is.
import { execFile } from "node:child_process";
import { Resolver } from "node:dns/promises";
import { promisify } from "node:util";
import { withoutTrailingDot } from "../zones/names.js";

const run = promisify(execFile);

export interface SwaksTarget {
  id: string;
  domain: string;
}

export type AttemptResult =
  | { kind: "delivered"; tls: boolean; queueId: string; server: string }
  | { kind: "temporary"; detail: string }
  | { kind: "final"; detail: string };

export interface ScenarioOutcome {
  scenario: string;
  result: AttemptResult;
  /** SMTP connections this client opened for the scenario (each swaks run is one). */
  connections: number;
  /** Delivery attempts (rounds) it took. */
  attempts: number;
}

export interface SwaksClient {
  source: string;
  runId: string;
  dns: { address: string; port: number };
  smtpPort: number;
  /** Waits before each retry round (ms). */
  retryDelaysMs: number[];
}

/** A stub resolver bound to the client's source address, so the lab sees (and attributes) its queries. */
function resolverOf(c: SwaksClient): Resolver {
  const r = new Resolver({ timeout: 5_000, tries: 2 });
  r.setLocalAddress(c.source);
  r.setServers([`${c.dns.address}:${c.dns.port}`]);
  return r;
}

/** c-ares error codes: no such name / no records of that type are answers; anything else is temporary. */
const ANSWERED = new Set(["ENOTFOUND", "ENODATA"]);

/** The hosts to try in order, as [host, address]; `temporary` = a DNS failure that must be retried. */
async function route(c: SwaksClient, domain: string): Promise<{ hosts: string[][] } | { temporary: string }> {
  const dns = resolverOf(c);
  const name = withoutTrailingDot(domain);
  let names: string[];
  try {
    names = (await dns.resolveMx(name)).sort((x, y) => x.priority - y.priority).map((m) => m.exchange);
  } catch (err) {
    const code = (err as { code?: string }).code ?? "?";
    if (code === "ENOTFOUND") return { temporary: `MX ${name}: NXDOMAIN` };
    if (!ANSWERED.has(code)) return { temporary: `MX ${name}: ${code}` };
    names = [name]; // RFC 5321 §5.1: no MX records → the domain itself is the host
  }
  const hosts: string[][] = [];
  let lastError = "";
  for (const host of names) {
    try {
      for (const addr of await dns.resolve4(host)) hosts.push([host, addr]);
    } catch (err) {
      lastError = `A ${host}: ${(err as { code?: string }).code ?? "?"}`;
    }
  }
  return hosts.length ? { hosts } : { temporary: lastError || `no address for ${names.join(", ")}` };
}

async function swaks(c: SwaksClient, s: SwaksTarget, address: string): Promise<AttemptResult> {
  const rcpt = `run-${c.runId}@${withoutTrailingDot(s.domain)}`;
  const { stdout } = await run(
    "swaks",
    [
      ...["--server", address, "--port", String(c.smtpPort), "--local-interface", c.source, "-tlsos"],
      ...["--ehlo", `client-${c.runId}.example`, "--from", `sender@client-${c.runId}.example`, "--to", rcpt],
      ...["--header", `Subject: classroom ${c.runId} ${s.id}`, "--body", `classroom run ${c.runId}, ${s.id}`],
      ...["--timeout", "20"],
    ],
    { timeout: 60_000 },
  ).catch((err: { stdout?: string }) => ({ stdout: err.stdout ?? "" }));
  const queued = /^<[-~] {1,2}250 \S+ Ok: queued as (\S+)/m.exec(stdout);
  if (queued) {
    return { kind: "delivered", tls: /=== TLS started/.test(stdout), queueId: queued[1]!, server: address };
  }
  // swaks marks an unexpected reply "<** " (or "<~* " inside TLS); the first such reply decides.
  const reply = /^<[~*]\* {1,2}([245])\d\d.*$/m.exec(stdout);
  if (reply?.[1] === "4") return { kind: "temporary", detail: reply[0] };
  if (reply?.[1] === "5") return { kind: "final", detail: reply[0] };
  const last = stdout.trim().split("\n").filter(Boolean).slice(-2).join(" | ");
  return { kind: "temporary", detail: `no delivery: ${last || "swaks printed nothing"}` };
}

/** One scenario: a round tries every host in order; temporary failures wait for the next round. */
export async function deliver(c: SwaksClient, s: SwaksTarget): Promise<ScenarioOutcome> {
  let connections = 0;
  let result: AttemptResult = { kind: "temporary", detail: "not tried" };
  const waits = [0, ...c.retryDelaysMs];
  let attempts = 0;
  for (const wait of waits) {
    if (wait) await new Promise((r) => setTimeout(r, wait));
    attempts++;
    const r = await route(c, s.domain);
    if ("temporary" in r) {
      result = { kind: "temporary", detail: r.temporary };
      continue;
    }
    for (const [, address] of r.hosts) {
      connections++;
      result = await swaks(c, s, address!);
      if (result.kind !== "temporary") break;
    }
    if (result.kind !== "temporary") break;
  }
  return { scenario: s.id, result, connections, attempts };
}

/** All scenarios of one run, a few at a time (an MTA's parallel deliveries); the retry waits overlap. */
export async function deliverRun(c: SwaksClient, scenarios: SwaksTarget[], parallel = 4): Promise<ScenarioOutcome[]> {
  const out: ScenarioOutcome[] = new Array(scenarios.length);
  let next = 0;
  const worker = async () => {
    while (next < scenarios.length) {
      const i = next++;
      out[i] = await deliver(c, scenarios[i]!);
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  return out;
}
