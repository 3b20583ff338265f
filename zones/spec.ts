// A zone spec as the caller wrote it, checked and normalised before anything is built: the algorithm is one the lab
// signs with, there is a name server, the NSEC3 parameters are in range (RFC 5155 §3.1), every record lies inside the
// zone, is not one the builder generates itself and can be encoded; names are lower-case without the trailing dot.
import { ALGORITHM_NAMES, type Algorithm } from "./keys.js";
import { normalizeName } from "./names.js";
import type { Nsec3Params } from "./nsec3.js";
import { ZoneError, type ZoneFault, type ZoneSpec } from "./types.js";
import { type Answer, canonicalRdata, isInOrSelf } from "./wire.js";

/** Types the zone builder generates itself; a spec listing them is an error. */
const GENERATED = new Set(["SOA", "NS", "DNSKEY", "NSEC", "NSEC3", "NSEC3PARAM", "RRSIG", "DS"]);

/** Names in record data, normalised like owner names. */
function normalizeRecord(rr: Answer, origin: string): Answer {
  const name = normalizeName(rr.name);
  const out = { ...rr, name, class: "IN", ttl: (rr as { ttl?: number }).ttl ?? 300 } as Answer & { data: unknown };
  const data = (rr as { data: unknown }).data;
  switch (rr.type) {
    case "TXT":
      // dns-packet turns the strings of a TXT array into Buffers in place: keep the caller's array as it was.
      if (Array.isArray(data)) out.data = [...data];
      break;
    case "CNAME":
    case "DNAME":
    case "PTR":
    case "NS":
      out.data = normalizeName(data as string);
      break;
    case "MX":
      out.data = { ...(data as object), exchange: normalizeName((data as { exchange: string }).exchange) };
      break;
    case "SRV":
      out.data = { ...(data as object), target: normalizeName((data as { target: string }).target) };
      break;
  }
  try {
    canonicalRdata(out);
  } catch (err) {
    throw new ZoneError(
      `zone ${origin || "."}: the ${rr.type} record at ${name || "."} cannot be encoded (${(err as Error).message}); ` +
        "check its data field against dns-packet's record format",
    );
  }
  return out;
}

function normalizeFault(f: ZoneFault): ZoneFault {
  return { ...f, name: normalizeName(f.name), type: f.type.toUpperCase() };
}

export interface Prepared {
  spec: ZoneSpec;
  origin: string;
  records: Answer[];
  nameservers: { name: string; address: string }[];
  faults: ZoneFault[];
  algorithm: Algorithm;
  nsec3: Nsec3Params | undefined;
  parent: string | undefined;
  children: string[];
}

export function prepare(spec: ZoneSpec): Omit<Prepared, "parent" | "children"> {
  const origin = normalizeName(spec.origin);
  const where = `zone ${origin || "."}`;
  const algorithm = spec.algorithm ?? 13;
  if (!Object.keys(ALGORITHM_NAMES).map(Number).includes(algorithm)) {
    throw new ZoneError(
      `${where}: algorithm ${algorithm} is not supported; use 8 (RSASHA256), 13 (ECDSAP256SHA256), 15 (ED25519) or 1 (RSAMD5, which validators do not implement)`,
    );
  }
  if (!spec.nameservers?.length) {
    throw new ZoneError(`${where}: no name servers; give at least one { name, address } in nameservers`);
  }
  const nsec3 = nsec3Params(spec, where);
  const records = (spec.records ?? []).map((rr) => normalizeRecord(rr, origin));
  for (const rr of records) {
    if (!isInOrSelf(rr.name, origin)) {
      throw new ZoneError(
        `${where}: the ${rr.type} record at ${rr.name || "."} lies outside the zone; move it to the zone that holds that name`,
      );
    }
    if (GENERATED.has(rr.type)) {
      throw new ZoneError(
        `${where}: ${rr.type} records are generated (found one at ${rr.name || "."}); remove it from the records`,
      );
    }
  }
  return {
    spec,
    origin,
    records,
    nameservers: spec.nameservers.map((ns) => ({ name: normalizeName(ns.name), address: ns.address })),
    faults: (spec.faults ?? []).map(normalizeFault),
    algorithm,
    nsec3,
  };
}

/** The NSEC3 parameters of a spec (RFC 5155 §3.1): iterations 0–65535 (16 bits), salt 0–255 octets of hex. */
function nsec3Params(spec: ZoneSpec, where: string): Nsec3Params | undefined {
  const denial = spec.denial ?? "nsec";
  if (denial !== "nsec" && denial !== "nsec3") {
    throw new ZoneError(`${where}: denial "${String(denial)}" is unknown; use "nsec" or "nsec3"`);
  }
  if (denial === "nsec") {
    if (spec.nsec3 !== undefined) {
      throw new ZoneError(`${where}: nsec3 parameters are given but denial is "nsec"; set denial: "nsec3"`);
    }
    return undefined;
  }
  const iterations = spec.nsec3?.iterations ?? 0;
  if (!Number.isInteger(iterations) || iterations < 0 || iterations > 65535) {
    throw new ZoneError(`${where}: NSEC3 iterations ${iterations} is not an integer from 0 to 65535 (RFC 5155 §3.1.3)`);
  }
  const saltText = (spec.nsec3?.salt ?? "").replace(/^-$/, "");
  if (!/^([0-9a-fA-F]{2}){0,255}$/.test(saltText)) {
    throw new ZoneError(
      `${where}: NSEC3 salt "${saltText}" is not 0 to 255 octets of hex (RFC 5155 §3.3); write e.g. "aabbccdd", or "" for none`,
    );
  }
  return { iterations, salt: Buffer.from(saltText, "hex"), optOut: spec.nsec3?.optOut ?? false };
}
