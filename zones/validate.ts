// placeholder
import type { SignedTree, ValidatedAnswer } from "./types.js";
export function resolveValidated(_tree: SignedTree, _q: { name: string; type: string }): ValidatedAnswer {
  return { rcode: "SERVFAIL", status: "bogus", answers: [], authorities: [], why: "not implemented yet" };
}
