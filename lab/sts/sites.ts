// From the lab's plan to the policy server's sites: one per scenario with an `sts` block, with the policy text and the
// certificate chain its policy host presents (made in certs/, under lab/public-ca or, for a fault, elsewhere).
import { chainPem, type Pki } from "../../certs/index.js";
import type { LabPlan } from "../catalogue/compile.js";
import { policyText } from "./policy.js";
import type { StsSite } from "./server.js";

/** The public root's PEM in the state directory: `curl --cacert .lab/public-root.pem https://mta-sts.<domain>/…`. */
export const PUBLIC_ROOT_FILE = "public-root.pem";

export function stsSites(plan: LabPlan, pki: Pki): StsSite[] {
  return plan.scenarios.flatMap(({ scenario, sts }) =>
    sts
      ? [
          {
            scenario: scenario.id,
            host: sts.host,
            id: sts.id,
            mode: sts.mode,
            policy: policyText(sts),
            fault: sts.fault,
            credentials: { key: pki.get(sts.chain[0]!).keyPem, cert: chainPem(pki, sts.chain) },
          },
        ]
      : [],
  );
}
