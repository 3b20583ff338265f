// The lab's answers, from a signed zone tree (zones/): the DnsBackend the Responder asks. zones/ is pure — it selects
// records and validates signatures — and this adapter only decides which names resolver mode serves at all, and keeps
// the one piece of state the answers have: whose turn it is for an RRset under the zone fault "rotate".
import { answerAuthoritative, resolveValidated, type SignedTree } from "../../zones/index.js";
import type { DnsBackend } from "./responder.js";

export function treeBackend(tree: SignedTree): DnsBackend {
  // The lab's fake root "" holds every name, but resolver mode speaks only for names the lab publishes: its zones and
  // everything below them, plus the names on the way down from the root (the root itself, and empty non-terminals
  // such as "example" above "lab.example", whose DS a validator like delv asks for while walking the chain of trust).
  // Anything else would come out NXDOMAIN from the fake root, which a client would take for the Internet's answer;
  // REFUSED says "not here" instead.
  const onTheWay = new Set<string>();
  for (const zone of tree.zones) {
    const labels = zone.origin === "" ? [] : zone.origin.split(".");
    for (let i = 0; i <= labels.length; i++) onTheWay.add(labels.slice(i).join("."));
  }
  // Fault "rotate" (e.g. an `_mta-sts` TXT whose id changes between fetches, RFC 8461 §3.1): each answer for that
  // name and type moves its turn on, so successive queries see the records in turn, each with its own RRSIG. Only
  // rotating names are counted, so the map stays as small as the faults.
  const turns = new Map<string, number>();
  const inTurn = <T extends { fault?: { kind: string } | undefined }>(
    q: { name: string; type: string },
    answer: (t: SignedTree) => T,
  ): T => {
    const key = `${q.name}|${q.type}`;
    const turn = turns.get(key) ?? 0;
    const a = answer(tree.atTurn(turn));
    if (a.fault?.kind === "rotate") turns.set(key, turn + 1);
    return a;
  };
  return {
    authoritative: (q) => inTurn(q, (t) => answerAuthoritative(t, q)),
    resolve: (q) => inTurn(q, (t) => resolveValidated(t, q)),
    inLab: (name) => {
      if (onTheWay.has(name)) return true;
      const zone = tree.zoneFor(name);
      return zone !== undefined && zone.origin !== "";
    },
  };
}
