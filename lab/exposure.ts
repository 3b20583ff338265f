// What the lab may claim and where it may be reached. A lab is for one user's loopback: its HTTP API has no
// authentication (it serves every stored message and event, and changes greylisting), its DNS server answers anyone
// (a reflector for amplification), and its SMTP listeners take mail for the lab's domains from anyone. So every
// listener defaults to 127.0.0.0/8; an address outside it is refused unless the user says --allow-remote, and then a
// warning names what becomes reachable. And the lab serves — and accepts mail for — every name under its suffix, so the
// suffix must be a name nobody else uses (RFC 2606 / RFC 6761 reserved names) unless the user says otherwise.
import { isIPv4 } from "node:net";
import { normalizeName } from "../zones/names.js";

/** A listener address or suffix the user must confirm (or change): one paragraph with the cause and the fix. */
export class ExposureError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ExposureError";
  }
}

/** 127.0.0.0/8 (RFC 1122 §3.2.1.3: loopback, never leaves the host) or ::1. */
export function isLoopback(address: string): boolean {
  if (isIPv4(address)) return address.split(".")[0] === "127";
  return /^(::1|0*:0*:0*:0*:0*:0*:0*:0*1)$/i.test(address);
}

export interface Listeners {
  http?: string | null;
  dns: string;
  smtp: string[];
  resolver?: string | null;
  /** The MTA-STS policy server, when it has an address of its own (else it shares the DNS address). */
  sts?: string | null;
}

/**
 * Checks that every listener is on loopback. Returns the warnings to print when `allowRemote` lets some listen
 * elsewhere; throws ExposureError when one would without it.
 */
export function checkListeners(listeners: Listeners, allowRemote: boolean): string[] {
  const outside: { option: string; address: string; what: string }[] = [];
  if (listeners.http && !isLoopback(listeners.http)) {
    outside.push({
      option: "--http-address",
      address: listeners.http,
      what:
        "the HTTP API, which has no authentication: anyone who reaches it reads every stored message and the event " +
        "log and changes greylisting",
    });
  }
  if (!isLoopback(listeners.dns)) {
    outside.push({
      option: "--dns-address",
      address: listeners.dns,
      what: "the DNS server, which answers anyone and can be abused as a reflector for amplification attacks",
    });
  }
  const smtp = listeners.smtp.filter((a) => !isLoopback(a));
  if (smtp.length) {
    outside.push({
      option: "--smtp-address",
      address: smtp.length === 1 ? smtp[0]! : `${smtp[0]} … ${smtp.at(-1)}`,
      what: "the SMTP listeners, which accept mail for the lab's domains from anyone",
    });
  }
  if (listeners.resolver && !isLoopback(listeners.resolver)) {
    outside.push({
      option: "--resolver-address",
      address: listeners.resolver,
      what: "the unbound resolver, an open recursive resolver for the lab's zones",
    });
  }
  if (listeners.sts && !isLoopback(listeners.sts)) {
    outside.push({
      option: "--sts-address",
      address: listeners.sts,
      what: "the MTA-STS policy server, which serves the lab's policies to anyone",
    });
  }
  if (outside.length === 0) return [];
  const list = outside.map((o) => `${o.option} ${o.address} exposes ${o.what}`).join("; ");
  if (!allowRemote) {
    throw new ExposureError(
      `The lab listens only on loopback (127.0.0.0/8) unless told otherwise: ${list}. Use a 127.x.y.z address ` +
        "(the defaults are 127.0.0.1 for HTTP, 127.0.53.1 for DNS, 127.0.25.1 for SMTP), or, on a network you " +
        "trust, add --allow-remote to listen there anyway.",
    );
  }
  return outside.map(
    (o) =>
      `WARNING: --allow-remote: ${o.option} ${o.address} exposes ${o.what}. Stop the lab (Ctrl-C) when you no ` +
      "longer need it reachable.",
  );
}

/**
 * Reserved names no one can register, so a lab under them never shadows a real domain: RFC 2606 §2–3 (example, test,
 * invalid, localhost; example.com/net/org), RFC 6761 §6, RFC 8375 (home.arpa), and ICANN's 2024 reservation of
 * .internal for private use.
 */
const RESERVED = ["example", "test", "invalid", "localhost", "example.com", "example.net", "example.org", "home.arpa"];
const PRIVATE_USE = ["internal"];

/**
 * Checks the lab suffix: a syntactically valid DNS name of at least two labels under a reserved name, or (with
 * `allowAnySuffix`) any name of at least two labels that the user owns. Throws ExposureError otherwise.
 */
export function checkSuffix(suffix: string, allowAnySuffix: boolean): void {
  const name = normalizeName(suffix);
  const labels = name.split(".");
  // RFC 1035 §2.3.4 sizes; RFC 952/1123 letters-digits-hyphen host names (an underscore would break MX host names).
  if (name.length === 0 || name.length > 200 || labels.some((l) => !/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(l))) {
    throw new ExposureError(
      `--suffix "${suffix}" is not a DNS name the lab can use: each label must be 1–63 letters, digits or hyphens ` +
        "(not starting or ending with a hyphen), and the whole name at most 200 characters, leaving room for the " +
        "scenario labels. The default is lab.example.",
    );
  }
  const under = [...RESERVED, ...PRIVATE_USE].find((r) => name === r || name.endsWith(`.${r}`));
  if (labels.length < 2 || (under !== undefined && name === under)) {
    throw new ExposureError(
      `--suffix "${suffix}" is ${labels.length < 2 ? "a single label (a top-level domain)" : "a reserved name itself"}: ` +
        `the lab would serve and accept mail for every domain under .${name}. Choose a name below it, such as ` +
        `lab.${labels.length < 2 ? "example" : name} (the default is lab.example).`,
    );
  }
  if (under === undefined && !allowAnySuffix) {
    throw new ExposureError(
      `--suffix "${suffix}" is not under a reserved name, so it may shadow real domains: the lab answers DNS for ` +
        `every name under ${name} and accepts mail for every address there, and an MTA pointed at the lab would ` +
        "deliver real mail for them into it. Use a name under .example, .test, .invalid, .localhost, .internal or " +
        `home.arpa (RFC 2606, RFC 6761, RFC 8375), such as lab.example; or, if you own ${name}, add --allow-any-suffix.`,
    );
  }
}
