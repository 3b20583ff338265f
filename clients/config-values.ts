// Checks for every value `danelab check` writes into a client container's configuration (exim.conf, main.cf,
// resolv.conf), passes to its shell (recipients as sendmail arguments) or to Docker (bind-mount paths). Some come from
// the user (--source addresses, --state-dir), some from the lab's manifest — which `--lab-url` fetches from another
// machine, so it is input too. A newline, space or `$` in any of them would add configuration lines or reach Exim's
// string expansion; each is checked for its exact shape before any container starts, with one paragraph naming the
// value, where it came from and the fix. (--submit/--flush/--start of `--image` are shell commands on purpose.)
import { isIP } from "node:net";
import { withoutTrailingDot } from "../zones/names.js";
import { LabAccessError } from "./lab-api.js";
import { CheckInputError } from "./user-config.js";

/** Where a value came from: the user's options, or the lab's manifest (then the fix is on the lab's side). */
export type ValueSource = { option: string } | { manifest: string };

function fail(source: ValueSource, value: string, what: string, fix: string): never {
  const shown = JSON.stringify(value);
  if ("option" in source) throw new CheckInputError(`${source.option} ${shown} ${what}. ${fix}`);
  throw new LabAccessError(
    `The lab's manifest gives ${source.manifest} as ${shown}, which ${what}. It is written into the client ` +
      "containers' configuration, so danelab check stops here. Point --lab-url/--manifest at a danelab lab, or " +
      "restart the lab to rewrite its manifest.",
  );
}

/** An IPv4 or IPv6 address literal (node:net isIP): Exim `interface`, Postfix `smtp_bind_address`, `nameserver`. */
export function checkAddress(value: string, source: ValueSource): string {
  if (isIP(value) === 0) {
    fail(source, value, "is not an IP address", "Give an address such as 127.0.26.1 (or an IPv6 address).");
  }
  return value;
}

/**
 * A DNS name in presentation form without escapes (RFC 1035 §2.3.1, with `_` allowed as in service labels): labels
 * of 1–63 letters, digits, `-` and `_`, not starting or ending with `-`, at most 253 characters; a trailing dot is
 * allowed. This is what Postfix `dnssec_probe = ns:<suffix>` and a sendmail recipient `run-<id>@<domain>` can carry.
 */
export function checkDnsName(value: string, source: ValueSource): string {
  const name = withoutTrailingDot(value);
  const label = /^(?!-)[A-Za-z0-9_-]{1,63}(?<!-)$/;
  if (!name || name.length > 253 || !name.split(".").every((l) => label.test(l))) {
    fail(
      source,
      value,
      "is not a DNS name",
      "A name is labels of letters, digits, '-' and '_' (1–63 each, 253 in all) joined by dots, e.g. lab.example.",
    );
  }
  return value;
}

/**
 * A host directory Docker bind-mounts into a container: its bind syntax is `source:target:mode` and rejects
 * commas and newlines, so the path must hold none of `:`, `,` or a control character.
 */
export function checkMountPath(value: string, source: ValueSource): string {
  const bad = [...value].find((ch) => ch === ":" || ch === "," || ch.charCodeAt(0) < 0x20 || ch === "\x7f");
  if (bad !== undefined) {
    fail(
      source,
      value,
      `contains ${JSON.stringify(bad)}, which Docker's bind-mount syntax (source:target:mode) cannot carry`,
      "Use a directory whose path has no ':' , ',' or control characters.",
    );
  }
  return value;
}
