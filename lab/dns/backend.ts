// The lab's answers, from a signed zone tree (zones/): the DnsBackend the Responder asks. zones/ is pure — it selects
// records and validates signatures — and this adapter only decides which names resolver mode serves at all.
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
  return {
    authoritative: (q) => answerAuthoritative(tree, q),
    resolve: (q) => resolveValidated(tree, q),
    inLab: (name) => {
      if (onTheWay.has(name)) return true;
      const zone = tree.zoneFor(name);
      return zone !== undefined && zone.origin !== "";
    },
  };
}
