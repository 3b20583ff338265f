// Who may talk to the lab's HTTP API. The API has no authentication: it is meant for the user's own loopback. Two
// browser attacks reach loopback anyway, and this module stops both before any endpoint runs:
//
// - DNS rebinding: a web page at attacker.example makes its own name resolve to 127.0.0.1, and its scripts then read
//   the lab "same-origin" (every stored message, the events, the manifest). The browser still sends
//   `Host: attacker.example:8025`, so only requests whose Host names this server are served: its bound address, an IP
//   literal when it listens on every address, `localhost`, or a name the user allowed (`--http-allow-host`).
//   RFC 9110 §7.2: Host is the authority the client is talking to. A Host that does not name us gets 403.
// - Cross-site requests: any page can POST to http://127.0.0.1:8025 (a "simple" request needs no preflight). The
//   browser sends `Origin` with every POST (RFC 6454 §7, Fetch standard), so a state-changing request is carried out
//   only when it has no Origin (curl, scripts, MTAs) or an Origin whose host passes the Host check.
import { isIP } from "node:net";
import { normalizeName } from "../../zones/names.js";

export interface HostGuard {
  /** Why `host` (a Host header value) does not name this server, or null when it does. */
  hostProblem(host: string | undefined): string | null;
  /** Why a state-changing request with this Origin header must not run, or null when it may. */
  originProblem(origin: string | undefined): string | null;
}

/** Addresses that mean "every address of this machine": any IP literal then names us. */
const WILDCARD = new Set(["0.0.0.0", "::", "0:0:0:0:0:0:0:0"]);

/**
 * A guard for a server bound to `address:port`. `names` are host names the user allowed explicitly (a reverse proxy's
 * name, a /etc/hosts alias); `localhost` is always allowed, since no outside DNS can rebind it.
 */
export function hostGuard(address: string, port: number, names: readonly string[] = []): HostGuard {
  const bound = normaliseHostname(address);
  const allowed = new Set(["localhost", ...names.map(normaliseHostname)]);
  const namesUs = (hostname: string): boolean => {
    if (allowed.has(hostname)) return true;
    if (isIP(hostname) === 0) return false;
    return WILDCARD.has(bound) || hostname === bound;
  };
  const accepted = () =>
    [WILDCARD.has(bound) ? `any address of this machine` : hostLiteral(bound), ...[...allowed].map((n) => `${n}`)].join(
      ", ",
    );
  const hostProblem = (host: string | undefined): string | null => {
    if (host === undefined || host.trim() === "") {
      return `the request has no Host header; send Host: ${hostLiteral(bound)}:${port}`;
    }
    const parsed = splitHost(host.trim());
    if (!parsed || !namesUs(parsed.hostname) || (parsed.port ?? 80) !== port) {
      return (
        `Host "${host}" does not name this lab's API (${hostLiteral(bound)}:${port}), so the request is refused: ` +
        "a web page that rebinds its own DNS name to this address must not read the lab's mail and events. " +
        `Accepted host names, with port ${port}: ${accepted()}. Another name (a reverse proxy's, an /etc/hosts ` +
        "alias) must be allowed with --http-allow-host NAME."
      );
    }
    return null;
  };
  return {
    hostProblem,
    originProblem(origin) {
      if (origin === undefined) return null; // curl, scripts and MTAs send no Origin
      let url: URL;
      try {
        url = new URL(origin);
      } catch {
        url = new URL("null:");
      }
      const host = url.protocol === "http:" ? hostProblem(url.host || undefined) : "not http";
      if (host === null) return null;
      return (
        `a request from the web page at ${origin} may not change this lab (cross-site request refused). Send it ` +
        `without an Origin header (curl, a script) or from the lab's own pages at http://${hostLiteral(bound)}:${port}.`
      );
    },
  };
}

/** "Example.COM." → "example.com"; "[::1]" → "::1". */
function normaliseHostname(name: string): string {
  return normalizeName(name.trim().replace(/^\[(.*)\]$/, "$1"));
}

function hostLiteral(address: string): string {
  return address.includes(":") ? `[${address}]` : address;
}

/** Splits a Host value (RFC 9110 §7.2: uri-host [ ":" port ]) into a normalised host name and port; null if malformed. */
function splitHost(host: string): { hostname: string; port: number | undefined } | null {
  const m = /^(\[[0-9A-Fa-f:.]+\]|[^:[\]\s/@]+)(?::(\d{1,5}))?$/.exec(host);
  if (!m) return null;
  const port = m[2] === undefined ? undefined : Number(m[2]);
  if (port !== undefined && port > 65535) return null;
  return { hostname: normaliseHostname(m[1]!), port };
}
