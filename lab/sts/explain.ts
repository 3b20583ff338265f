// The MTA-STS part of `danelab explain <id>`: the policy as served, how its fetch is broken (if it is), the TLS-RPT
// address, the RFC rule that decides the scenario's verdict, the policy fetches the lab has logged, and the commands
// that show it all by hand (curl with only the public root trusted, openssl against the MX under the same root).
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { ScenarioPlan } from "../catalogue/compile.js";
import { forEachEventInLog } from "../event-files.js";
import type { StsPolicyView } from "../ui/api-types.js";
import { announcedIds, POLICY_PATH, policyText, stsRecordText } from "./policy.js";
import { PUBLIC_ROOT_FILE } from "./sites.js";

/** Which RFC sentence decides this scenario, from its data (RFC 8461 unless DANE applies first). */
export function decidingRule(sp: ScenarioPlan): string {
  const sts = sp.sts!;
  const dane = sp.scenario.dns.signed && sp.hosts.some((h) => h.tlsa.length > 0);
  if (dane)
    return (
      'RFC 8461 §2: the zone is signed and publishes TLSA, so DANE decides; senders "MUST NOT allow MTA-STS Policy ' +
      'validation to override a failing DANE validation", and MTA-STS "is designed not to interfere with DANE".'
    );
  if (sts.fault === "content-type")
    return 'RFC 8461 §3.2: senders "SHOULD validate that the media type is text/plain" — a SHOULD, so either outcome.';
  if (sts.fault === "id-changes")
    return (
      'RFC 8461 §3.1: the id "MUST uniquely identify a given instance of a policy, such that senders can determine ' +
      "when the policy has been updated\"; a changed id is a reason to fetch again, but when is the sender's choice " +
      "(§5.1), and every policy served is the same valid one, so the MTA-STS checks decide as for enforce (§5)."
    );
  if (sts.fault)
    return (
      'RFC 8461 §3.3: no policy can be fetched, so senders "MUST continue with delivery as though the domain has not ' +
      'implemented MTA-STS".'
    );
  if (sts.mode === "testing")
    return "RFC 8461 §5, testing: failures are only reported (TLS-RPT, RFC 8460); the message is delivered.";
  if (sts.mode === "none") return "RFC 8461 §5, none: no policy applies.";
  return (
    'RFC 8461 §5, enforce: senders "MUST NOT deliver the message to hosts that fail MX matching or certificate ' +
    'validation" (§4.1 mx patterns, §4.2 a certificate chaining to a trusted root, naming the MX host).'
  );
}

export function explainSts(
  sp: ScenarioPlan,
  o: { stateDir: string; dnsAddress: string; stsAddress: string; stsPort: number },
): string[] {
  const sts = sp.sts;
  if (!sts) return [];
  const root = join(o.stateDir, PUBLIC_ROOT_FILE);
  const out = [
    "",
    `MTA-STS (RFC 8461): policy host ${sts.host} → ${o.stsAddress}:${o.stsPort}` +
      (sts.record
        ? `, announced by _mta-sts.${sp.domain} TXT ${announcedIds(sts)
            .map((id) => `"${stsRecordText(id)}"`)
            .join(" then ")}`
        : ", NOT announced in DNS"),
    `  certificate: ${sts.chain.join(" ← ")}${sts.fault ? `; fault: ${sts.fault}` : ""}`,
    ...policyText(sts)
      .trimEnd()
      .split("\r\n")
      .map((l) => `  | ${l}`),
    ...(sts.tlsrpt ? [`  TLS-RPT (RFC 8460): _smtp._tls.${sp.domain} rua=mailto:${sts.tlsrpt}`] : []),
    `  deciding rule: ${decidingRule(sp)}`,
  ];
  const fetches: string[] = [];
  const log = join(o.stateDir, "events.jsonl");
  if (existsSync(log))
    forEachEventInLog(log, (e) => {
      if ((e.kind === "sts-fetch" || e.kind === "sts-tls-error") && e.scenario === sp.scenario.id)
        fetches.push(
          e.kind === "sts-fetch"
            ? `    ${e.time} ${e.client} ${e.method} ${e.path} → ${e.status} ${e.served}`
            : `    ${e.time} ${e.client} TLS handshake aborted: ${e.reason}`,
        );
    });
  out.push(fetches.length ? "  policy fetches logged by the lab:" : "  policy fetches logged by the lab: none yet");
  out.push(...fetches.slice(-10));
  const mx = sp.hosts[0]!;
  out.push(
    "  Look at it by hand:",
    `    curl --cacert ${root} --resolve ${sts.host}:${o.stsPort}:$(dig +short @${o.dnsAddress} ${sts.host} A) \\`,
    `      https://${sts.host}${o.stsPort === 443 ? "" : `:${o.stsPort}`}${POLICY_PATH}`,
    `    echo QUIT | openssl s_client -starttls smtp -connect ${mx.address}:${mx.port} -servername ${mx.name} \\`,
    `      -verify_hostname ${mx.name} -CAfile ${root}    (PKIX, as an MTA-STS sender checks the MX)`,
  );
  return out;
}

/** What the training board's scenario page shows about the policy (GET /api/scenarios/<id> `stsPolicy`). */
export function stsDetail(
  sp: ScenarioPlan,
  o: { stateDir: string; dnsAddress: string; stsPort: number },
): StsPolicyView | null {
  const sts = sp.sts;
  if (!sts) return null;
  return {
    host: sts.host,
    mode: sts.mode,
    fault: sts.fault,
    policy: policyText(sts).replaceAll("\r\n", "\n"),
    rule: decidingRule(sp),
    tlsrpt: sts.tlsrpt,
    curl:
      `curl --cacert ${join(o.stateDir, PUBLIC_ROOT_FILE)} --resolve ${sts.host}:${o.stsPort}:$(dig +short ` +
      `@${o.dnsAddress} ${sts.host} A) https://${sts.host}${o.stsPort === 443 ? "" : `:${o.stsPort}`}${POLICY_PATH}`,
  };
}
