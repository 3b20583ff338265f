// MTA-STS beside the grader: the grader (lab/grade/) judges what arrived at the SMTP listeners; for a scenario with an
// MTA-STS policy this adds what the policy server saw — how often the policy was fetched and how that went, handshakes
// a sender aborted (an untrusted policy certificate), TLS-RPT reports (RFC 8460) that arrived by mail at the rua
// address — and the RFC rule that decides the scenario, so a verdict reads with its policy mode and PKIX situation.
// Pure: events and plan in, grades out. Fetches carry no run (a sender's policy cache serves every message), so they
// are counted over the whole log.
import type { LabPlan } from "../catalogue/compile.js";
import type { LabEvent } from "../events.js";
import type { ScenarioGrade } from "../grade/index.js";
import { decidingRule, stsDetail } from "./explain.js";

export interface StsEvidence {
  mode: string;
  fault: string | null;
  /** HTTPS requests for the policy (any path) and the newest of them. */
  fetches: number;
  lastFetch: { time: string; client: string; status: number; served: string } | null;
  /** TLS handshakes with the policy host that the sender aborted (e.g. "alert unknown ca"). */
  abortedHandshakes: number;
  /** Messages that arrived for the TLS-RPT rua address. */
  tlsRptReports: number;
  rule: string;
}

export function withStsEvidence(
  grades: ScenarioGrade[],
  events: readonly LabEvent[],
  plan: LabPlan,
): (ScenarioGrade & { sts?: StsEvidence })[] {
  const byId = new Map(plan.scenarios.filter((sp) => sp.sts).map((sp) => [sp.scenario.id, sp]));
  if (byId.size === 0) return grades;
  return grades.map((g) => {
    const sp = byId.get(g.scenario);
    if (!sp?.sts) return g;
    const mine = events.filter((e) => e.scenario === g.scenario);
    const fetches = mine.filter((e) => e.kind === "sts-fetch");
    const last = fetches.at(-1);
    const rua = sp.sts.tlsrpt?.toLowerCase();
    const evidence: StsEvidence = {
      mode: sp.sts.mode,
      fault: sp.sts.fault,
      fetches: fetches.length,
      lastFetch: last
        ? { time: last.time, client: String(last.client), status: Number(last.status), served: String(last.served) }
        : null,
      abortedHandshakes: mine.filter((e) => e.kind === "sts-tls-error").length,
      tlsRptReports: rua
        ? mine.filter(
            (e) =>
              e.kind === "message" &&
              Array.isArray(e["recipients"]) &&
              (e["recipients"] as unknown[]).some((r) => String(r).toLowerCase() === rua),
          ).length
        : 0,
      rule: decidingRule(sp),
    };
    const seen =
      evidence.fetches > 0
        ? `policy fetched ${evidence.fetches}× (last: ${evidence.lastFetch!.status || "no answer"}, ${evidence.lastFetch!.served})`
        : evidence.abortedHandshakes > 0
          ? `${evidence.abortedHandshakes} policy fetch(es) aborted in the TLS handshake`
          : "policy never fetched";
    const reports = rua ? `; TLS-RPT reports received at ${rua}: ${evidence.tlsRptReports}` : "";
    return {
      ...g,
      reason: `${g.reason} — MTA-STS ${sp.sts.mode}${sp.sts.fault ? ` (fault ${sp.sts.fault})` : ""}: ${seen}${reports}. ${evidence.rule}`,
      sts: evidence,
    };
  });
}

/** The scenario page's data (lab/ui-data.ts), with `stsPolicy` added for scenarios that have a policy. */
export function withStsDetail(
  detail: (id: string) => object | undefined,
  plan: LabPlan,
  o: Parameters<typeof stsDetail>[1],
): (id: string) => object | undefined {
  return (id) => {
    const base = detail(id);
    const sp = plan.scenarios.find((x) => x.scenario.id === id);
    const policy = sp ? stsDetail(sp, o) : null;
    return base && policy ? { ...base, stsPolicy: policy } : base;
  };
}
