// Reads Postfix's log (`maillog_file`, same lines as syslog) into one client-side outcome per recipient. Pure.
//
// Per attempt the smtp client logs, under its own process id:
//   postfix/smtp[123]: Verified TLS connection established to mx.x[127.0.25.3]:25: TLSv1.3 with cipher …
//   postfix/smtp[123]: 4ABC123: to=<run-1@x>, relay=mx.x[127.0.25.3]:25, delay=…, dsn=2.0.0, status=sent (250 …)
// The TLS line names no queue id: it belongs to the next status line of the same process for the same relay.
// TLS trust words (TLS_README): "Verified" = peer authenticated (at level dane: by a TLSA record, RFC 7672 §3),
// "Trusted" = chain to a trusted CA but no name check, "Untrusted" / "Anonymous" = no authentication.
// Deferrals decided without a connection come from qmgr or the error transport ("delivery temporarily suspended").
import type { ClientOutcome, DeliverySecurity } from "./outcome.js";

const LINE = /\bpostfix(?:\/[\w-]+)*\/([\w-]+)\[(\d+)\]: (.*)$/;
const TLS = /^(Verified|Trusted|Untrusted|Anonymous) TLS connection established to ([^:\s]+)(?::\d+)?: (.*)$/;
const STATUS =
  /^([0-9A-Za-z]+): to=<([^>]*)>(?:, orig_to=<[^>]*>)?, relay=([^,]+),.* status=(sent|deferred|bounced|expired) \((.*)\)$/;

const TRUST: Record<string, DeliverySecurity> = {
  Verified: "dane",
  Trusted: "tls-verified",
  Untrusted: "tls-unverified",
  Anonymous: "tls-unverified",
};

interface ProcessState {
  tls?: { trust: string; relay: string; detail: string };
  lines: string[];
}

/** Outcomes by recipient (lower-cased), for the recipients in `only` when given. */
export function parsePostfixLog(log: string, only?: Iterable<string>): Map<string, ClientOutcome> {
  const wanted = only ? new Set([...only].map((r) => r.toLowerCase())) : null;
  const processes = new Map<string, ProcessState>();
  const out = new Map<string, ClientOutcome>();
  const linesByRecipient = new Map<string, string[]>();

  for (const line of log.split("\n")) {
    const m = LINE.exec(line);
    if (!m) continue;
    const [, service, pid, text] = m as unknown as [string, string, string, string];
    const key = `${service}[${pid}]`;
    let proc = processes.get(key);
    if (!proc) {
      proc = { lines: [] };
      processes.set(key, proc);
    }
    const tls = TLS.exec(text);
    if (tls) {
      proc.tls = { trust: tls[1]!, relay: tls[2]!, detail: tls[3]! };
      proc.lines.push(line);
      continue;
    }
    const st = STATUS.exec(text);
    if (!st) {
      // Warnings and TLS diagnostics of the current attempt ("warning: …", "… certificate verification failed …").
      if (service === "smtp" || service === "error") proc.lines.push(line);
      continue;
    }
    const [, , to, relay, status, detail] = st as unknown as [string, string, string, string, string, string];
    const recipient = to.toLowerCase();
    const attemptLines = [...proc.lines, line];
    const connTls = proc.tls && relay.startsWith(proc.tls.relay) ? proc.tls : undefined;
    proc.lines = [];
    proc.tls = undefined;
    if (wanted && !wanted.has(recipient)) continue;

    const all = linesByRecipient.get(recipient) ?? [];
    all.push(...attemptLines);
    linesByRecipient.set(recipient, all);
    const previous = out.get(recipient);
    const attempts = (previous?.status === "deferred" ? previous.attempts : 0) + 1;
    const host = relay === "none" ? undefined : relay.replace(/\[([^\]]+)\](?::\d+)?$/, " [$1]");
    const base = { recipient, attempts, lines: all, ...(host ? { host } : {}) };

    if (status === "sent") {
      out.set(recipient, {
        ...base,
        status: "delivered",
        security: connTls ? (TRUST[connTls.trust] ?? "tls-unverified") : "cleartext",
        ...(connTls ? { tls: connTls.detail } : {}),
        ...(previous?.error ? { error: previous.error } : {}),
      });
    } else {
      // The reason in parentheses; diagnostics logged just before it (e.g. "no matching DANE TLSA records") help.
      const hints = attemptLines
        .slice(0, -1)
        .map((l) => LINE.exec(l)?.[3] ?? "")
        .filter((t) => /TLSA|certificate|verif|warning|error/i.test(t) && !detail.includes(t));
      out.set(recipient, {
        ...base,
        status: status === "deferred" ? "deferred" : "bounced",
        error: [detail, ...new Set(hints)].join(" | "),
      });
    }
  }
  return out;
}
