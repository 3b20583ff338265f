// What `danelab up` prints once the lab runs: the scenario table and the exact lines that point a client MTA at it
// (resolv.conf, Debian's Exim, Postfix). Facts behind the lines: shared/design/real-clients.md.
import type { Manifest } from "./manifest.js";

export function scenarioTable(manifest: Manifest): string {
  const rows = manifest.scenarios.map((s) => [
    s.id,
    s.recipient,
    s.mx.map((m) => `${m.host.replace(/\.$/, "")} ${m.addresses.join(",")}`).join("; "),
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

export function clientInstructions(manifest: Manifest): string {
  const dns = manifest.dns.resolver ?? { address: manifest.dns.address, port: manifest.dns.port };
  const mode = manifest.dns.resolver
    ? `a real validating unbound at ${dns.address} (the lab's DNS at ${manifest.dns.address} answers it authoritatively)`
    : `the lab's own DNS at ${dns.address}, in resolver mode (it validates its own zones and sets AD)`;
  const suffix = manifest.suffix.replace(/\.$/, "");
  const portNote =
    dns.port === 53
      ? ""
      : `\n# NOTE: the DNS listens on port ${dns.port}; resolv.conf cannot name a port, so MTAs need port 53.`;
  return `Point a client MTA at the lab — DNS goes to ${mode}:${portNote}

  /etc/resolv.conf (glibc strips the AD bit unless trust-ad is set, and MTAs then skip DANE):
    nameserver ${dns.address}
    options trust-ad edns0

  Debian's Exim (exim4-daemon-light; split or non-split config), in /etc/exim4/update-exim4.conf.conf or a macro file:
    ROUTER_DNSLOOKUP_IGNORE_TARGET_HOSTS = 0.0.0.0      # Debian ignores MX targets in 127/8 by default
    # and in the main section / dnslookup router / remote_smtp transport:
    dns_dnssec_ok = 1
    dnssec_request_domains = *                         # router dnslookup
    hosts_try_dane = *                                 # transport remote_smtp (or hosts_require_dane = * for strict)
  After a deferral Exim waits for its retry time: run 'exim -qff' to retry now.

  Postfix main.cf:
    smtp_dns_support_level = dnssec
    smtp_tls_security_level = dane
    smtp_host_lookup = dns
    dnssec_probe = ns:${suffix}
  (and 'postqueue -f' to retry now)

  Send one message per scenario to run-<yourrun>@<scenario>.${suffix} (e.g. run-1@ta-baseline.${suffix}), then:
    danelab report --run 1${manifest.http ? `      or  curl '${manifest.http.url}/api/report?run=1&format=table'` : ""}${
      manifest.http
        ? `
  Greylisting remembers your MTA's address; to be greylisted again on the next run:
    curl -X POST -H 'content-type: application/json' -d '{"address":"<MTA address>"}' ${manifest.http.url}/api/greylist/reset`
        : ""
    }`;
}
