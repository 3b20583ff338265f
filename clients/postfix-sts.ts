// Postfix + Debian's postfix-mta-sts-resolver (1.1.2 in Debian 12), in a container: the usual way to give Postfix
// MTA-STS (RFC 8461). Postfix keeps its DANE settings (clients/postfix.ts) and asks the resolver's socketmap, through
// `smtp_tls_policy_maps`, for each next-hop domain's policy; the resolver fetches https://mta-sts.<domain>/… and
// answers `secure match=<mx patterns>` for an enforce policy, nothing otherwise.
//
// A policy-map answer replaces `smtp_tls_security_level` for that domain, so `secure` also replaces `dane`: DANE is
// then never tried and a failing TLSA record no longer stops delivery, which RFC 8461 §2 forbids ("MUST NOT allow
// MTA-STS Policy validation to override a failing DANE validation"). Upstream documents this as
// Snawoot/postfix-mta-sts-resolver#67 (README note since 1.1.5). The lab's sts-dane-fail-sts-pass scenario shows it.
//
// The lab's public root goes into the container's CA store (update-ca-certificates), which both the resolver
// (Python's default context: /usr/lib/ssl/cert.pem) and Postfix (`smtp_tls_CApath = /etc/ssl/certs`) use.
import type { DriverOptions, MtaDriver } from "./driver.js";
import { POSTFIX_START, postfixContainerDriver, postfixMainCf } from "./postfix.js";

/** The resolver's socketmap (a UNIX socket: host networking leaves no TCP port that is surely free). */
const SOCKET = "/run/mta-sts/mta-sts.sock";
export const MTA_STS_LOG = "/var/log/mta-sts-daemon.log";

/** mta-sts-daemon.yml: an in-memory cache, so every container starts without remembered policies. */
export const MTA_STS_DAEMON_YML = `# postfix-mta-sts-resolver for danelab (clients/postfix-sts.ts)
path: ${SOCKET}
mode: 0666
cache:
  type: internal
  options:
    cache_size: 10000
default_zone:
  strict_testing: false
  timeout: 4
`;

/** main.cf: the DANE client's, plus the policy map and the system CA store for MTA-STS (PKIX) verification. */
export function postfixStsMainCf(options: Parameters<typeof postfixMainCf>[0]): string {
  return `${postfixMainCf(options)}# MTA-STS (RFC 8461) through postfix-mta-sts-resolver's socketmap.
smtp_tls_policy_maps = socketmap:unix:${SOCKET}:postfix
smtp_tls_CApath = /etc/ssl/certs
`;
}

const START = `set -e
update-ca-certificates >/dev/null
install -d -m 0755 /run/mta-sts
mta-sts-daemon -c /etc/mta-sts-daemon.yml -v debug -l ${MTA_STS_LOG} &
for i in $(seq 50); do [ -S ${SOCKET} ] && break; sleep 0.1; done
${POSTFIX_START}`;

/** The image built from scripts/images/postfix-sts.packages for Debian 12 (`build.sh postfix-sts@bookworm`). */
export const POSTFIX_STS_IMAGE = "localhost/danelab-postfix-sts-bookworm:latest";

/** `publicRootPem`: the lab's public root (the manifest's `sts.publicRoot` file). */
export function postfixStsDriver(
  options: DriverOptions & { settleLimitMs?: number; publicRootPem: string },
  variant = "postfix-sts",
): MtaDriver {
  return postfixContainerDriver(
    variant,
    { ...options, image: options.image ?? POSTFIX_STS_IMAGE },
    {
      command: ["sh", "/danelab/start.sh"],
      files: [
        {
          target: "/etc/postfix/main.cf",
          content: postfixStsMainCf({
            suffix: options.suffix,
            ...(options.sourceAddress ? { sourceAddress: options.sourceAddress } : {}),
          }),
        },
        { target: "/etc/mta-sts-daemon.yml", content: MTA_STS_DAEMON_YML },
        { target: "/usr/local/share/ca-certificates/danelab-public-root.crt", content: options.publicRootPem },
        { target: "/danelab/start.sh", content: START, mode: 0o755 },
      ],
    },
  );
}
