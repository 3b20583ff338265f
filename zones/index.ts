// zones/ — the lab's DNS tree as a pure library (no sockets, no global state): zone specs in; signed zones out, with
// DNSKEY/RRSIG/NSEC/DS written against RFC 4034/4035, deliberate faults as data, authoritative answer selection, a
// validator that really verifies signatures from the root trust anchor down, and RFC 1035 zone-file export.
// docs/contracts.md ("zones/") fixes this surface.
//
// In plain words: a validating resolver trusts the lab's root key (the trust anchor). Each zone signs its records with
// its zone-signing key (ZSK) and its key set with its key-signing key (KSK); the parent publishes a DS — a digest of
// the child's KSK — and signs it, which links the chain. A child without a DS is "insecure" (the parent's signed NSEC
// proves the DS is absent); any signature that does not verify, or has expired, makes the data "bogus".

export { type AuthoritativeQuestion, answerAuthoritative } from "./answer.js";
export { ALGORITHM_NAMES, dsDigest, keyTag } from "./keys.js";
export { type BuildOptions, buildTree } from "./tree.js";
export {
  type Algorithm,
  type Answer,
  type AuthoritativeAnswer,
  type Rcode,
  type SignedTree,
  type SignedZone,
  type ValidatedAnswer,
  ZoneError,
  type ZoneFault,
  type ZoneKeyInfo,
  type ZoneSpec,
} from "./types.js";
export { resolveValidated } from "./validate.js";
export {
  type BindAnchorForm,
  bindTrustAnchors,
  exportFiles,
  recordFields,
  recordText,
  trustAnchorFiles,
} from "./zonefile.js";
