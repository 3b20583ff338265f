// `danelab check` as a command: the options as commander parses them (lists as arrays or comma-separated strings),
// checked and turned into runCheck's options; the matrix printed in the chosen format; the exit code.
import { join } from "node:path";
import { type DnsMode, runCheck } from "./check.js";
import { formatMatrix, MATRIX_FORMATS, type MatrixFormat } from "./matrix.js";
import { listOption } from "./runs.js";
import { CheckInputError } from "./user-config.js";

/** Options as `danelab check` parses them (commander): lists as arrays or comma-separated strings. */
export interface CheckCommandOptions {
  client?: string | string[];
  mode?: string | string[];
  only?: string | string[];
  format?: string;
  /** The lab's manifest; default `<stateDir>/manifest.json`. */
  manifest?: string;
  labUrl?: string;
  /** The lab's state directory (default `.lab`): its manifest is read and the results are saved under it. */
  stateDir?: string;
  eximDaneCiphers?: string;
  eximConfig?: string | string[];
  postfixConfig?: string | string[];
  eximImage?: string;
  postfixImage?: string;
  image?: string;
  submit?: string;
  flush?: string;
  log?: string;
  start?: string;
}

/** Like listOption, but an option given with nothing in it stays an empty list. */
const listOf = (v: string | string[] | undefined): string[] | undefined =>
  v === undefined ? undefined : (listOption(v) ?? []);

/**
 * The whole `danelab check` command: runs the matrix, prints it to stdout in the chosen format, returns the exit code
 * (0 all graded cells pass, 1 some failed, 2 a client could not run). Bad options throw an Error with a message.
 */
export async function checkCommand(o: CheckCommandOptions): Promise<number> {
  const format = (o.format ?? "table") as MatrixFormat;
  if (!MATRIX_FORMATS.includes(format)) {
    throw new CheckInputError(`unknown --format "${o.format}": choose one of ${MATRIX_FORMATS.join(", ")}`);
  }
  const modes = (listOf(o.mode) ?? ["resolver"]) as DnsMode[];
  for (const m of modes) {
    if (m !== "resolver" && m !== "unbound")
      throw new CheckInputError(`unknown --mode "${m}": choose resolver, unbound or both`);
  }
  const only = listOf(o.only);
  const manifestPath =
    o.manifest ?? (o.labUrl && !o.stateDir ? undefined : join(o.stateDir ?? ".lab", "manifest.json"));
  const generic = o.image !== undefined ? { image: o.image } : undefined;
  const orphan = (["submit", "flush", "log", "start"] as const).filter((k) => o[k] !== undefined);
  if (!generic && orphan.length > 0) {
    throw new CheckInputError(
      `${orphan.map((k) => `--${k}`).join(", ")} only work(s) with --image IMAGE (any MTA image): give the image, ` +
        "or use --exim-config/--postfix-config for a Debian Exim or Postfix configuration.",
    );
  }
  const clients = listOf(o.client);
  // Directories are taken whole (a name may hold a comma); the option repeats for several.
  const eximConfigs = o.eximConfig === undefined ? undefined : [o.eximConfig].flat();
  const postfixConfigs = o.postfixConfig === undefined ? undefined : [o.postfixConfig].flat();
  const result = await runCheck({
    ...(clients ? { clients } : {}),
    ...(eximConfigs ? { eximConfigs } : {}),
    ...(postfixConfigs ? { postfixConfigs } : {}),
    ...(o.eximImage ? { eximImage: o.eximImage } : {}),
    ...(o.postfixImage ? { postfixImage: o.postfixImage } : {}),
    ...(generic
      ? {
          generic: {
            ...generic,
            ...(o.submit !== undefined ? { submit: o.submit } : {}),
            ...(o.flush !== undefined ? { flush: o.flush } : {}),
            ...(o.log !== undefined ? { log: o.log } : {}),
            ...(o.start !== undefined ? { start: o.start } : {}),
          },
        }
      : {}),
    modes,
    ...(only?.length ? { only } : {}),
    ...(manifestPath ? { manifestPath } : {}),
    ...(o.labUrl ? { labUrl: o.labUrl } : {}),
    ...(o.stateDir ? { stateDir: o.stateDir } : {}),
    ...(o.eximDaneCiphers ? { eximDaneCiphers: o.eximDaneCiphers } : {}),
  });
  // When no column ran, the matrix would be empty: the reasons (already printed) are all there is to say.
  if (result.matrix.columns.some((c) => !c.error)) process.stdout.write(formatMatrix(result.matrix, format));
  process.stderr.write(`check: results saved in ${result.dir}\n`);
  return result.exitCode;
}

/** The name cli/main.ts imports. */
export const runCheckCommand = checkCommand;
