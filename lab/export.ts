// `danelab export`: the lab's data for other tools — every signed zone in RFC 1035 presentation form (for NSD, BIND,
// ldns-verify-zone), trust anchors for unbound/delv/BIND (the file list is zones/ `exportFiles`, which `danelab up`
// also writes into its state directory), and every certificate chain and key as PEM.
//
// The output directory must be new or empty (or the user says --force), and nothing is written through a symbolic
// link: each file is unlinked and created afresh with O_EXCL (which refuses a link in its place), and the directory
// itself and its zones/ and certs/ must be real directories. Private keys are written 0600 inside a 0700 certs/.
import {
  closeSync,
  constants,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeSync,
} from "node:fs";
import { join, resolve } from "node:path";
import { chainPem } from "../certs/index.js";
import { exportFiles } from "../zones/index.js";
import { buildLab, type LabOptions } from "./up.js";

/** The output directory cannot be used: one paragraph with the cause and the fix. */
export class ExportError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ExportError";
  }
}

export async function exportLab(outDir: string, options: LabOptions & { force?: boolean }): Promise<string[]> {
  const force = options.force === true;
  checkOutDir(outDir, force);
  const built = await buildLab(options);
  const written: string[] = [];
  const write = (path: string, text: string | Buffer, mode = 0o644) => {
    writeNoFollow(path, text, mode);
    written.push(path);
  };
  realDir(outDir, 0o755, force);
  realDir(join(outDir, "zones"), 0o755, force);
  realDir(join(outDir, "certs"), 0o700, force);
  for (const file of exportFiles(built.tree)) write(join(outDir, file.path), file.text);
  for (const name of built.pki.names()) {
    const cert = built.pki.get(name);
    const base = join(outDir, "certs", name.replaceAll("/", "_"));
    write(`${base}.crt`, cert.pem);
    write(`${base}.key`, readFileSync(cert.keyPath), 0o600);
  }
  for (const sp of built.plan.scenarios) {
    for (const h of sp.hosts) {
      write(join(outDir, "certs", `${h.name}.chain.pem`), chainPem(built.pki, h.chain));
    }
  }
  return written;
}

/** Refuses a symlinked, non-directory or (without force) non-empty output directory, before any work. */
function checkOutDir(outDir: string, force: boolean): void {
  let st: ReturnType<typeof lstatSync>;
  try {
    st = lstatSync(outDir);
  } catch {
    return; // new: created later
  }
  if (st.isSymbolicLink()) {
    throw new ExportError(
      `--out ${outDir} is a symbolic link; danelab export writes only into a real directory, so that no file lands ` +
        `somewhere else. Give the directory it points to (${resolve(outDir)} resolved), or a new directory.`,
    );
  }
  if (!st.isDirectory()) throw new ExportError(`--out ${outDir} exists and is not a directory; give a new directory.`);
  const entries = readdirSync(outDir);
  if (entries.length > 0 && !force) {
    const shown = entries.slice(0, 5).join(", ") + (entries.length > 5 ? ", …" : "");
    throw new ExportError(
      `--out ${outDir} is not empty (${entries.length} ${entries.length === 1 ? "entry" : "entries"}: ${shown}); danelab export would overwrite files ` +
        "there. Give a new or empty directory, or add --force to replace the files danelab writes (others are left " +
        "alone).",
    );
  }
}

/** `path` as a real directory: created when missing; a symlink or file in its place is removed only with force. */
function realDir(path: string, mode: number, force: boolean): void {
  let st: ReturnType<typeof lstatSync> | undefined;
  try {
    st = lstatSync(path);
  } catch {
    st = undefined;
  }
  if (st?.isDirectory()) return;
  if (st) {
    if (!force) throw new ExportError(`${path} exists and is not a directory; remove it or add --force.`);
    rmSync(path, { force: true }); // a symlink: the link goes, never what it points to
  }
  mkdirSync(path, { mode });
}

/** Writes a file without following a symlink in its place: unlink, then create exclusively (O_EXCL refuses links). */
function writeNoFollow(path: string, data: string | Buffer, mode: number): void {
  rmSync(path, { force: true });
  const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, mode);
  try {
    writeSync(fd, typeof data === "string" ? Buffer.from(data) : data);
  } finally {
    closeSync(fd);
  }
}
