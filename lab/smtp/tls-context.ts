// The TLS side of one SMTP listener: which certificate chain a client is shown, and how STARTTLS behaves.
// - Several key/cert pairs at once in one context (RSA + ECDSA): OpenSSL picks by the client's signature algorithms.
// - Other chains chosen by SNI (RFC 6066 §3): exact names or "*.example" wildcards; every other name, and a
//   ClientHello without SNI, gets the default chains.
// - The same TLS versions and cipher list for every context; a client certificate may be requested, never required.
// - STARTTLS modes (the scenario's `starttls`): offered | absent (never advertised, the verb is unknown) | refused
//   (advertised, then 454 4.7.0, RFC 3207 §4) | abort (220, then the socket is destroyed once the ClientHello has
//   arrived). session.ts carries out refused and abort; the options here make absent absent.
// A key that does not match its certificate, or a PEM that does not parse, is reported with the listener's name at
// start-up rather than as failed handshakes later or a bare OpenSSL error from deep inside smtp-server.
import { createPublicKey, type KeyObject, X509Certificate } from "node:crypto";
import { createSecureContext, type SecureContext, type SecureContextOptions } from "node:tls";
import type { SMTPServerOptions } from "smtp-server";
import { normalizeName } from "../../zones/names.js";

export interface SmtpCredentials {
  /** PEM private key. */
  key: string;
  /** PEM chain as presented: leaf first, then what the server sends along. */
  cert: string;
}

export type StarttlsMode = "offered" | "absent" | "refused" | "abort";

export interface TlsSettings {
  minVersion?: "TLSv1.2" | "TLSv1.3";
  maxVersion?: "TLSv1.2" | "TLSv1.3";
  ciphers?: string;
  requestClientCert?: boolean;
}

export interface ListenerTlsOptions {
  /** The listener's MX host name and scenario, for error messages. */
  host: string;
  scenario: string;
  /** Default credentials; several (RSA + ECDSA) at once. */
  credentials: SmtpCredentials[];
  /** Credentials chosen by SNI (exact names or "*.example" wildcards). */
  sni?: { names: string[]; credentials: SmtpCredentials[] }[] | undefined;
  starttls: StarttlsMode;
  tls?: TlsSettings | undefined;
}

export interface ListenerTls {
  /** The TLS part of smtp-server's options: default context settings, client certificates, STARTTLS visibility. */
  serverOptions: Partial<SMTPServerOptions>;
  /** The context of a name that has one of its own (exact, then wildcard), else undefined: the default context. */
  sniLookup(servername: string): SecureContext | undefined;
  /** The error for settings OpenSSL refuses when smtp-server builds the default context from `serverOptions`. */
  defaultContextError(err: unknown): Error;
}

const DEFAULT_WHAT = "default certificate/key pairs";

/** Checks every key against its certificate and builds the SNI contexts; throws one paragraph on bad input. */
export function listenerTls(opts: ListenerTlsOptions): ListenerTls {
  const host = normalizeName(opts.host);
  if (opts.credentials.length === 0 && opts.starttls !== "absent") {
    throw new Error(
      `SMTP listener ${opts.host} (scenario ${opts.scenario}): STARTTLS is "${opts.starttls}" but no certificate ` +
        "and key were given; give at least one credentials entry or set starttls: absent.",
    );
  }
  // The same version/cipher settings for the default context and every SNI context.
  const tlsBase: SecureContextOptions = {
    minVersion: opts.tls?.minVersion ?? "TLSv1.2",
    maxVersion: opts.tls?.maxVersion ?? "TLSv1.3",
    honorCipherOrder: true,
    ...(opts.tls?.ciphers ? { ciphers: opts.tls.ciphers } : {}),
  };
  const contextOptions = (creds: SmtpCredentials[]): SecureContextOptions => ({
    ...tlsBase,
    key: creds.map((c) => c.key),
    cert: creds.map((c) => c.cert),
  });
  const tlsError = (what: string, err: unknown) =>
    new Error(
      `SMTP listener ${host} (scenario ${opts.scenario}): the ${what} could not be loaded into TLS ` +
        `(${(err as Error).message}). Each entry needs a PEM private key and the PEM chain whose first certificate ` +
        "matches that key; check the scenario's chain and the files under the PKI directory.",
    );
  const checkPairs = (creds: SmtpCredentials[], what: string): void => {
    try {
      for (const c of creds) {
        // Node accepts key and cert arrays in any order and does not pair them up; a key that matches no certificate
        // would only show as failed handshakes later, so compare each key with the first certificate of its chain.
        const leaf = new X509Certificate(c.cert);
        // Compared as JWK: OpenSSL 3 exports that in a tenth of the time of DER, and it names the whole public key.
        const jwk = (k: KeyObject) => JSON.stringify(k.export({ format: "jwk" }));
        if (jwk(createPublicKey(c.key)) !== jwk(leaf.publicKey)) {
          throw new Error(`the private key does not belong to the certificate ${leaf.subject.replace(/\n/g, ", ")}`);
        }
      }
    } catch (err) {
      throw tlsError(what, err);
    }
  };
  const secureContext = (creds: SmtpCredentials[], what: string): SecureContext => {
    checkPairs(creds, what);
    try {
      return createSecureContext(contextOptions(creds));
    } catch (err) {
      throw tlsError(what, err);
    }
  };
  // The default context itself is made once, by smtp-server's constructor (from serverOptions).
  if (opts.credentials.length > 0) checkPairs(opts.credentials, DEFAULT_WHAT);
  const sniContexts = new Map<string, SecureContext>();
  for (const entry of opts.sni ?? []) {
    const ctx = secureContext(entry.credentials, `certificate/key for SNI ${entry.names.join(", ")}`);
    for (const n of entry.names) sniContexts.set(normalizeName(n), ctx);
  }
  const sniLookup = (servername: string): SecureContext | undefined => {
    const name = normalizeName(servername);
    const exact = sniContexts.get(name);
    if (exact) return exact;
    const dot = name.indexOf(".");
    return dot > 0 ? sniContexts.get(`*${name.slice(dot)}`) : undefined;
  };

  return {
    serverOptions: {
      disabledCommands: opts.starttls === "absent" ? ["AUTH", "STARTTLS"] : ["AUTH"],
      hideSTARTTLS: opts.starttls === "absent",
      ...(contextOptions(opts.credentials) as Record<string, unknown>),
      requestCert: opts.tls?.requestClientCert === true,
      rejectUnauthorized: false,
      ...(sniContexts.size > 0
        ? {
            SNICallback: (servername: string, cb: (err: Error | null, ctx?: SecureContext) => void) =>
              cb(null, sniLookup(servername)),
          }
        : {}),
    },
    sniLookup,
    defaultContextError: (err) => tlsError(`TLS settings (versions, ciphers) with the ${DEFAULT_WHAT}`, err),
  };
}
