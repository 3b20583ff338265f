// Postfix as a DANE client (Debian's postfix 3.7 built with OpenSSL 3.0), in a container. The driver writes main.cf,
// removes the SMTP server from master.cf (the container shares the host's network: it must not listen on port 25),
// turns chroot off (so the smtp client reads the bind-mounted resolv.conf), runs `postfix start-fg`, submits with
// `sendmail`, retries with `postqueue -f` and reads `maillog_file`.
//
// DANE settings (postconf(5), TLS_README "DANE"): `smtp_tls_security_level = dane` needs
// `smtp_dns_support_level = dnssec`; Postfix checks that the resolver passes the AD bit by probing `dnssec_probe`
// (default `ns:.`, which the lab does not serve — so `ns:<lab suffix>`). RFC 7672 §2.2: with usable TLSA records
// delivery is only over authenticated TLS; with insecure DNS Postfix falls back to opportunistic TLS ("may").

import { withoutTrailingDot } from "../zones/names.js";
import { type ClientContainer, type ClientContainerSpec, clientImage, DriverContainer } from "./container.js";
import { type DriverOptions, type MtaDriver, SENDER_DOMAIN, sleep, testMessage } from "./driver.js";
import type { ClientOutcome } from "./outcome.js";
import { parsePostfixLog } from "./postfix-log.js";
import type { PreparedConfig } from "./user-config.js";

export const POSTFIX_LOG = "/var/log/postfix.log";

export interface PostfixConfigOptions {
  /** The lab's suffix, without trailing dot: `dnssec_probe = ns:<suffix>`. */
  suffix: string;
  sourceAddress?: string;
  hostname?: string;
}

/** main.cf for a DANE client: pure, so tests can read it. */
export function postfixMainCf(o: PostfixConfigOptions): string {
  const hostname = o.hostname ?? `postfix.${SENDER_DOMAIN}`;
  const suffix = withoutTrailingDot(o.suffix);
  return `# Postfix DANE client for danelab (clients/postfix.ts).
compatibility_level = 3.6
myhostname = ${hostname}
mydomain = ${SENDER_DOMAIN}
myorigin = ${SENDER_DOMAIN}
# Bounces to the sender's own domain are discarded in the container.
mydestination = ${SENDER_DOMAIN}, ${hostname}, localhost
local_transport = discard:
local_recipient_maps =
alias_maps =
alias_database =
relayhost =
inet_interfaces = loopback-only
inet_protocols = ipv4
${o.sourceAddress ? `smtp_bind_address = ${o.sourceAddress}\n` : ""}biff = no
append_dot_mydomain = no
maillog_file = ${POSTFIX_LOG}
smtp_host_lookup = dns
smtp_connect_timeout = 15s
# RFC 7672: DANE. "dane" needs DNSSEC-validated lookups; the probe checks that the resolver passes AD.
smtp_dns_support_level = dnssec
dnssec_probe = ns:${suffix}
smtp_tls_security_level = dane
smtp_tls_loglevel = 1
smtp_tls_note_starttls_offer = yes
# No connection reuse across scenarios, no caching of TLS sessions between retries of one scenario.
smtp_connection_cache_on_demand = no
smtp_tls_session_cache_database =
`;
}

/** Container start: config tweaks that need postconf, then the master in the foreground. */
/**
 * The package leaves some queue directories for postfix-script's create-missing step, which quick-start skips: hold
 * and trace on Debian 12 (showq dies without hold), all of them on Debian 13 (its image is installed with daemons
 * held back, so the first start never ran). Without them `postfix start-fg` exits at once.
 */
const CREATE_MISSING = `[ -d /var/spool/postfix/active ] || postfix post-install create-missing
install -d -o postfix -g root -m 700 /var/spool/postfix/hold /var/spool/postfix/trace`;

export const POSTFIX_START = `set -e
postconf -F '*/*/chroot = n'
postconf -MX smtp/inet || true
${CREATE_MISSING}
exec postfix start-fg`;

const SUBMIT = `for r in "$@"; do (sendmail -f "$SENDER" "$r" < /danelab/message || echo "sendmail failed for $r" >&2) & done; wait`;

/**
 * Queue entries by queue: postqueue -j prints one JSON object per message. Bounces (sender "") are not counted: a
 * user's configuration sends them towards the sender's `.invalid` domain, where they wait, and the check does not.
 */
async function queueState(c: ClientContainer): Promise<{ total: number; busy: number }> {
  const r = await c.exec(["postqueue", "-j"]);
  let total = 0;
  let busy = 0;
  for (const line of r.stdout.split("\n")) {
    if (!line.trim()) continue;
    try {
      const entry = JSON.parse(line) as { queue_name?: string; sender?: string };
      if (entry.sender === "") continue;
      total++;
      if (entry.queue_name !== "deferred" && entry.queue_name !== "hold") busy++;
    } catch {
      // partial line: ignore
    }
  }
  return { total, busy };
}

/** Number of `status=` lines in the log so far (one per finished attempt per recipient). */
async function statusLines(c: ClientContainer): Promise<number> {
  const r = await c.sh(`grep -c ' status=' ${POSTFIX_LOG} || true`);
  return Number.parseInt(r.stdout.trim(), 10) || 0;
}

/**
 * Waits until `expected` new attempts have been logged since `before` and nothing is in the incoming/active queues
 * (or until the time limit: a DNS timeout scenario takes a while, a hung server up to smtp_*_timeout).
 */
async function settle(c: ClientContainer, before: number, expected: number, limitMs: number): Promise<void> {
  const deadline = performance.now() + limitMs;
  while (performance.now() < deadline) {
    const [lines, q] = [await statusLines(c), await queueState(c)];
    if (lines - before >= expected && q.busy === 0) return;
    await sleep(250);
  }
}

/** `variant` names the column (its container label and work directory). */
export function postfixDriver(options: DriverOptions & { settleLimitMs?: number }, variant = "postfix"): MtaDriver {
  return postfixContainerDriver(variant, options, {
    command: ["sh", "/danelab/start.sh"],
    files: [
      {
        target: "/etc/postfix/main.cf",
        content: postfixMainCf({
          suffix: options.suffix,
          ...(options.sourceAddress ? { sourceAddress: options.sourceAddress } : {}),
        }),
      },
      { target: "/danelab/start.sh", content: POSTFIX_START, mode: 0o755 },
    ],
  });
}

/** Where the edited copy of a user's /etc/postfix is mounted; the start script copies it over the image's. */
const USER_CONFIG = "/danelab/postfix-config";

/**
 * Container start for a user's configuration: their files over the image's /etc/postfix (so a copy without
 * postfix-files or dynamicmaps.cf still starts), then Debian's own instance preparation (it copies resolv.conf and
 * friends into the chroot when master.cf chroots services, as the init script does on the user's host).
 */
const USER_START = `set -e
cp -a ${USER_CONFIG}/. /etc/postfix/
sh /usr/lib/postfix/configure-instance.sh - || echo "configure-instance.sh failed (chroot may lack resolv.conf)" >&2
${CREATE_MISSING}
newaliases 2>/dev/null || true
exec postfix start-fg`;

/**
 * A mail admin's own Postfix configuration (`--postfix-config`): the edited copy (clients/user-config.ts) replaces
 * the image's /etc/postfix; submission, retries and the log are as for the built-in column.
 */
export function postfixUserDriver(
  config: PreparedConfig,
  variant: string,
  options: DriverOptions & { settleLimitMs?: number },
): MtaDriver {
  return postfixContainerDriver(variant, options, {
    command: ["sh", "/danelab/start.sh"],
    mounts: [{ source: config.copy, target: USER_CONFIG }],
    files: [{ target: "/danelab/start.sh", content: USER_START, mode: 0o755 }],
  });
}

export function postfixContainerDriver(
  variant: string,
  options: DriverOptions & { settleLimitMs?: number },
  spec: Pick<ClientContainerSpec, "command" | "files" | "mounts">,
): MtaDriver {
  const limit = options.settleLimitMs ?? 90_000;
  const box = new DriverContainer(variant, options);
  return {
    variant,
    async start() {
      await box.start({
        image: options.image ?? clientImage("postfix"),
        ...spec,
        files: [
          ...spec.files,
          // postfix-script skips its integrity checks (seconds of find/chmod on a busy machine) when this exists;
          // the image is fresh from the Debian package, so there is nothing to repair.
          { target: "/var/spool/postfix/quick-start", content: "" },
          { target: "/danelab/message", content: testMessage(options.runId, variant) },
        ],
        readyCommand: "postfix status",
      });
    },
    async submit(recipients) {
      const c = box.need();
      const before = await statusLines(c);
      const r = await c.sh(`SENDER=sender@${SENDER_DOMAIN}; ${SUBMIT}`, ...recipients);
      if (r.stderr.trim()) options.log?.(`${variant}: ${r.stderr.trim().split("\n")[0]}`);
      await settle(c, before, recipients.length, limit);
    },
    async retry() {
      const c = box.need();
      const { total } = await queueState(c);
      if (total === 0) return 0;
      const before = await statusLines(c);
      await c.exec(["postqueue", "-f"]);
      await settle(c, before, total, limit);
      return total;
    },
    async queued() {
      return (await queueState(box.need())).total;
    },
    async outcomes(recipients): Promise<Map<string, ClientOutcome>> {
      return parsePostfixLog(await box.need().readFile(POSTFIX_LOG), recipients);
    },
    async rawLog() {
      return box.need().readFile(POSTFIX_LOG);
    },
    stop: () => box.stop(),
  };
}
