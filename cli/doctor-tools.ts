// The tools danelab and its tests need, as data: for each, the command that shows whether it *works* (not just whether
// it is on PATH), what a working one prints, and the Debian packages that make it work. Shared by `danelab doctor`
// (doctor.ts) and by `npm run test:fresh-host`, which runs `danelab doctor --tools-only --json` in fresh Debian
// containers after scripts/setup-host.sh installed scripts/host.packages. doctor-judge.ts turns a run into a verdict.

/** A tool check: run `argv`, and the tool works when it exits 0 and its output (stdout + stderr) matches `works`. */
export interface ToolCheck {
  name: string;
  /** What in danelab needs it. */
  purpose: string;
  /** `{dir}` is replaced by a private temporary directory holding `files`. */
  argv: string[];
  files?: Record<string, string>;
  /** Extra environment (`{dir}` replaced as in argv). */
  env?: Record<string, string>;
  /** What a working tool prints; the first capture group (a version), or `shows`, is the detail of an ok. */
  works: RegExp;
  shows?: string;
  /** Some tools print their version or usage with a non-zero exit. */
  anyExitStatus?: boolean;
  /** The Debian packages that make it work (all of them: the tool and what it needs at run time). */
  packages: string[];
  /** Why a tool that runs may still not work, and the fix for that case. */
  hint?: string;
  /** The line of a broken tool's output that says why (default: the first line that sounds like an error). */
  explains?: RegExp;
  /** A missing or broken optional tool is a warning: only some tests need it. */
  optional?: boolean;
  timeoutMs?: number;
}

const SWAKS_HINT =
  "swaks has no STARTTLS without the Perl module Net::SSLeay, which is only a Recommends of swaks " +
  "(apt-get --no-install-recommends skips it)";

export const TOOL_CHECKS: readonly ToolCheck[] = [
  {
    name: "swaks STARTTLS",
    purpose: "scripted SMTP sessions in the SMTP tests",
    argv: ["swaks", "--support"],
    works: /^=== (TLS supported)/m,
    explains: /TLS not available.*/,
    packages: ["swaks", "libnet-ssleay-perl"],
    hint: SWAKS_HINT,
  },
  {
    name: "openssl DANE",
    purpose: "DANE handshakes in the certificate and SMTP tests",
    argv: ["openssl", "s_client", "-help"],
    works: /-dane_tlsa_rrdata/,
    shows: "s_client has -dane_tlsa_rrdata",
    packages: ["openssl"],
    hint: "this openssl has no DANE support in s_client (OpenSSL 1.1.0 or newer has it)",
  },
  {
    name: "gnutls-cli DANE",
    purpose: "GnuTLS's DANE check (the library Debian's Exim uses)",
    argv: ["gnutls-cli", "--help"],
    works: /--dane\b/,
    shows: "has --dane",
    packages: ["gnutls-bin"],
  },
  {
    name: "danetool",
    purpose: "GnuTLS's TLSA record checker (Debian bug #1075900 reproduced)",
    argv: ["danetool", "--version"],
    works: /^danetool (\S+)/m,
    packages: ["gnutls-bin"],
  },
  {
    name: "unbound",
    purpose: "`danelab up --resolver unbound`, the resolver tests",
    argv: ["unbound", "-V"],
    works: /^Version (\S+)/m,
    packages: ["unbound"],
  },
  {
    name: "unbound-checkconf",
    purpose: "checks the unbound configuration the lab writes",
    argv: ["unbound-checkconf", "{dir}/unbound.conf"],
    files: { "unbound.conf": 'server:\n  interface: 127.0.53.2\n  chroot: ""\n  username: ""\n  directory: "{dir}"\n' },
    works: /no errors/,
    shows: "accepts a configuration",
    packages: ["unbound"],
  },
  {
    name: "dig",
    purpose: "DNS answers checked by BIND's tools",
    argv: ["dig", "-v"],
    works: /^DiG (\S+)/m,
    packages: ["bind9-dnsutils"],
  },
  {
    name: "delv",
    purpose: "DNSSEC validation checked by BIND's validator",
    argv: ["delv", "-v"],
    works: /^delv (\S+)/m,
    packages: ["bind9-dnsutils"],
  },
  {
    name: "named-checkzone",
    purpose: "exported zone files checked by BIND's parser",
    argv: ["named-checkzone", "example", "{dir}/example.zone"],
    files: {
      "example.zone":
        "example. 300 IN SOA ns.example. admin.example. 1 3600 900 86400 300\n" +
        "example. 300 IN NS ns.example.\nns.example. 300 IN A 127.0.0.1\n",
    },
    works: /^OK$/m,
    shows: "accepts a zone",
    packages: ["bind9-utils"],
  },
  {
    name: "ldns-verify-zone",
    purpose: "DNSSEC signatures checked by an independent implementation",
    argv: ["ldns-verify-zone", "-v"],
    works: /verify-zone version (\S+)/,
    packages: ["ldnsutils"],
  },
  {
    name: "ldns-signzone",
    purpose: "the benchmark's shell-way zone signing",
    argv: ["ldns-signzone", "-v"],
    works: /zone signer version (\S+)/,
    packages: ["ldnsutils"],
  },
  {
    name: "dnsperf",
    purpose: "DNS load tests and `npm run bench`",
    argv: ["dnsperf", "-h"],
    works: /^Usage: dnsperf/m,
    shows: "runs",
    anyExitStatus: true,
    packages: ["dnsperf"],
  },
  {
    name: "nsd",
    purpose: "the benchmark's DNS peer and the zone-export tests",
    argv: ["nsd", "-v"],
    works: /^NSD version (\S+)/m,
    anyExitStatus: true,
    packages: ["nsd"],
  },
  {
    name: "nsd-checkconf",
    purpose: "checks the NSD configuration the tests write",
    argv: ["nsd-checkconf", "{dir}/nsd.conf"],
    files: { "nsd.conf": 'server:\n  zonesdir: "{dir}"\n' },
    works: /^$/,
    shows: "accepts a configuration",
    packages: ["nsd"],
  },
  {
    name: "ss",
    purpose: "names the process holding port 25/53 when the lab cannot bind",
    argv: ["ss", "-V"],
    works: /iproute2-(\S+)/,
    packages: ["iproute2"],
  },
  {
    name: "pgrep",
    purpose: "the tests find the daemons they started",
    argv: ["pgrep", "-V"],
    works: /procps-ng (\S+)/,
    packages: ["procps"],
  },
  {
    name: "chromium headless",
    purpose: "the web UI tests",
    // A throw-away profile, configuration and cache: nothing is written to the user's ~/.config or ~/.cache.
    argv: [
      "chromium",
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--user-data-dir={dir}/profile",
      "--dump-dom",
      "data:text/html,<p>danelab-ok</p>",
    ],
    files: {},
    env: { XDG_CONFIG_HOME: "{dir}/config", XDG_CACHE_HOME: "{dir}/cache" },
    works: /<p>danelab-ok<\/p>/,
    shows: "renders a page",
    packages: ["chromium"],
    optional: true,
    timeoutMs: 30_000,
  },
];

/** Host-only tools: needed to build the client images, not by the lab itself. */
export const IMAGE_TOOL_CHECKS: readonly ToolCheck[] = [
  {
    name: "debootstrap",
    purpose: "builds the client images from Debian packages",
    argv: ["debootstrap", "--version"],
    works: /^debootstrap (\S+)/m,
    packages: ["debootstrap"],
  },
];

/** localhost/danelab-<name>:latest, as scripts/setup-host.sh builds them. */
export const CLIENT_IMAGES = [
  "exim",
  "postfix",
  "probe",
  "exim-heavy",
  "exim-trixie",
  "postfix-trixie",
  "probe-bookworm",
  "exim-openssl-bookworm",
] as const;
