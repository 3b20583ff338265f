// The built-in client columns of `danelab check` and the names a mail admin types for them: which MTA (or DANE probe
// tool), built how, from which Debian release, in which image. Pure data and name resolution; the drivers are in
// exim.ts, postfix.ts and probe.ts (the DANE probe tools: posttls-finger, danetool).
//
// Names: `<client>[@<release>]`. Without a release, `exim`/`postfix` are the images scripts/setup-host.sh built for
// this host's release (localhost/danelab-exim, localhost/danelab-postfix: Debian 12 "bookworm" on the lab machines), as
// before releases were named. `exim` stands for its two DANE modes, `exim-try` (hosts_try_dane, Debian's default) and
// `exim-strict` (hosts_require_dane + dnssec_require_domains); so does `exim-openssl`.
import { CheckInputError } from "./user-config.js";

/** How a column drives its client. */
export type ClientDriverKind = "exim-try" | "exim-strict" | "postfix" | "posttls-finger" | "danetool";

export interface BuiltinClient {
  /** Column name: "exim-try", "exim-try@trixie", "exim-openssl-strict@bookworm", "danetool@bookworm". */
  name: string;
  driver: ClientDriverKind;
  /** The image's short name for `DANELAB_<NAME>_IMAGE` and the build command: "exim", "exim-trixie". */
  image: string;
  /** Debian release, when the name carries one. */
  release?: string;
  /** What it is, for --help and the unknown-name message. */
  what: string;
  /** False for the probe tools: they only connect, and their verdict is graded against `expect` by check. */
  sendsMail: boolean;
}

interface Family {
  /** "exim", "exim-openssl", "postfix", "posttls-finger", "danetool". */
  family: string;
  /** Image base name: danelab-<image>-<release>. */
  image: string;
  releases: { release: string; what: string }[];
  /** Exim: one column per DANE mode. */
  modes?: ("try" | "strict")[];
  driver?: ClientDriverKind;
}

const FAMILIES: Family[] = [
  {
    family: "exim",
    image: "exim",
    modes: ["try", "strict"],
    releases: [
      { release: "bookworm", what: "Debian 12's Exim 4.96 (GnuTLS 3.7.9)" },
      { release: "trixie", what: "Debian 13's Exim 4.98 (GnuTLS 3.8.9)" },
    ],
  },
  {
    family: "exim-openssl",
    image: "exim-openssl",
    modes: ["try", "strict"],
    releases: [{ release: "bookworm", what: "Debian 12's Exim 4.96 rebuilt from its source with OpenSSL 3.0" }],
  },
  {
    family: "postfix",
    image: "postfix",
    driver: "postfix",
    releases: [
      { release: "bookworm", what: "Debian 12's Postfix 3.7 (OpenSSL 3.0)" },
      { release: "trixie", what: "Debian 13's Postfix 3.10 (OpenSSL 3.5)" },
    ],
  },
  {
    family: "posttls-finger",
    image: "postfix",
    driver: "posttls-finger",
    releases: [
      { release: "bookworm", what: "Postfix 3.7's DANE probe (posttls-finger -l dane; no mail sent)" },
      { release: "trixie", what: "Postfix 3.10's DANE probe (posttls-finger -l dane; no mail sent)" },
    ],
  },
  {
    family: "danetool",
    image: "probe",
    driver: "danetool",
    releases: [{ release: "bookworm", what: "GnuTLS 3.7.9's danetool --check (no mail sent)" }],
  },
];

/** Every built-in column, in the order columns are listed. */
export const BUILTIN_CLIENTS: BuiltinClient[] = [
  {
    name: "exim-try",
    driver: "exim-try",
    image: "exim",
    sendsMail: true,
    what: "this host's Exim (setup-host's image), hosts_try_dane",
  },
  {
    name: "exim-strict",
    driver: "exim-strict",
    image: "exim",
    sendsMail: true,
    what: "this host's Exim (setup-host's image), hosts_require_dane",
  },
  {
    name: "postfix",
    driver: "postfix",
    image: "postfix",
    sendsMail: true,
    what: "this host's Postfix (setup-host's image)",
  },
  ...FAMILIES.flatMap((f) =>
    f.releases.flatMap(({ release, what }) =>
      f.modes
        ? f.modes.map((m) => ({
            name: `${f.family}-${m}@${release}`,
            driver: `exim-${m}` as ClientDriverKind,
            image: `${f.image}-${release}`,
            release,
            sendsMail: true,
            what: `${what}, hosts_${m === "try" ? "try" : "require"}_dane`,
          }))
        : [
            {
              name: `${f.family}@${release}`,
              driver: f.driver!,
              image: `${f.image}-${release}`,
              release,
              what,
              sendsMail: f.driver === "postfix",
            },
          ],
    ),
  ),
];

/** Names that stand for several columns: `exim` → exim-try, exim-strict; `exim-openssl` → its bookworm pair. */
function expand(name: string): string[] {
  const [base, release] = name.split("@") as [string, string | undefined];
  const at = release ? `@${release}` : "";
  for (const f of FAMILIES) {
    if (!f.modes || base !== f.family) continue;
    // A family with one release may leave it out ("exim-openssl"); plain "exim" is this host's image.
    const r = release ? at : f.family === "exim" ? "" : f.releases.length === 1 ? `@${f.releases[0]!.release}` : "";
    return f.modes.map((m) => `${f.family}-${m}${r}`);
  }
  const single = FAMILIES.find((f) => !f.modes && f.family === base && f.releases.length === 1 && !release);
  return [single ? `${base}@${single.releases[0]!.release}` : name];
}

/** The text listing every name `--client` takes (the unknown-name error and --help). */
export function knownClientNames(): string {
  const families = FAMILIES.filter((f) => f.modes).map(
    (f) => `${f.family}${f.releases.length > 1 ? "" : `[@${f.releases[0]!.release}]`} (= its -try and -strict)`,
  );
  return `${families.join(", ")}, exim@<release> (the same for one release), ${BUILTIN_CLIENTS.map((c) => c.name).join(", ")}`;
}

/** Expands aliases and checks names; an unknown name is an error that lists the known ones (and the other ways in). */
export function resolveClients(names: string[]): BuiltinClient[] {
  const out: BuiltinClient[] = [];
  for (const raw of names
    .flatMap((n) => n.split(","))
    .map((n) => n.trim().toLowerCase())
    .filter(Boolean)) {
    for (const v of expand(raw)) {
      const c = BUILTIN_CLIENTS.find((b) => b.name === v);
      if (!c) {
        throw new CheckInputError(
          `unknown --client "${raw}": the built-in clients are ${knownClientNames()}. To check your own MTA use ` +
            "--exim-config DIR, --postfix-config DIR, or --image IMAGE with --submit and --flush.",
        );
      }
      if (!out.includes(c)) out.push(c);
    }
  }
  return out;
}
