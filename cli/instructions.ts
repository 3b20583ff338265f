// What `danelab up` prints once the lab runs: the scenario table and the exact lines that point a client MTA at it
// (resolv.conf, Debian's Exim, Postfix). Facts behind the lines: shared/design/real-clients.md.

import type { Manifest } from "../lab/manifest.js";
import { withoutTrailingDot } from "../zones/names.js";

export function scenarioTable(manifest: Manifest): string {
  const rows = manifest.scenarios.map((s) => [
    s.id,
    s.recipient,
    s.mx.map((m) => `${withoutTrailingDot(m.host)} ${m.addresses.join(",")}`).join("; "),
    s.tlsa.length ? s.tlsa.map(shortTlsa).join(" ") : "(none)",
    s.expect,
  ]);
  return table(["scenario", "recipient", "MX host and address", "TLSA", "expect"], rows);
}

/** "_25._tcp.mx.x. 300 IN TLSA 2 1 1 abcdef…" → "2 1 1 abcdef12…". */
function shortTlsa(record: string): string {
  const m = /TLSA (\d+ \d+ \d+) ([0-9a-f]+)/i.exec(record);
  return m ? `${m[1]} ${m[2]!.slice(0, 8)}…` : record;
}

export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

/**
 * `cli` is how the user runs danelab: "npx danelab" from a checkout (npm run lab, npx), "danelab" when installed.
 */
export function clientInstructions(manifest: Manifest, cli = "danelab"): string {
  const dns = manifest.dns.resolver ?? { address: manifest.dns.address, port: manifest.dns.port };
  const mode = manifest.dns.resolver
    ? `a real validating unbound at ${dns.address} (the lab's DNS at ${manifest.dns.address} answers it authoritatively)`
    : `the lab's own DNS at ${dns.address}, in resolver mode (it validates its own zones and sets AD)`;
  const suffix = withoutTrailingDot(manifest.suffix);
  const portNote =
    dns.port === 53
      ? ""
      : `\n  NOTE: the DNS listens on port ${dns.port}; resolv.conf cannot name a port, so MTAs need port 53.`;
  const reset = manifest.http
    ? `\n  Greylisting remembers your MTA's address; to be greylisted again on the next run:\n    curl -X POST -H 'content-type: application/json' -d '{"address":"<MTA address>"}' ${manifest.http.url}/api/greylist/reset`
    : "";
  return `Point your MTA at the lab — its DNS is ${mode}:${portNote}
  /etc/resolv.conf:  nameserver ${dns.address}
                     options trust-ad edns0      (glibc strips the AD bit without trust-ad, and MTAs then skip DANE)
  The exact files for a default Debian Exim or Postfix, with how to apply, retry and undo them:
    ${cli} instructions --mta exim      (or postfix, or resolver; add --out DIR to write them as a tree for 'cp -a DIR/. /')
  Then send one message per scenario through it and watch the verdicts:
    ${cli} send --run 1 --via sendmail          (recipients run-1@<scenario>.${suffix})
    ${cli} watch --run 1                        (or: ${cli} report --run 1)${reset}`;
}
