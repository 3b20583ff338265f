// A mail admin's own MTA configuration under test: `danelab check --exim-config DIR` / `--postfix-config DIR`, where
// DIR is a copy of the host's /etc/exim4 or /etc/postfix. The lab works on a copy (never writes into DIR), changes
// only what it must to reach the lab and read the outcome, and says what it changed:
//
// Exim (Debian's exim4-config, split or non-split; update-exim4.conf regenerates the config in the container):
// - `danelab instructions`' own edits (clients/mta-config.ts eximPlan): `dc_eximconfig_configtype` → 'internet' (the
//   package default 'local' bounces: "Mailing to remote domains not supported") and ROUTER_DNSLOOKUP_IGNORE_TARGET_HOSTS
//   without 127.0.0.0/8 (where the lab's MX hosts live), in exim4.conf.localmacros or conf.d/main/000_danelab;
// - macro REMOTE_SMTP_INTERFACE = <source>: each column its own source address (the lab's greylisting and grading
//   tell columns apart by it), in the same file. A definition of either macro in the user's other macro files is
//   commented out (a second `=` is an error in Exim).
//
// Postfix (main.cf, master.cf):
// - main.cf `maillog_file` (no syslog in the container), `smtp_tls_loglevel = 1` when it is 0 (nothing about TLS is
//   logged at 0) and `smtp_bind_address` (the column's source address);
//   `relayhost` emptied when set, so Postfix looks up the MX records itself;
// - master.cf: `inet` services commented out (the container shares the host's network: the user's smtpd must not
//   take port 25), a `postlog` service added when missing (maillog_file needs it, Postfix ≥ 3.4).
// Everything that tests DANE — smtp_tls_security_level, smtp_dns_support_level, hosts_try_dane, ciphers — stays the
// user's. resolv.conf (the lab's nameserver, `options trust-ad`) is bind-mounted by clients/container.ts.
import { cpSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { debconfValue, eximPlan, type LabTarget, mainCfValue, setMainCf } from "./mta-config.js";

/** A check option cannot be used as given (missing directory, bad value): one paragraph with the fix. */
export class CheckInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CheckInputError";
  }
}

/** One change the lab made to its copy of the user's configuration, as printed before the check runs. */
export interface ConfigChange {
  /** Path relative to the configuration directory. */
  file: string;
  what: string;
}

export interface PreparedConfig {
  mta: "exim" | "postfix";
  /** The user's directory (read only). */
  source: string;
  /** The lab's edited copy, mounted into the container. */
  copy: string;
  changes: ConfigChange[];
  /** Exim: Debian's split configuration (conf.d/) rather than exim4.conf.template. */
  split?: boolean;
}

/** A configuration directory must exist and be a directory: checked before anything starts. */
function requireDir(dir: string, option: string, what: string): string {
  const abs = resolve(dir);
  let isDir = false;
  try {
    isDir = statSync(abs).isDirectory();
  } catch {
    // missing
  }
  if (!isDir) {
    throw new CheckInputError(
      `${option} ${dir}: ${existsSync(abs) ? "is not a directory" : "no such directory"}. Give a copy of ${what}, ` +
        `e.g. \`sudo cp -a ${what} ./my-${basename(what)}\` and then \`${option} ./my-${basename(what)}\`.`,
    );
  }
  return abs;
}

/** The column name part: the directory's base name, inside the lab's run-id alphabet ([A-Za-z0-9._-]). */
export function configName(dir: string): string {
  return (
    basename(resolve(dir))
      .replace(/[^A-Za-z0-9._-]+/g, "-")
      .replace(/^[-.]+|[-.]+$/g, "") || "config"
  );
}

// ---- Exim ----

/**
 * Comments out unconditional definitions of `macro` (`NAME = …` / `NAME == …`), keeping those that are the body of
 * an `.ifndef NAME` (Debian's own defaults). Returns the new text and the definitions it removed.
 */
export function commentOutMacro(text: string, macro: string): { text: string; removed: string[] } {
  const lines = text.split("\n");
  const removed: string[] = [];
  let previous = "";
  const def = new RegExp(`^\\s*${macro}\\s*==?`);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (def.test(line) && !new RegExp(`^\\.ifndef\\s+${macro}\\b`).test(previous)) {
      removed.push(line.trim());
      lines[i] = `# ${line}    # commented out by danelab check`;
    }
    if (line.trim()) previous = line.trim();
  }
  return { text: lines.join("\n"), removed };
}

/**
 * Pure: the edits for one Debian Exim configuration, `files` read relative to the directory (null: absent). The
 * configtype and routing edits are `danelab instructions`' own (clients/mta-config.ts eximPlan); the check adds the
 * column's source address (macro REMOTE_SMTP_INTERFACE, used by Debian's remote_smtp transport), and comments out the
 * user's definitions of either macro in other macro files (a second definition is an error in Exim).
 */
export function eximEdits(
  read: (file: string) => string | null,
  macroFiles: string[],
  lab: LabTarget,
  sourceAddress?: string,
): { writes: Record<string, string>; changes: ConfigChange[] } {
  const plan = eximPlan(lab, (path) => (path.startsWith(ETC_EXIM4) ? read(path.slice(ETC_EXIM4.length)) : null));
  const writes: Record<string, string> = {};
  const changes: ConfigChange[] = [];
  let macroFile = "";
  for (const f of plan.files) {
    if (!f.path.startsWith(ETC_EXIM4)) continue; // resolv.conf: bind-mounted by the container layer
    const file = f.path.slice(ETC_EXIM4.length);
    if (/localmacros|conf\.d\/main\//.test(file)) macroFile = file;
    if (f.content === read(file)) continue; // already as the instructions leave it
    writes[file] = f.content;
    for (const what of f.why) changes.push({ file, what });
  }
  const macros = ["ROUTER_DNSLOOKUP_IGNORE_TARGET_HOSTS", ...(sourceAddress ? ["REMOTE_SMTP_INTERFACE"] : [])];
  for (const file of macroFiles.filter((f) => f !== macroFile)) {
    let text = read(file);
    if (text === null) continue;
    for (const macro of macros) {
      const r = commentOutMacro(text, macro);
      text = r.text;
      for (const line of r.removed)
        changes.push({ file, what: `commented out your \`${line}\` (set in ${macroFile})` });
    }
    if (text !== read(file)) writes[file] = text;
  }
  if (sourceAddress) {
    const r = commentOutMacro(writes[macroFile] ?? read(macroFile) ?? "", "REMOTE_SMTP_INTERFACE");
    for (const line of r.removed) changes.push({ file: macroFile, what: `replaced your \`${line}\`` });
    writes[macroFile] =
      `${r.text.replace(/\n*$/, "\n")}# danelab check: this column's own source address (the lab tells columns apart by it).\n` +
      `REMOTE_SMTP_INTERFACE = ${sourceAddress}\n`;
    changes.push({ file: macroFile, what: `REMOTE_SMTP_INTERFACE = ${sourceAddress} (this column's source address)` });
  }
  return { writes, changes };
}

const ETC_EXIM4 = "/etc/exim4/";

function readIfPresent(path: string): string | null {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return null;
  }
}

/** Validates a copy of /etc/exim4, copies it to `copyDir` and applies `eximEdits` to the copy. */
export function prepareEximConfig(
  dir: string,
  copyDir: string,
  lab: LabTarget,
  sourceAddress?: string,
): PreparedConfig {
  const source = requireDir(dir, "--exim-config", "/etc/exim4");
  const conf = readIfPresent(join(source, "update-exim4.conf.conf"));
  if (conf === null) {
    throw new CheckInputError(
      `--exim-config ${dir}: has no update-exim4.conf.conf, so it is not a copy of Debian's /etc/exim4 (exim4-config). ` +
        "Copy the whole directory: `sudo cp -a /etc/exim4 ./my-exim4`. A hand-written exim4.conf without Debian's " +
        "generator is not supported by --exim-config; run it with --image and --start instead.",
    );
  }
  if (existsSync(join(source, "exim4.conf"))) {
    throw new CheckInputError(
      `--exim-config ${dir}: contains exim4.conf, a hand-written configuration that Exim reads instead of the one ` +
        "update-exim4.conf generates, so the lab's macros would not take effect. Check a Debian-generated " +
        "configuration (move exim4.conf out of the copy), or run your own with --image, --submit, --flush and --start.",
    );
  }
  const split = debconfValue(conf, "dc_use_split_config") === "true";
  if (split && !existsSync(join(source, "conf.d", "main"))) {
    throw new CheckInputError(
      `--exim-config ${dir}: update-exim4.conf.conf says dc_use_split_config='true', but conf.d/main/ is missing. ` +
        "Copy the whole /etc/exim4 (`sudo cp -a /etc/exim4 ./my-exim4`).",
    );
  }
  if (!split && !existsSync(join(source, "exim4.conf.template"))) {
    throw new CheckInputError(
      `--exim-config ${dir}: has no exim4.conf.template (Debian's non-split configuration, dc_use_split_config=` +
        "'false'). Copy the whole /etc/exim4 (`sudo cp -a /etc/exim4 ./my-exim4`).",
    );
  }
  const mainDir = join(source, "conf.d", "main");
  const macroFiles = split
    ? readdirSync(mainDir)
        .sort()
        .map((n) => `conf.d/main/${n}`)
    : ["exim4.conf.localmacros"];
  const { writes, changes } = eximEdits((f) => readIfPresent(join(source, f)), macroFiles, lab, sourceAddress);
  copyInto(source, copyDir, writes);
  return { mta: "exim", source, copy: copyDir, changes, split };
}

/** Copies the directory (modes kept, symlinks as links) and writes the edited files into the copy. */
function copyInto(source: string, copyDir: string, writes: Record<string, string>): void {
  try {
    cpSync(source, copyDir, { recursive: true, preserveTimestamps: true, verbatimSymlinks: true });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new CheckInputError(
      `Cannot copy ${source} (${e.code ?? e.message}${e.path ? `: ${e.path}` : ""}). Some files of a mail ` +
        "configuration are readable by root only (Exim's passwd.client, Postfix's sasl_passwd): run `danelab check` " +
        "as root, as `cp -a` of /etc/exim4 or /etc/postfix needs.",
    );
  }
  for (const [file, content] of Object.entries(writes)) {
    const path = join(copyDir, file);
    let mode = 0o644;
    try {
      mode = statSync(path).mode & 0o777;
    } catch {
      // new file
    }
    writeFileSync(path, content, { mode });
  }
}

// ---- Postfix ----

/** master.cf services: `name type private unpriv chroot wakeup maxproc command…`, continued by indented lines. */
function masterEntries(text: string): { name: string; type: string; start: number; end: number }[] {
  const lines = text.split("\n");
  const out: { name: string; type: string; start: number; end: number }[] = [];
  for (let i = 0; i < lines.length; i++) {
    const m = /^([^\s#]\S*)\s+(\S+)/.exec(lines[i]!);
    if (!m) continue;
    let end = i;
    while (end + 1 < lines.length && /^[ \t]+\S/.test(lines[end + 1]!) && !/^\s*#/.test(lines[end + 1]!)) end++;
    out.push({ name: m[1]!, type: m[2]!, start: i, end });
  }
  return out;
}

/** Debian's own postlog line (master.cf of postfix 3.7). */
const POSTLOG_SERVICE = "postlog   unix-dgram n  -       n       -       1       postlogd";

/** Pure: the edits for one Postfix configuration. */
export function postfixEdits(
  mainCf: string,
  masterCf: string,
  o: { logFile: string; sourceAddress?: string },
): { writes: Record<string, string>; changes: ConfigChange[] } {
  const changes: ConfigChange[] = [];
  let main = mainCf;
  const set = (name: string, value: string, why: string) => {
    const was = mainCfValue(main, name);
    if (was === value) return;
    main = setMainCf(main, name, value);
    changes.push({ file: "main.cf", what: `${name} = ${value}${was === null ? "" : ` (was: ${was})`}: ${why}` });
  };
  set("maillog_file", o.logFile, "the container has no syslog; the check reads the outcomes here");
  // Level 0 (Debian's default) logs no TLS at all: every delivery would read as cleartext.
  const tlsLog = mainCfValue(main, "smtp_tls_loglevel");
  if (!tlsLog || tlsLog === "0")
    set("smtp_tls_loglevel", "1", "logs the TLS and DANE verification of each delivery, which the check reads");
  if (o.sourceAddress) set("smtp_bind_address", o.sourceAddress, "this column's source address");
  const relay = mainCfValue(main, "relayhost");
  if (relay) set("relayhost", "", "the check needs Postfix's own MX lookups and DANE, not a relay host");

  const lines = masterCf.split("\n");
  const services = masterEntries(masterCf);
  const inet = services.filter((s) => s.type === "inet");
  for (const s of inet) for (let i = s.start; i <= s.end; i++) lines[i] = `#danelab# ${lines[i]}`;
  if (inet.length > 0)
    changes.push({
      file: "master.cf",
      what: `commented out the listening service(s) ${inet.map((s) => `${s.name}/inet`).join(", ")} (the container shares the host's network; the check submits with sendmail)`,
    });
  let master = lines.join("\n");
  if (!services.some((s) => s.name === "postlog" && s.type === "unix-dgram")) {
    master = `${master.replace(/\n*$/, "\n")}# maillog_file needs postlogd (danelab check)\n${POSTLOG_SERVICE}\n`;
    changes.push({ file: "master.cf", what: "added the postlog service (maillog_file needs it)" });
  }
  const writes: Record<string, string> = { "main.cf": main };
  if (master !== masterCf) writes["master.cf"] = master;
  return { writes, changes };
}

/** Validates a copy of /etc/postfix, copies it to `copyDir` and applies `postfixEdits` to the copy. */
export function preparePostfixConfig(
  dir: string,
  copyDir: string,
  o: { logFile: string; sourceAddress?: string },
): PreparedConfig {
  const source = requireDir(dir, "--postfix-config", "/etc/postfix");
  const mainCf = readIfPresent(join(source, "main.cf"));
  const masterCf = readIfPresent(join(source, "master.cf"));
  if (mainCf === null || masterCf === null) {
    throw new CheckInputError(
      `--postfix-config ${dir}: has no ${mainCf === null ? "main.cf" : "master.cf"}, so it is not a copy of ` +
        "/etc/postfix. Copy the whole directory: `sudo cp -a /etc/postfix ./my-postfix`.",
    );
  }
  const { writes, changes } = postfixEdits(mainCf, masterCf, o);
  copyInto(source, copyDir, writes);
  return { mta: "postfix", source, copy: copyDir, changes };
}

/** The changes as printed before the check runs. */
export function describeChanges(column: string, p: PreparedConfig): string[] {
  return [
    `${column}: checking a copy of ${p.source} (in ${p.copy}); the lab changed:`,
    ...p.changes.map((c) => `  ${c.file}: ${c.what}`),
    "  /etc/resolv.conf: the lab's nameserver with `options trust-ad edns0` (bind-mounted; glibc strips the AD bit without trust-ad)",
  ];
}
