// The lab's answers, from a signed zone tree (zones/): the DnsBackend the Responder asks. zones/ is pure — it selects
// records and validates signatures — and this adapter only decides which names resolver mode serves at all.
import { answerAuthoritative, resolveValidated, type SignedTree } from "../../zones/index.js";
import type { DnsBackend } from "./responder.js";

export function treeBackend(tree: SignedTree): DnsBackend {
  return {
    authoritative: (q) => answerAuthoritative(tree, q),
    resolve: (q) => resolveValidated(tree, q),
    // The lab's fake root "" holds every name, but resolver mode speaks only for names the lab publishes: the root
    // itself (its DNSKEY/SOA) and the zones below it. Anything else would come out NXDOMAIN from the fake root, which a
    // client would take as the Internet's answer; REFUSED says "not here" instead.
    inLab: (name) => {
      if (name === "") return true;
      const zone = tree.zoneFor(name);
      return zone !== undefined && zone.origin !== "";
    },
  };
}
