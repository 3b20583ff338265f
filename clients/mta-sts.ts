// MTA-STS (RFC 8461) in the client matrix: which columns' MTAs fetch MTA-STS policies, and what a column that does not
// shows for a scenario of the `mta-sts` group. Exim has no MTA-STS client, and the built-in Postfix column runs without
// a policy resolver, so their cells there say "not-supported" with the reason: a DANE-only verdict on a scenario built
// around an MTA-STS policy would be a fake one. Postfix with postfix-mta-sts-resolver is driven by clients/postfix-sts.ts.
import type { LabGrade } from "./matrix.js";

/** The verdict a matrix cell carries when its MTA has no MTA-STS client. */
export const NOT_SUPPORTED = "not-supported";

/** The grade for an MTA-STS scenario in a column whose MTA does not implement MTA-STS. */
export function notSupportedGrade(scenario: string, client: string): LabGrade {
  return {
    scenario,
    verdict: NOT_SUPPORTED,
    reason:
      `${client} has no MTA-STS client (RFC 8461): Exim implements none, and the built-in Postfix column runs ` +
      "without postfix-mta-sts-resolver, so the lab gives no verdict for a scenario that is about an MTA-STS policy",
  };
}
