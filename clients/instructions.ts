// `danelab instructions --mta exim|postfix|resolver [--out DIR]`: the plan of clients/mta-config.ts made from this
// host's current files (or those under --root), printed, and with --out written as a tree that mirrors `/`, so that
// `cp -a DIR/. /` applies it. The lab is found through its manifest or HTTP API only.
import { chmodSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { withoutTrailingDot } from "../zones/names.js";
import { checkAddress, checkDnsName } from "./config-values.js";
import { fetchManifest, LabAccessError, type LabManifest, readManifest } from "./lab-api.js";
import { formatPlan, type LabTarget, MTA_KINDS, type MtaKind, type MtaPlan, mtaPlan } from "./mta-config.js";

export interface InstructionsOptions {
  mta: string;
  out?: string;
  /** Read the MTA's current files under this directory instead of `/`. */
  root?: string;
  stateDir: string;
  labUrl?: string;
}

/** The nameserver and suffix an MTA must use for this lab (its validating resolver when it runs one). */
export function labTarget(manifest: LabManifest): LabTarget {
  const dns = manifest.dns.resolver ?? { address: manifest.dns.address, port: manifest.dns.port };
  if (dns.port !== 53) {
    throw new LabAccessError(
      `The lab's DNS listens on port ${dns.port}, and an MTA's resolv.conf can only name port 53. Restart the lab ` +
        "with its DNS on port 53 (the default; it needs root or CAP_NET_BIND_SERVICE).",
    );
  }
  // Both are written into the MTA's configuration (resolv.conf, dnssec_probe): checked for their shape first.
  const where = manifest.dns.resolver ? "dns.resolver.address" : "dns.address";
  return {
    nameserver: checkAddress(dns.address, { manifest: where }),
    suffix: withoutTrailingDot(checkDnsName(manifest.suffix, { manifest: "suffix" })),
  };
}

/** Reads `path` under `root`; a missing file is null, anything else unreadable is an error naming it. */
export function filesUnder(root: string): (path: string) => string | null {
  return (path) => {
    const full = join(root, path);
    try {
      return readFileSync(full, "utf8");
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "ENOENT" || code === "ENOTDIR") return null;
      throw new LabAccessError(`Cannot read ${full} (${code ?? (err as Error).message}): run as root, or use --root.`);
    }
  };
}

/**
 * Writes the plan's files under `outDir` as they go under `/`. Every directory is 0755 and every file 0644, because
 * `cp -a DIR/. /` also copies DIR's own mode onto `/`: a 0700 DIR would lock every other user out of the system.
 * The directory must be new or empty; nothing in it is followed or overwritten.
 */
export function writePlanTree(plan: MtaPlan, outDir: string): string[] {
  const out = resolve(outDir);
  let entries: string[] | null = null;
  try {
    entries = readdirSync(out);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") {
      throw new LabAccessError(
        `Cannot use ${out} as --out (${(err as NodeJS.ErrnoException).code}): give a new directory.`,
      );
    }
  }
  if (entries && entries.length > 0) {
    throw new LabAccessError(
      `--out ${out} is not empty (${entries.slice(0, 3).join(", ")}${entries.length > 3 ? ", …" : ""}). The tree is ` +
        "copied onto / with 'cp -a', so it must hold only danelab's files: give a new or empty directory.",
    );
  }
  mkdirSync(out, { recursive: true, mode: 0o755 });
  if (lstatSync(out).isSymbolicLink())
    throw new LabAccessError(`--out ${out} is a symbolic link: give a real directory.`);
  const written: string[] = [];
  for (const f of plan.files) {
    const target = join(out, f.path);
    mkdirSync(dirname(target), { recursive: true, mode: 0o755 });
    writeFileSync(target, f.content, { mode: 0o644, flag: "wx" });
    written.push(target);
  }
  chmodTree(out, plan);
  return written;
}

/** mkdir's mode is masked by the umask; set the modes explicitly. */
function chmodTree(out: string, plan: MtaPlan): void {
  const dirs = new Set<string>([out]);
  for (const f of plan.files) {
    for (let d = dirname(join(out, f.path)); d.startsWith(out) && d !== out; d = dirname(d)) dirs.add(d);
  }
  for (const d of dirs) chmodSync(d, 0o755);
  for (const f of plan.files) chmodSync(join(out, f.path), 0o644);
}

/**
 * /etc/resolv.conf as a symbolic link (systemd-resolved, resolvconf): `cp -a` writes through the link into a file
 * the resolver manager rewrites, so the lab's nameserver would not last. Says so, with what to do instead.
 */
export function resolvConfLinkNote(root: string): string | null {
  const path = join(root, "etc/resolv.conf");
  try {
    if (!lstatSync(path).isSymbolicLink()) return null;
  } catch {
    return null;
  }
  return (
    `/etc/resolv.conf here is a symbolic link (to ${readlinkSync(path)}): a resolver manager (systemd-resolved, ` +
    "resolvconf) owns it and will overwrite what is copied through it. Replace the link by the file first " +
    "('rm /etc/resolv.conf' before the copy, and keep the link's target for the undo: 'ln -s <target> /etc/resolv.conf'), " +
    "or point the resolver manager at the lab's DNS."
  );
}

/** How the user ran danelab: through npm (npm run, npx) from a checkout, or an installed `danelab`. */
export function cliName(): string {
  return process.env["npm_lifecycle_event"] ? "npx danelab" : "danelab";
}

export async function runInstructionsCommand(opts: InstructionsOptions): Promise<string> {
  if (!(MTA_KINDS as readonly string[]).includes(opts.mta)) {
    throw new LabAccessError(`unknown --mta "${opts.mta}": choose from ${MTA_KINDS.join(", ")}.`);
  }
  const manifest = opts.labUrl ? await fetchManifest(opts.labUrl) : readManifest(join(opts.stateDir, "manifest.json"));
  const lab = labTarget(manifest);
  const root = opts.root ?? "/";
  const plan = mtaPlan(opts.mta as MtaKind, lab, filesUnder(root));
  const resolvNote = resolvConfLinkNote(root);
  if (resolvNote) plan.notes.push(resolvNote);
  let text = formatPlan(plan, lab, opts.out ? resolve(opts.out) : undefined, cliName());
  if (opts.out) {
    const written = writePlanTree(plan, opts.out);
    text += `\n\nWrote ${written.length} files under ${resolve(opts.out)}.`;
    if (process.getuid?.() !== 0) {
      text +=
        " You are not root, so these files are yours: apply them with 'sudo cp -r --preserve=mode " +
        `${resolve(opts.out)}/. /' rather than 'cp -a', which would also copy your ownership onto /.`;
    }
  }
  return text;
}
