// What must change on a stock Debian host so that its MTA delivers to the lab with DANE — as exact files, not advice.
// `danelab instructions` prints these plans and writes them as a tree that mirrors `/` (`cp -a DIR/. /` applies it);
// `danelab check --exim-config/--postfix-config` applies the same edits to a copy of a user's configuration.
//
// Each plan changes only what must change, starting from the files the host has now (read through `CurrentFiles`, so
// a plan can be made for another root, e.g. a container's). The facts behind every edit were measured on Debian 12
// and 13 installs (shared/design/real-clients.md):
// - glibc strips the AD bit unless resolv.conf says `options trust-ad`; without AD an MTA sees no DNSSEC-validated
//   data and RFC 7672 §2.2 DANE never applies (Exim then silently skips it). resolv.conf cannot name a port: the
//   lab's DNS must be on port 53.
// - `apt-get install exim4-daemon-light` leaves `dc_eximconfig_configtype='local'`: every remote domain bounces
//   ("R=nonlocal: Mailing to remote domains not supported"). It must be 'internet' (direct delivery by MX).
// - Debian's dnslookup router ignores MX targets in 127.0.0.0/8 (macro ROUTER_DNSLOOKUP_IGNORE_TARGET_HOSTS), where
//   the lab's MX hosts live. Macros go in `exim4.conf.localmacros` (non-split) or a `conf.d/main/` file (split);
//   update-exim4.conf.conf holds shell variables, not macros.
// - Debian's Exim 4.96/4.98 already sets `dns_dnssec_ok = 1` and defaults to `hosts_try_dane = *`: nothing to add.
// - Postfix needs DNSSEC lookups (`smtp_dns_support_level = dnssec`) and the `dane` security level (RFC 7672 §2.2);
//   `smtp_tls_loglevel = 1` makes it log "Verified TLS connection", the client-side evidence. Its smtp client runs
//   chrooted on Debian: a restart (not a reload) copies the new resolv.conf into /var/spool/postfix/etc.

export type MtaKind = "exim" | "postfix" | "resolver";
export const MTA_KINDS: readonly MtaKind[] = ["exim", "postfix", "resolver"];

/** What a plan needs to know about the lab (from its manifest). */
export interface LabTarget {
  /** The address MTAs must use as their only nameserver (port 53). */
  nameserver: string;
  /** "lab.example" (no trailing dot). */
  suffix: string;
}

/** The host's current files: the text of an absolute path, or null when there is none. */
export type CurrentFiles = (path: string) => string | null;

export interface PlannedFile {
  /** Absolute path on the MTA's host. */
  path: string;
  content: string;
  /** "create": no such file now; "replace": the current file with the listed changes. */
  change: "create" | "replace";
  /** One line per change, for the printed summary. */
  why: string[];
}

export interface MtaPlan {
  mta: MtaKind;
  files: PlannedFile[];
  /** Commands that take the written files into use (after `cp -a DIR/. /`). */
  apply: string[];
  /** Command that makes the MTA retry its queue now. */
  flush: string | null;
  /** Command that shows how the MTA would route one lab address (a check before sending). */
  probe: string | null;
  notes: string[];
}

/** A plan cannot be made from the current files: one paragraph naming the file and the fix. */
export class MtaConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "MtaConfigError";
  }
}

export function resolvConfText(nameserver: string): string {
  return `# danelab: the lab's DNS is this host's only resolver. trust-ad: glibc keeps the AD bit (DNSSEC-validated),
# without which MTAs never do DANE. edns0: room for DNSSEC answers.
nameserver ${nameserver}
options trust-ad edns0
`;
}

function resolvConfFile(lab: LabTarget, current: CurrentFiles): PlannedFile {
  const now = current("/etc/resolv.conf");
  return {
    path: "/etc/resolv.conf",
    content: resolvConfText(lab.nameserver),
    change: now === null ? "create" : "replace",
    why: [`nameserver ${lab.nameserver} (the lab's DNS) with options trust-ad edns0`],
  };
}

// --- Exim (Debian's exim4-config) ----------------------------------------------------------------------------------

const EXIM_CONF_CONF = "/etc/exim4/update-exim4.conf.conf";
const EXIM_LOCALMACROS = "/etc/exim4/exim4.conf.localmacros";
const EXIM_SPLIT_MACROS = "/etc/exim4/conf.d/main/000_danelab";

/**
 * Debian's default ROUTER_DNSLOOKUP_IGNORE_TARGET_HOSTS (exim4.conf.template, 4.96 and 4.98) without 127.0.0.0/8:
 * the lab's MX hosts are on loopback; every other ignored range stays ignored.
 */
export const EXIM_IGNORE_TARGET_HOSTS =
  "<; 0.0.0.0 ; 192.168.0.0/16 ; 172.16.0.0/12 ; 10.0.0.0/8 ; 169.254.0.0/16 ; 255.255.255.255 ; ::/128 ; ::1/128 ; fc00::/7 ; fe80::/10 ; 100::/64";

/** The value of a `dc_name='value'` line of update-exim4.conf.conf (shell syntax), or null. */
export function debconfValue(text: string, name: string): string | null {
  const m = new RegExp(`^${name}=(?:'([^']*)'|"([^"]*)"|(\\S*))\\s*$`, "m").exec(text);
  return m ? (m[1] ?? m[2] ?? m[3] ?? "") : null;
}

/** Sets `name='value'`, replacing the existing line or appending one. */
export function setDebconfValue(text: string, name: string, value: string): string {
  const line = `${name}='${value}'`;
  const re = new RegExp(`^${name}=.*$`, "m");
  if (re.test(text)) return text.replace(re, line);
  return `${text.replace(/\n*$/, "\n")}${line}\n`;
}

/** Drops earlier danelab blocks and any other definition of the macro, then appends ours. */
function withMacro(current: string, name: string, value: string): string {
  const kept = current
    .replace(/# danelab: begin[\s\S]*?# danelab: end\n?/g, "")
    .split("\n")
    .filter((l) => !new RegExp(`^\\s*${name}\\s*=`).test(l))
    .join("\n")
    .replace(/\n*$/, "\n")
    .replace(/^\n$/, "");
  return `${kept}# danelab: begin — Debian's dnslookup router ignores MX targets in 127.0.0.0/8; the lab's MX hosts live there.
${name} = ${value}
# danelab: end
`;
}

export function eximPlan(lab: LabTarget, current: CurrentFiles): MtaPlan {
  const conf = current(EXIM_CONF_CONF);
  if (conf === null) {
    throw new MtaConfigError(
      `There is no ${EXIM_CONF_CONF}, so this is not a Debian Exim (exim4-config) installation. Install it with ` +
        "'apt-get install exim4-daemon-light', or give the directory that holds the configuration (--root), or use " +
        "'--mta resolver' and configure your MTA's DNSSEC and DANE settings by hand.",
    );
  }
  const configtype = debconfValue(conf, "dc_eximconfig_configtype") ?? "";
  const split = debconfValue(conf, "dc_use_split_config") === "true";
  const files: PlannedFile[] = [resolvConfFile(lab, current)];
  const notes: string[] = [];
  if (configtype !== "internet") {
    files.push({
      path: EXIM_CONF_CONF,
      content: setDebconfValue(conf, "dc_eximconfig_configtype", "internet"),
      change: "replace",
      why: [
        `dc_eximconfig_configtype '${configtype || "(unset)"}' → 'internet': deliver by MX records (with '${configtype}' ` +
          (configtype === "local"
            ? "every remote domain bounces: 'Mailing to remote domains not supported')"
            : "mail goes elsewhere, not to the lab's MX hosts)"),
      ],
    });
    if (configtype === "smarthost" || configtype === "satellite") {
      notes.push(
        `This Exim sent all mail through a smarthost (${debconfValue(conf, "dc_smarthost") || "dc_smarthost"}); with ` +
          "'internet' it delivers directly. Restore the old file (undo below) when you are done with the lab.",
      );
    }
  }
  const macroPath = split ? EXIM_SPLIT_MACROS : EXIM_LOCALMACROS;
  const macrosNow = current(macroPath);
  files.push({
    path: macroPath,
    content: withMacro(macrosNow ?? "", "ROUTER_DNSLOOKUP_IGNORE_TARGET_HOSTS", EXIM_IGNORE_TARGET_HOSTS),
    change: macrosNow === null ? "create" : "replace",
    why: [
      `ROUTER_DNSLOOKUP_IGNORE_TARGET_HOSTS without 127.0.0.0/8 (${split ? "split config: a conf.d/main file" : "non-split config: the local macros file"})`,
    ],
  });
  notes.push(
    "Debian's Exim already sets dns_dnssec_ok = 1 and defaults to hosts_try_dane = * (DANE when the TLSA lookup is " +
      "DNSSEC-secure): nothing to add for that. For DANE-or-nothing, add 'hosts_require_dane = *' to the " +
      "remote_smtp transport (REMOTE_SMTP_... macros do not cover it).",
  );
  return {
    mta: "exim",
    files,
    apply: ["update-exim4.conf", "systemctl restart exim4   # without systemd: invoke-rc.d exim4 restart"],
    flush: "exim4 -qff",
    probe: `exim4 -bt run-1@ta-baseline.${lab.suffix}   # must show a host in 127.0.0.0/8, not 'Unrouteable'`,
    notes,
  };
}

// --- Postfix ---------------------------------------------------------------------------------------------------------

const POSTFIX_MAIN_CF = "/etc/postfix/main.cf";

export function postfixSettings(lab: LabTarget): [name: string, value: string, why: string][] {
  return [
    ["smtp_dns_support_level", "dnssec", "DNSSEC-validated lookups (RFC 7672 §2.1)"],
    ["smtp_tls_security_level", "dane", "DANE when TLSA records are DNSSEC-secure, else opportunistic TLS (§2.2)"],
    ["smtp_host_lookup", "dns", "MX and address lookups through DNS only, not /etc/hosts"],
    ["dnssec_probe", `ns:${lab.suffix}`, "the start-up DNSSEC self-test asks the lab, not the real root"],
    ["smtp_tls_loglevel", "1", 'logs "Verified TLS connection established", the client-side evidence'],
  ];
}

/** The value of a main.cf parameter (the last definition wins, as in postconf(5)), or null. */
export function mainCfValue(text: string, name: string): string | null {
  const all = [...text.matchAll(new RegExp(`^${name}[ \\t]*=[ \\t]*(.*)$`, "gm"))];
  return all.length ? all[all.length - 1]![1]!.trim() : null;
}

/** Sets `name = value` in main.cf text: replaces the parameter's line (and its continuation lines) or appends. */
export function setMainCf(text: string, name: string, value: string): string {
  const lines = text.split("\n");
  const out: string[] = [];
  let replaced = false;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (new RegExp(`^${name}\\s*=`).test(line)) {
      // Continuation lines start with whitespace (postconf(5), "SYNTAX").
      while (i + 1 < lines.length && /^[ \t]+\S/.test(lines[i + 1]!)) i++;
      if (!replaced) out.push(`${name} = ${value}`);
      replaced = true;
      continue;
    }
    out.push(line);
  }
  const joined = out.join("\n");
  return replaced ? joined : `${joined.replace(/\n*$/, "\n")}${name} = ${value}\n`;
}

export function postfixPlan(lab: LabTarget, current: CurrentFiles): MtaPlan {
  const main = current(POSTFIX_MAIN_CF);
  if (main === null) {
    throw new MtaConfigError(
      `There is no ${POSTFIX_MAIN_CF}: Postfix is not installed, or was installed as "No configuration". Run ` +
        "'dpkg-reconfigure postfix' and choose \"Internet Site\" (or 'apt-get install postfix'), then ask again.",
    );
  }
  let content = main;
  const why: string[] = [];
  for (const [name, value, reason] of postfixSettings(lab)) {
    content = setMainCf(content, name, value);
    why.push(`${name} = ${value}: ${reason}`);
  }
  // A listener on the wildcard address holds port 25 on every loopback address too, so the lab cannot bind its MX
  // hosts' 127.0.25.x:25 (and Postfix cannot start while the lab holds them). "all" is also the default when unset.
  const interfaces = mainCfValue(main, "inet_interfaces") ?? "all";
  if (interfaces === "all") {
    content = setMainCf(content, "inet_interfaces", "loopback-only");
    why.push(
      "inet_interfaces = loopback-only (was all): a listener on every address would hold port 25 on the lab's " +
        "127.0.25.x addresses too; list this host's real addresses instead if it must also receive mail from outside",
    );
  }
  const notes: string[] = [];
  if (/^relayhost[ \t]*=[ \t]*\S/m.test(main)) {
    notes.push(
      "main.cf sets a relayhost: Postfix hands every message to it and never looks up the lab's MX records. Empty " +
        "it for the lab ('postconf -e relayhost='), or check the relay instead.",
    );
  }
  return {
    mta: "postfix",
    files: [resolvConfFile(lab, current), { path: POSTFIX_MAIN_CF, content, change: "replace", why }],
    apply: [
      "postfix check",
      "systemctl restart postfix   # restart, not reload: it copies resolv.conf into the chroot; without systemd: /etc/init.d/postfix restart",
    ],
    flush: "postqueue -f",
    probe: null,
    notes,
  };
}

export function resolverPlan(lab: LabTarget, current: CurrentFiles): MtaPlan {
  return {
    mta: "resolver",
    files: [resolvConfFile(lab, current)],
    apply: [],
    flush: null,
    probe: `dig +dnssec +noall +comments +answer TLSA _25._tcp.mx.ta-baseline.${lab.suffix}   # flags must include 'ad'`,
    notes: [
      "Any MTA: make it look up MX, A and TLSA records with DNSSEC (DO bit) and act on the AD bit, and let it deliver " +
        "to MX hosts in 127.0.0.0/8.",
    ],
  };
}

export function mtaPlan(mta: MtaKind, lab: LabTarget, current: CurrentFiles): MtaPlan {
  switch (mta) {
    case "exim":
      return eximPlan(lab, current);
    case "postfix":
      return postfixPlan(lab, current);
    default:
      return resolverPlan(lab, current);
  }
}

/**
 * The printed form: what changes, how to back up, apply, check, retry and undo. `outDir` when written as a tree;
 * `cli` is how the user runs danelab ("npx danelab" from a checkout).
 */
export function formatPlan(plan: MtaPlan, lab: LabTarget, outDir?: string, cli = "danelab"): string {
  const out: string[] = [];
  const name = { exim: "Debian's Exim (exim4)", postfix: "Postfix", resolver: "any MTA (DNS only)" }[plan.mta];
  out.push(`Point ${name} at the lab (DNS ${lab.nameserver}, suffix ${lab.suffix}). Changes:`);
  for (const f of plan.files) {
    out.push(`  ${f.path} (${f.change === "create" ? "new file" : "changed"})`);
    for (const w of f.why) out.push(`    - ${w}`);
  }
  const existing = plan.files.filter((f) => f.change === "replace").map((f) => f.path.slice(1));
  const created = plan.files.filter((f) => f.change === "create").map((f) => f.path);
  out.push("", "1. Keep a copy of what changes (the undo):");
  if (existing.length) out.push(`     tar -C / -cpf /root/danelab-undo.tar ${existing.join(" ")}`);
  out.push(outDir ? "2. Put the files in place:" : "2. Write the files below, then:");
  if (outDir) out.push(`     cp -a ${outDir}/. /`);
  plan.apply.forEach((c, i) => {
    out.push(`${i === 0 ? (outDir ? "   and take them into use:\n" : "") : ""}     ${c}`);
  });
  if (plan.probe) out.push("3. Check the routing before sending:", `     ${plan.probe}`);
  out.push(
    `${plan.probe ? 4 : 3}. Send one message per scenario and watch the verdicts:`,
    `     ${cli} send --run 1 --via sendmail --mta ${plan.mta === "resolver" ? "exim|postfix" : plan.mta}`,
    `     ${cli} watch --run 1${plan.mta === "resolver" ? "" : ` --mta ${plan.mta}`}`,
  );
  if (plan.flush) out.push(`   After greylisting or a deferral, retry the queue now: ${plan.flush}`);
  out.push("Undo:");
  const undo: string[] = [];
  if (existing.length) undo.push("tar -C / -xpf /root/danelab-undo.tar");
  if (created.length) undo.push(`rm -f ${created.join(" ")}`);
  undo.push(...plan.apply.filter((c) => !c.startsWith("postfix check")));
  for (const c of undo) out.push(`     ${c}`);
  for (const n of plan.notes) out.push("", `Note: ${n}`);
  if (!outDir) {
    for (const f of plan.files) out.push("", `--- ${f.path}`, f.content.replace(/\n$/, ""));
  }
  return out.join("\n");
}
