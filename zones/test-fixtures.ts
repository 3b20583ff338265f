// A small lab-shaped tree for the zones/ tests: the fake root, the suffix zone and children that each show one thing —
// a good signed child (MX, A, TLSA, CNAMEs), an unsigned one, each signature fault, a wrong DS, a CNAME into another
// zone. Test code only; the lab builds its real specs in lab/catalogue.
import type { Algorithm, Answer, SignedTree, ZoneFault, ZoneSpec } from "./types.js";
import { recordText } from "./zonefile.js";

export const SUFFIX = "lab.example";
export const NS_ADDRESS = "127.0.53.1";

export const a = (name: string, address: string): Answer => ({ name, type: "A", ttl: 300, class: "IN", data: address });
export const mx = (name: string, exchange: string, preference = 10): Answer => ({
  name,
  type: "MX",
  ttl: 300,
  class: "IN",
  data: { preference, exchange },
});
export const cname = (name: string, target: string): Answer => ({
  name,
  type: "CNAME",
  ttl: 300,
  class: "IN",
  data: target,
});
export const tlsa = (name: string, usage: number, fill: number): Answer => ({
  name,
  type: "TLSA",
  ttl: 300,
  class: "IN",
  data: { usage, selector: 1, matchingType: 1, certificate: Buffer.alloc(32, fill) },
});

const ns = (origin: string) => [{ name: origin === "" ? "ns.lab-root" : `ns1.${origin}`, address: NS_ADDRESS }];

/** A child zone `<id>.lab.example` with MX mx.<id>, its A record and `tlsaCount` TLSA records at _25._tcp.mx.<id>. */
export function mailZone(
  id: string,
  opts: {
    signed?: boolean;
    algorithm?: Algorithm;
    ds?: "correct" | "wrong";
    faults?: ZoneFault[];
    tlsaCount?: number;
    extra?: Answer[];
    nsec3?: ZoneSpec["nsec3"];
  } = {},
): ZoneSpec {
  const origin = `${id}.${SUFFIX}`;
  const host = `mx.${origin}`;
  const records: Answer[] = [mx(origin, host), a(host, "127.0.25.3")];
  for (let i = 0; i < (opts.tlsaCount ?? 1); i++) records.push(tlsa(`_25._tcp.${host}`, i === 0 ? 3 : 2, i + 1));
  records.push(...(opts.extra ?? []));
  const spec: ZoneSpec = { origin, records, nameservers: ns(origin), signed: opts.signed ?? true };
  if (opts.algorithm) spec.algorithm = opts.algorithm;
  if (opts.ds) spec.ds = opts.ds;
  if (opts.faults) spec.faults = opts.faults;
  if (opts.nsec3) {
    spec.denial = "nsec3";
    spec.nsec3 = opts.nsec3;
  }
  return spec;
}

export function rootAndSuffix(algorithm: Algorithm = 13): ZoneSpec[] {
  return [
    { origin: "", records: [a("ns.lab-root", NS_ADDRESS)], nameservers: ns(""), signed: true, algorithm },
    { origin: SUFFIX, records: [], nameservers: ns(SUFFIX), signed: true, algorithm },
  ];
}

const at = (id: string, label = "") => `${label ? `${label}.` : ""}${id}.${SUFFIX}`;

/** The test tree: one child per behaviour under test. */
export function labSpecs(algorithm: Algorithm = 13): ZoneSpec[] {
  return [
    ...rootAndSuffix(algorithm),
    mailZone("good", {
      algorithm,
      tlsaCount: 3,
      extra: [
        // An MX host that is a CNAME inside the zone, and a TLSA owner that is a CNAME to a shared RRset.
        cname(at("good", "alias"), at("good", "mx")),
        cname(at("good", "_25._tcp.mx2"), at("good", "_25._tcp.mx")),
      ],
    }),
    mailZone("plain", { signed: false }),
    mailZone("badsig", { faults: [{ kind: "bad-signature", name: at("badsig", "_25._tcp.mx"), type: "TLSA" }] }),
    mailZone("expired", { faults: [{ kind: "expired-signature", name: at("expired", "_25._tcp.mx"), type: "TLSA" }] }),
    mailZone("mxbogus", { faults: [{ kind: "bad-signature", name: at("mxbogus"), type: "MX" }] }),
    mailZone("wrongds", { ds: "wrong" }),
    mailZone("dsbogus", { faults: [{ kind: "bad-signature", name: at("dsbogus"), type: "DS" }] }),
    mailZone("nsecbogus", { faults: [{ kind: "bad-signature", name: at("nsecbogus", "mx"), type: "NSEC" }] }),
    mailZone("faulty", {
      faults: [
        { kind: "servfail", name: at("faulty", "_25._tcp.mx"), type: "TLSA" },
        { kind: "timeout", name: at("faulty", "mx"), type: "AAAA" },
        { kind: "truncate-udp", name: at("faulty"), type: "MX" },
      ],
    }),
    // The MX host is a CNAME into another (signed) zone, and another into the unsigned zone.
    {
      origin: at("cross"),
      records: [
        mx(at("cross"), at("cross", "mx")),
        cname(at("cross", "mx"), at("good", "mx")),
        cname(at("cross", "_25._tcp.mx"), at("good", "_25._tcp.mx")),
        cname(at("cross", "plainmx"), at("plain", "mx")),
      ],
      nameservers: ns(at("cross")),
      signed: true,
    },
  ];
}

function wildZone(id: string, algorithm: Algorithm, nsec3?: ZoneSpec["nsec3"]): ZoneSpec {
  const wildTlsa = { ...tlsa(at(id, "*._tcp.mx"), 3, 7) };
  return mailZone(id, {
    algorithm,
    tlsaCount: 0,
    extra: [wildTlsa, a(at(id, "*"), "127.0.25.6")],
    ...(nsec3 ? { nsec3 } : {}),
  });
}

/**
 * NSEC3 zones (RFC 5155): n3 (0 iterations, no salt — RFC 9276 §3.1) with an empty non-terminal (mx.deep), a TLSA at
 * the MX host and an Opt-Out insecure delegation plain.n3 holding a second MX host; n3salt (salt, 10 iterations);
 * n3high (500 iterations, above RFC 9276's limits as validators apply them); wildcards (RFC 4592) — wild (NSEC) and
 * n3wild (NSEC3), each with a wildcard TLSA *._tcp.mx (no exact TLSA) and a wildcard A *.<zone>.
 */
export function nsec3Specs(algorithm: Algorithm = 13, address = NS_ADDRESS): ZoneSpec[] {
  const n3 = mailZone("n3", {
    algorithm,
    nsec3: { optOut: true },
    extra: [a(at("n3", "mx.deep"), "127.0.25.4"), mx(at("n3"), at("n3", "mx.plain"), 20)],
  });
  const specs: ZoneSpec[] = [
    ...rootAndSuffix(algorithm),
    n3,
    {
      origin: at("n3", "plain"),
      records: [a(at("n3", "mx.plain"), "127.0.25.5")],
      nameservers: ns(at("n3", "plain")),
      signed: false,
    },
    mailZone("n3salt", { algorithm, nsec3: { iterations: 10, salt: "aabbccdd" } }),
    mailZone("n3high", { algorithm, nsec3: { iterations: 500, salt: "01" } }),
    wildZone("wild", algorithm),
    wildZone("n3wild", algorithm, {}),
  ];
  // The name servers' address (the DNS tests bind their own).
  return specs.map((s) => ({
    ...s,
    nameservers: s.nameservers.map((n) => ({ ...n, address })),
    records: s.records.map((r) => (r.type === "A" && r.data === NS_ADDRESS ? { ...r, data: address } : r)),
  }));
}

/** The DS RRset the parent publishes for `child`, as zone-file lines (what ldns-verify-zone -k reads). */
export function parentDsText(tree: SignedTree, child: string): string {
  const parent = tree.zone(tree.zone(child)!.parent!)!;
  return `${parent.rrset(child, "DS").map(recordText).join("\n")}\n`;
}
