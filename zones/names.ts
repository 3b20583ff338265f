// Domain names in the two spellings the lab uses, written once. Inside the lab (zones/, the DNS server, the grader,
// the manifest's consumers) a name follows dns-packet's convention: lower case, no trailing dot, the root is "" —
// `normalizeName`. Where a name is shown or sent on as someone wrote it (a recipient domain, an SNI, a host name
// passed to a tool), only the trailing dot of the fully-qualified form goes — `withoutTrailingDot`, case kept.
// Presentation form (zone files, the manifest's `domain` and `mx[].host`) is fully qualified: `fqdn`.
//
// No imports, so every folder can use it — the browser UI included — without pulling in Node modules.

/** dns-packet's form, for comparing names and keying maps: trimmed, lower case, no trailing dot, the root "". */
export function normalizeName(name: string): string {
  const n = name.trim().toLowerCase();
  return n === "." ? "" : n.replace(/\.$/, "");
}

/**
 * "mx.Example." → "mx.Example": the fully-qualified name without its trailing dot (RFC 1035 §5.1), everything else
 * as given. For names that go on as they are: an address `run-1@<domain>`, an SNI, an argument to swaks or openssl.
 */
export function withoutTrailingDot(name: string): string {
  return name.endsWith(".") ? name.slice(0, -1) : name;
}

/** "" → ".", "a.b" → "a.b." — the presentation form (RFC 1035 §5.1). */
export function fqdn(name: string): string {
  return name === "" ? "." : `${name}.`;
}
