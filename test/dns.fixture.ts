// A small lab tree for the DNS tests: the fake root, lab.example, and one child zone per DNSSEC situation a DANE client
// meets (secure, bad signature, expired signature, wrong DS, unsigned child, server faults). Every name server is the
// lab's own address, so a validating resolver following referrals always comes back to the server under test.
import type dnsPacket from "dns-packet";
import type { ZoneSpec } from "../zones/index.js";

export const SUFFIX = "lab.example";

const a = (name: string, address: string): dnsPacket.Answer => ({
  type: "A",
  name,
  ttl: 300,
  class: "IN",
  data: address,
});
const mx = (domain: string, host: string): dnsPacket.Answer => ({
  type: "MX",
  name: domain,
  ttl: 300,
  class: "IN",
  data: { preference: 10, exchange: host },
});
const tlsa = (owner: string, i: number): dnsPacket.Answer => ({
  type: "TLSA",
  name: owner,
  ttl: 300,
  class: "IN",
  data: { usage: 2, selector: 1, matchingType: 1, certificate: Buffer.alloc(32, i + 1) },
});

/** A child zone with MX → mx.<zone>, its address, and a TLSA RRset of `tlsaCount` records at _25._tcp.mx.<zone>. */
function child(label: string, dnsAddress: string, extra: Partial<ZoneSpec> = {}, tlsaCount = 2): ZoneSpec {
  const origin = `${label}.${SUFFIX}`;
  const host = `mx.${origin}`;
  return {
    origin,
    records: [
      mx(origin, host),
      a(host, "127.0.25.1"),
      ...Array.from({ length: tlsaCount }, (_, i) => tlsa(`_25._tcp.${host}`, i)),
      a(`ns1.${origin}`, dnsAddress),
    ],
    nameservers: [{ name: `ns1.${origin}`, address: dnsAddress }],
    signed: true,
    ...extra,
  };
}

export function fixtureZones(dnsAddress: string): ZoneSpec[] {
  const faulty = child("faulty", dnsAddress, {
    faults: [
      { kind: "servfail", name: `_25._tcp.sf.faulty.${SUFFIX}`, type: "TLSA" },
      { kind: "timeout", name: `_25._tcp.to.faulty.${SUFFIX}`, type: "TLSA" },
      { kind: "truncate-udp", name: `_25._tcp.tc.faulty.${SUFFIX}`, type: "TLSA" },
    ],
  });
  for (const h of ["sf", "to", "tc"]) {
    faulty.records.push(a(`${h}.faulty.${SUFFIX}`, "127.0.25.2"), tlsa(`_25._tcp.${h}.faulty.${SUFFIX}`, 7));
  }
  return [
    {
      origin: "",
      records: [a("ns.lab-root", dnsAddress)],
      nameservers: [{ name: "ns.lab-root", address: dnsAddress }],
      signed: true,
    },
    {
      origin: SUFFIX,
      records: [a(`ns1.${SUFFIX}`, dnsAddress)],
      nameservers: [{ name: `ns1.${SUFFIX}`, address: dnsAddress }],
      signed: true,
    },
    child("secure", dnsAddress),
    // 14 TLSA records: more than 512 octets with their signature, like the seed's 9-record RRset with RSA signatures.
    child("big", dnsAddress, {}, 14),
    child("bogus", dnsAddress, {
      faults: [{ kind: "bad-signature", name: `_25._tcp.mx.bogus.${SUFFIX}`, type: "TLSA" }],
    }),
    child("expired", dnsAddress, {
      faults: [{ kind: "expired-signature", name: `_25._tcp.mx.expired.${SUFFIX}`, type: "TLSA" }],
    }),
    child("wrongds", dnsAddress, { ds: "wrong" }),
    child("insecure", dnsAddress, { signed: false }),
    faulty,
  ];
}

export type Verdict = "secure" | "insecure" | "bogus" | "nxdomain" | "nodata" | "servfail" | "timeout";

export interface FixtureCase {
  name: string;
  type: dnsPacket.RecordType;
  /** What a validating resolver concludes. */
  verdict: Verdict;
}

/** Every name of the fixture with the verdict a validating resolver must reach. */
export const CASES: FixtureCase[] = [
  { name: `secure.${SUFFIX}`, type: "MX", verdict: "secure" },
  { name: `mx.secure.${SUFFIX}`, type: "A", verdict: "secure" },
  { name: `_25._tcp.mx.secure.${SUFFIX}`, type: "TLSA", verdict: "secure" },
  { name: `_25._tcp.mx.big.${SUFFIX}`, type: "TLSA", verdict: "secure" },
  { name: `nope.secure.${SUFFIX}`, type: "A", verdict: "nxdomain" },
  { name: `mx.secure.${SUFFIX}`, type: "TXT", verdict: "nodata" },
  { name: `_25._tcp.mx.bogus.${SUFFIX}`, type: "TLSA", verdict: "bogus" },
  { name: `mx.bogus.${SUFFIX}`, type: "A", verdict: "secure" },
  { name: `_25._tcp.mx.expired.${SUFFIX}`, type: "TLSA", verdict: "bogus" },
  { name: `_25._tcp.mx.wrongds.${SUFFIX}`, type: "TLSA", verdict: "bogus" },
  { name: `mx.wrongds.${SUFFIX}`, type: "A", verdict: "bogus" },
  { name: `insecure.${SUFFIX}`, type: "MX", verdict: "insecure" },
  { name: `_25._tcp.mx.insecure.${SUFFIX}`, type: "TLSA", verdict: "insecure" },
  { name: `_25._tcp.sf.faulty.${SUFFIX}`, type: "TLSA", verdict: "servfail" },
  { name: `_25._tcp.to.faulty.${SUFFIX}`, type: "TLSA", verdict: "timeout" },
  { name: `_25._tcp.tc.faulty.${SUFFIX}`, type: "TLSA", verdict: "secure" },
];
