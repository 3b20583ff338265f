// Exim as a DANE client (Debian's exim4-daemon-light: Exim 4.96 built with GnuTLS — the MTA of Debian bug #1075900),
// in a container. The driver writes a complete /etc/exim4/exim4.conf (it overrides Debian's generated one), submits
// one message per scenario with `exim -odi`, retries with `exim -M <id>` (ignores retry times), and reads the main
// log.
//
// Two modes, because they answer different questions:
// - `try` — Debian's default-ish `hosts_try_dane = *`: DANE when the TLSA lookup is secure, opportunistic TLS
//   otherwise. What most Exim installations do.
// - `strict` — `hosts_require_dane = *` and `dnssec_require_domains = *`: every destination must be DNSSEC-signed and
//   have TLSA records, so insecure scenarios bounce ("DANE error: tlsa lookup FAIL"). Useful to see the DANE path
//   fail loudly.
// DANE needs DNSSEC-validated answers (RFC 7672 §2.1): `dns_dnssec_ok = 1` sets the DO bit, the router requests
// DNSSEC, and resolv.conf carries `options trust-ad` (clients/container.ts) so glibc passes the AD bit on.
import { type ClientContainer, type ClientContainerSpec, clientImage, DriverContainer } from "./container.js";
import { type DriverOptions, type MtaDriver, SENDER_DOMAIN, testMessage } from "./driver.js";
import { parseEximLog } from "./exim-log.js";
import type { ClientOutcome } from "./outcome.js";
import { CheckInputError, type PreparedConfig } from "./user-config.js";

export type EximMode = "strict" | "try";

export interface EximConfigOptions {
  mode: EximMode;
  /** Source address of outgoing SMTP connections (lets the lab tell clients apart). */
  sourceAddress?: string;
  /** Workaround for Debian bug #1075900's cipher choice, known to work: `NORMAL:%COMPAT`. */
  daneRequireTlsCiphers?: string;
  hostname?: string;
}

/**
 * `dane_require_tls_ciphers` is pasted into exim.conf and expanded by Exim, so only a GnuTLS priority string may pass:
 * keywords and names ([A-Za-z0-9_.-]) joined by `:` with the `+ - ! %` modifiers, `@` for system keywords and `,` for
 * their fallback lists (GnuTLS manual, "Priority strings"). No white space, newlines, `$`, braces or backslashes: they
 * would end the option or reach Exim's string expansion.
 */
export function checkGnutlsPriority(value: string): string {
  const v = value.trim();
  const bad = [...v].find((ch) => !/[A-Za-z0-9_.:+\-!%@,]/.test(ch));
  if (!v || bad !== undefined || v.length > 300) {
    const what = !v
      ? "is empty"
      : bad !== undefined
        ? `contains ${JSON.stringify(bad)}`
        : `is ${v.length} characters long (more than 300)`;
    throw new CheckInputError(
      `--exim-dane-ciphers ${what}: it must be a GnuTLS priority string — keywords joined by ':' with the ` +
        "modifiers + - ! %, e.g. 'NORMAL:%COMPAT' (the known workaround for Debian bug #1075900). It is written " +
        "into Exim's configuration, so spaces, newlines, '$', braces and backslashes are refused.",
    );
  }
  return v;
}

/** The whole exim4.conf for a DANE client: pure, so tests can read it. */
export function eximConfig(o: EximConfigOptions): string {
  const strict = o.mode === "strict";
  const hostname = o.hostname ?? `exim-${o.mode}.${SENDER_DOMAIN}`;
  return `# Exim DANE client for danelab (clients/exim.ts), mode ${o.mode}.
primary_hostname = ${hostname}
domainlist local_domains = ${SENDER_DOMAIN}
qualify_domain = ${SENDER_DOMAIN}
log_file_path = /var/log/exim4/%slog
# CV=dane|yes|no and the SNI sent are the client-side evidence.
log_selector = +tls_certificate_verified +tls_peerdn +tls_sni +outgoing_interface +deliver_time +smtp_protocol_error
# RFC 7672 §2.1: DANE only on DNSSEC-validated data; DO bit on every query.
dns_dnssec_ok = 1
dns_retrans = 2s
dns_retry = 2
keep_environment =
# Bounces go to the local sender domain and vanish there; failed bounces are not kept.
ignore_bounce_errors_after = 0s
timeout_frozen_after = 1h

begin routers

# The sender's own domain: bounces and warnings end here.
client_local:
  driver = redirect
  domains = +local_domains
  data = :blackhole:

dnslookup:
  driver = dnslookup
  domains = ! +local_domains
  transport = remote_smtp
  # Debian's stock config ignores MX targets in 127/8; the lab lives there.
  ignore_target_hosts = 0.0.0.0
  dnssec_request_domains = *
${strict ? "  dnssec_require_domains = *\n" : ""}  no_more

begin transports

remote_smtp:
  driver = smtp
${o.sourceAddress ? `  interface = ${o.sourceAddress}\n` : ""}  connect_timeout = 15s
  # RFC 7672 §2.2: with usable TLSA records, TLS with authentication by them is mandatory.
${strict ? "  hosts_require_dane = *\n" : "  hosts_try_dane = *\n"}${o.daneRequireTlsCiphers ? `  dane_require_tls_ciphers = ${checkGnutlsPriority(o.daneRequireTlsCiphers)}\n` : ""}
begin retry

*  *  F,2h,1m

begin rewrite

begin authenticators
`;
}

/** Recipients are passed as arguments; each gets its own `exim -odi` (synchronous first attempt), in parallel. */
const SUBMIT = `for r in "$@"; do exim -odi -f "$SENDER" "$r" < /danelab/message & done; wait`;
/** Forced retry of everything still queued (`-M` ignores retry times), in parallel. */
const RETRY = `ids=$(exim -bp | awk 'NF >= 3 && $3 ~ /^[0-9A-Za-z]+-[0-9A-Za-z]+-[0-9A-Za-z]+$/ { print $3 }')
for id in $ids; do exim -M "$id" & done; wait; echo $ids | wc -w`;

/** `variant` names the column (its container label and work directory); default "exim-<mode>". */
export function eximDriver(mode: EximMode, options: DriverOptions, variant = `exim-${mode}`): MtaDriver {
  const conf = eximConfig({
    mode,
    ...(options.sourceAddress ? { sourceAddress: options.sourceAddress } : {}),
    ...(options.eximDaneCiphers ? { daneRequireTlsCiphers: options.eximDaneCiphers } : {}),
  });
  return eximContainerDriver(variant, options, {
    files: [{ target: "/etc/exim4/exim4.conf", content: conf }],
    async prepare(c) {
      // A config error would otherwise show up as every delivery failing.
      const check = await c.exec(["exim", "-bV"]);
      if (check.exitCode !== 0) {
        throw new Error(`${variant}: Exim rejects the generated /etc/exim4/exim4.conf: ${check.stdout}${check.stderr}`);
      }
      return "/var/log/exim4/mainlog";
    },
  });
}

/**
 * A mail admin's own Debian Exim configuration (`--exim-config`): the edited copy (clients/user-config.ts) is mounted
 * at /etc/exim4 and Debian's `update-exim4.conf` generates the configuration in the container, as on the user's host
 * — split or not, with the user's macros, routers and transports. Submission, retries and the log are as above.
 */
export function eximUserDriver(config: PreparedConfig, variant: string, options: DriverOptions): MtaDriver {
  return eximContainerDriver(variant, options, {
    files: [],
    mounts: [{ source: config.copy, target: "/etc/exim4" }],
    async prepare(c) {
      // Debian's generator, as `dpkg-reconfigure exim4-config` or the package's postinst would run it.
      const gen = await c.sh("update-exim4.conf --verbose 2>&1");
      const check = gen.exitCode === 0 ? await c.sh("exim -bV 2>&1 >/dev/null") : gen;
      if (gen.exitCode !== 0 || check.exitCode !== 0) {
        throw new CheckInputError(
          `${gen.exitCode !== 0 ? "update-exim4.conf" : "Exim"} rejects the configuration from ` +
            `${config.source} (with the lab's changes; the edited copy is ${config.copy}): ` +
            `${(gen.exitCode !== 0 ? gen.stdout : check.stdout).trim().split("\n").slice(-3).join(" / ")}. ` +
            "Fix it in your configuration (`update-exim4.conf && exim -bV` on your host shows the same error).",
        );
      }
      // The main log is where the user's log_file_path says; "syslog" alone leaves nothing to read.
      const path = (await c.sh("exim -bP log_file_path")).stdout.replace(/^.*=\s*/, "").trim();
      const file = path.split(":").find((p) => p.includes("%s"));
      if (path && !file) {
        throw new CheckInputError(
          `Your configuration logs to "${path}" only; the check reads Exim's main log file. Add a file path ` +
            "(e.g. log_file_path = /var/log/exim4/%slog : syslog) to MAIN_LOG_FILE_PATH or log_file_path.",
        );
      }
      // CV= (tls_certificate_verified) and X= (tls_cipher) are how the main log says a delivery was DANE, TLS or not.
      const selector = (await c.sh("exim -bP log_selector")).stdout;
      const dropped = ["tls_certificate_verified", "tls_cipher"].filter((s) => selector.includes(`-${s}`));
      if (dropped.length > 0)
        options.log?.(
          `${variant}: your log_selector turns off ${dropped.join(" and ")}: the client-side cells cannot tell DANE ` +
            "from other TLS (the lab's grades are not affected).",
        );
      return file ? file.replace("%s", "main") : "/var/log/exim4/mainlog";
    },
  });
}

/** Messages this check submitted still on the queue (bounces, sender <>, are not ours to wait for). */
const QUEUED_OURS = `exim -bp | awk -v s="<$SENDER>" 'NF >= 4 && $4 == s { n++ } END { print n + 0 }'`;

/** One Exim in a container: `prepare` checks the configuration once it runs and says where the main log is. */
function eximContainerDriver(
  variant: string,
  options: DriverOptions,
  spec: Pick<ClientContainerSpec, "files" | "mounts"> & { prepare: (c: ClientContainer) => Promise<string> },
): MtaDriver {
  const box = new DriverContainer(variant, options);
  let mainlog = "/var/log/exim4/mainlog";
  const sender = `SENDER=sender@${SENDER_DOMAIN};`;
  return {
    variant,
    async start() {
      const container = await box.start({
        image: options.image ?? clientImage("exim"),
        command: ["sleep", "infinity"],
        files: [...spec.files, { target: "/danelab/message", content: testMessage(options.runId, variant) }],
        ...(spec.mounts ? { mounts: spec.mounts } : {}),
        readyCommand: "true",
      });
      mainlog = await spec.prepare(container);
    },
    async submit(recipients) {
      const r = await box.need().sh(`${sender} ${SUBMIT}`, ...recipients);
      if (r.exitCode !== 0 && r.stderr.trim())
        options.log?.(`${variant}: exim -odi: ${r.stderr.trim().split("\n")[0]}`);
    },
    async retry() {
      const r = await box.need().sh(RETRY);
      return Number.parseInt(r.stdout.trim().split("\n").pop() ?? "0", 10) || 0;
    },
    async queued() {
      const r = await box.need().sh(`${sender} ${QUEUED_OURS}`);
      return Number.parseInt(r.stdout.trim(), 10) || 0;
    },
    async outcomes(recipients): Promise<Map<string, ClientOutcome>> {
      return parseEximLog(await box.need().readFile(mainlog), recipients);
    },
    async rawLog() {
      return box.need().readFile(mainlog);
    },
    stop: () => box.stop(),
  };
}
