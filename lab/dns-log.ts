// Turns the DNS server's per-query hook into a few events for the log: which client looked up which scenario's MX,
// address or TLSA records, and what it was told. The grader uses them to tell "the client looked the scenario up and
// chose not to connect" (right for a bogus TLSA RRset) from "never tried". Repeats of the same (client, name, type,
// answer) within a minute are folded into the first one, so a resolver's retries or a benchmark's flood cannot bloat
// the log or slow the DNS path. Names are folded too: past NAMES_PER_ZONE distinct names per (client, scenario, type)
// in a minute, further names (random labels: a cache-busting flood, a wildcard probe) count as one name, `*.<zone>`.
import type { DnsQueryEvent } from "./dns/server.js";
import type { EventLog } from "./events.js";

/** Repeats within this window are folded (the DNS server is told the same, so it need not report them at all). */
export const DNS_FOLD_MS = 60_000;
/** Distinct names logged per (client, scenario, type) within DNS_FOLD_MS; more are folded into one. */
export const NAMES_PER_ZONE = 16;

export function dnsQueryRecorder(events: EventLog, suffix: string, scenarioIds: Set<string>) {
  const lastSeen = new Map<string, number>();
  const names = new Map<string, { since: number; count: number }>();
  const tail = `.${suffix}`;
  return (q: DnsQueryEvent) => {
    if (!q.name.endsWith(tail)) return;
    const labels = q.name.slice(0, -tail.length).split(".");
    const scenario = labels.at(-1)!;
    if (!scenarioIds.has(scenario)) return;
    const now = Date.now();
    let key = `${q.client} ${q.name} ${q.type} ${q.rcode} ${q.ad}`;
    let seen = lastSeen.get(key);
    if (seen !== undefined && now - seen < DNS_FOLD_MS) return;
    const zoneKey = `${q.client} ${scenario} ${q.type}`;
    let zone = names.get(zoneKey);
    if (!zone || now - zone.since >= DNS_FOLD_MS) {
      zone = { since: now, count: 0 };
      names.set(zoneKey, zone);
    }
    let folded = false;
    if (zone.count >= NAMES_PER_ZONE) {
      key = `${q.client} *.${scenario} ${q.type} ${q.rcode} ${q.ad}`;
      seen = lastSeen.get(key);
      if (seen !== undefined && now - seen < DNS_FOLD_MS) return;
      folded = true;
    } else {
      zone.count += 1;
    }
    if (lastSeen.size > 10_000) lastSeen.clear();
    if (names.size > 10_000) names.clear();
    lastSeen.set(key, now);
    events.recordDnsQuery({
      ...q,
      scenario,
      session: `dns-${q.client}`,
      listener: "dns",
      ...(folded ? { folded: `more than ${NAMES_PER_ZONE} names under this scenario within a minute` } : {}),
    });
  };
}
