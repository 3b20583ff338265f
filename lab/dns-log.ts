// Turns the DNS server's per-query hook into a few events for the log: which client looked up which scenario's MX,
// address or TLSA records, and what it was told. The grader uses them to tell "the client looked the scenario up and
// chose not to connect" (right for a bogus TLSA RRset) from "never tried". Repeats of the same (client, name, type,
// answer) within a minute are folded into the first one, so a resolver's retries or a benchmark's flood cannot bloat
// the log or slow the DNS path.
import type { DnsQueryEvent } from "./dns/server.js";
import type { EventLog } from "./events.js";

/** Repeats within this window are folded (the DNS server is told the same, so it need not report them at all). */
export const DNS_FOLD_MS = 60_000;

export function dnsQueryRecorder(events: EventLog, suffix: string, scenarioIds: Set<string>) {
  const lastSeen = new Map<string, number>();
  const tail = `.${suffix}`;
  return (q: DnsQueryEvent) => {
    if (!q.name.endsWith(tail)) return;
    const labels = q.name.slice(0, -tail.length).split(".");
    const scenario = labels.at(-1)!;
    if (!scenarioIds.has(scenario)) return;
    const key = `${q.client} ${q.name} ${q.type} ${q.rcode} ${q.ad}`;
    const now = Date.now();
    const seen = lastSeen.get(key);
    if (seen !== undefined && now - seen < DNS_FOLD_MS) return;
    if (lastSeen.size > 10_000) lastSeen.clear();
    lastSeen.set(key, now);
    events.recordDnsQuery({ ...q, scenario, session: `dns-${q.client}`, listener: "dns" });
  };
}
