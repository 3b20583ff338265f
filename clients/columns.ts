// The columns of `danelab check`: which MTAs a check runs (built-in clients, a user's Exim or Postfix configuration, any
// MTA image), in which order and under which unique names, the image each needs, and the driver that runs it.
// check.ts runs them; the drivers are in exim.ts, postfix.ts, probe.ts and generic.ts.
import { type BuiltinClient, resolveClients } from "./builtin.js";
import type { CheckOptions } from "./check.js";
import { clientImage } from "./container.js";
import type { DriverOptions, MtaDriver } from "./driver.js";
import { eximDriver, eximUserDriver } from "./exim.js";
import { checkGenericMta, type GenericMta, genericDriver, imageName } from "./generic.js";
import { postfixDriver, postfixUserDriver } from "./postfix.js";
import { probeDriver } from "./probe.js";
import { CheckInputError, configName, type PreparedConfig } from "./user-config.js";

/**
 * What `danelab check` runs when no client is named: today's Debian stable (13, trixie) Exim and Postfix, plus the
 * seed's pair on Debian 12 — Exim with GnuTLS, as Debian ships it, and the same Exim rebuilt with OpenSSL.
 */
export const DEFAULT_CLIENTS = ["exim@trixie", "postfix@trixie", "exim@bookworm", "exim-openssl@bookworm"] as const;

/** What one column runs: a built-in client, a user's configuration directory, or any MTA image. */
export type ColumnKind =
  | { kind: "builtin"; name: string; client: BuiltinClient }
  | { kind: "exim-config" | "postfix-config"; name: string; dir: string }
  | { kind: "image"; name: string; mta: GenericMta };

/**
 * The columns in order: built-in clients, then --exim-config, --postfix-config, --image. Without --client the
 * built-in ones run only when no user MTA is given. Names are unique (a second `exim:etc` becomes `exim:etc-2`).
 */
export function planColumns(o: CheckOptions): ColumnKind[] {
  const user = (o.eximConfigs?.length ?? 0) + (o.postfixConfigs?.length ?? 0) + (o.generic ? 1 : 0);
  const builtin = resolveClients(o.clients ?? (user > 0 ? [] : [...DEFAULT_CLIENTS]));
  const kinds: ColumnKind[] = builtin.map((client) => ({ kind: "builtin", name: client.name, client }));
  const unique = (name: string) => {
    let n = name;
    for (let i = 2; kinds.some((k) => k.name === n); i++) n = `${name}-${i}`;
    return n;
  };
  for (const dir of o.eximConfigs ?? [])
    kinds.push({ kind: "exim-config", name: unique(`exim:${configName(dir)}`), dir });
  for (const dir of o.postfixConfigs ?? [])
    kinds.push({ kind: "postfix-config", name: unique(`postfix:${configName(dir)}`), dir });
  if (o.generic) {
    const mta = checkGenericMta(o.generic);
    kinds.push({ kind: "image", name: unique(`image:${imageName(mta.image)}`), mta });
  }
  if (kinds.length === 0) {
    throw new CheckInputError(
      "Nothing to check: give --client (exim, exim-try, exim-strict, postfix), --exim-config DIR, --postfix-config " +
        "DIR, or --image IMAGE with --submit and --flush.",
    );
  }
  return kinds;
}

export function imageOf(kind: ColumnKind, o: CheckOptions): string {
  switch (kind.kind) {
    case "image":
      return kind.mta.image;
    case "exim-config":
      return o.eximImage ?? clientImage("exim");
    case "postfix-config":
      return o.postfixImage ?? clientImage("postfix");
    default:
      return clientImage(kind.client.image);
  }
}

export function makeDriver(
  id: string,
  kind: ColumnKind,
  config: PreparedConfig | undefined,
  o: DriverOptions,
  pending: () => Promise<number>,
): MtaDriver {
  switch (kind.kind) {
    case "exim-config":
      return eximUserDriver(config!, id, o);
    case "postfix-config":
      return postfixUserDriver(config!, id, o);
    case "image":
      return genericDriver(kind.mta, id, { ...o, pending });
    default:
      // The column id (with its DNS mode) names the container and its work directory: two modes, two resolv.confs.
      switch (kind.client.driver) {
        case "postfix":
          return postfixDriver(o, id);
        case "exim-try":
        case "exim-strict":
          return eximDriver(kind.client.driver === "exim-try" ? "try" : "strict", o, id);
        default:
          return probeDriver(kind.client.driver, id, o);
      }
  }
}
