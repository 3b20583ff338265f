// One SMTP listener = one MX host of one scenario, on its own address (MX records cannot name a port, and behaviour
// before STARTTLS — greylisting, no STARTTLS — is per address). Built on nodemailer's smtp-server; the scenario's
// behaviours are data that this module combines:
// - STARTTLS offered | absent (never advertised, the verb is unknown) | refused (advertised, then 454 4.7.0, RFC 3207
//   §4) | abort (220, then the socket is destroyed once the ClientHello has arrived);
// - the presented chain(s): several key/cert pairs at once (RSA + ECDSA; OpenSSL picks by the client's signature
//   algorithms), others chosen by SNI (RFC 6066 §3), TLS min/max version, cipher list, client certificate requested but
//   not required;
// - greylisting at the greeting (421 4.7.0) and at RCPT (451 4.7.1), skipped by the lab-wide allow-list;
// - limits with proper replies: SIZE (RFC 1870: advertised, 552 5.3.4 above it), command line length (500 5.5.2, then
//   close), connections per client address (421 4.7.0), idle timeout (421 4.4.2, RFC 5321 §4.5.3.2), and per session
//   — Postfix's defaults — 100 "junk" commands (NOOP, RSET, VRFY, EXPN, HELP), 20 error replies (5xx) and 10,000
//   commands in all, each answered 421 4.7.0 and closed (RFC 5321 §3.8), so one connection cannot grow the event log
//   without end.
// Only recipients in `acceptDomains` (the lab suffix and below) are accepted: 550 5.7.1 otherwise — never a relay.
//
// Every connection becomes events (lab/events.ts, docs/contracts.md): connect, greeting, ehlo, command (each command
// and its reply code), tls or tls-error (with the alert the client sent, the SNI from its ClientHello), rcpt, message,
// close (with the reason). smtp-server does not expose its reply stream, so each SMTPConnection is created here and its
// `send`, `_onCommand`, `_onError`, `_onTimeout` and STARTTLS handler are wrapped per instance (smtp-server 3.21).
// Accepted messages go to the MailStore and are durable before the 250 reply.
import { createPublicKey, type KeyObject, X509Certificate } from "node:crypto";
import type { Socket } from "node:net";
import { createSecureContext, type SecureContext, type SecureContextOptions, type TLSSocket } from "node:tls";
import { SMTPServer, type SMTPServerOptions, type SMTPServerSession } from "smtp-server";
import { SMTPConnection } from "smtp-server/lib/smtp-connection.js";
import type { ClientHelloSummary, CloseReason, EventLog, SmtpEventInput } from "../events.js";
import { ConnectionGreylist, type GreylistAllowList, normalizeAddress, RcptGreylist } from "./greylist.js";
import { type MailStore, type MessageDraft, runOfRecipient, StoreFullError } from "./store.js";
import { alertFromError, clientHelloRecordLength, parseClientHello } from "./tls-inspect.js";

export interface SmtpCredentials {
  /** PEM private key. */
  key: string;
  /** PEM chain as presented: leaf first, then what the server sends along. */
  cert: string;
}

export type StarttlsMode = "offered" | "absent" | "refused" | "abort";

export interface SmtpListenerOptions {
  scenario: string;
  /** MX host name this listener plays (greeting, Received header). */
  host: string;
  address: string;
  /** 0 picks a free port (tests). */
  port: number;
  /** Default credentials; several (RSA + ECDSA) at once. */
  credentials: SmtpCredentials[];
  /** Credentials chosen by SNI (exact names or "*.example" wildcards); `credentials` serve every other client. */
  sni?: { names: string[]; credentials: SmtpCredentials[] }[];
  starttls: StarttlsMode;
  greylist?: { connections?: number; rcptSeconds?: number };
  tls?: {
    minVersion?: "TLSv1.2" | "TLSv1.3";
    maxVersion?: "TLSv1.2" | "TLSv1.3";
    ciphers?: string;
    requestClientCert?: boolean;
  };
  /** Recipient domains accepted (each with its subdomains); everything else gets 550 5.7.1. */
  acceptDomains: string[];
  limits?: {
    /** Bytes of message content; advertised as SIZE. Default 10,240,000 (Postfix's default). */
    maxMessageSize?: number;
    /** Longest command line in bytes. Default 4096. */
    maxLineLength?: number;
    /**
     * Recipients per message; one more gets 452 4.5.3 and the client sends the rest in another transaction. Default
     * 1000 (Postfix's smtpd_recipient_limit; RFC 5321 §4.5.3.1.8 asks for at least 100).
     */
    maxRecipients?: number;
    /** Simultaneous connections from one client address. Default 100. */
    maxConnectionsPerAddress?: number;
    /** Idle time before 421 4.4.2. Default 300,000 ms (RFC 5321 §4.5.3.2.7: a server waits at least 5 minutes). */
    idleTimeoutMs?: number;
    /** NOOP/RSET/VRFY/EXPN/HELP per session before 421. Default 100 (Postfix's smtpd_junk_command_limit). */
    maxJunkCommands?: number;
    /** 5xx replies per session before 421. Default 20 (Postfix's smtpd_hard_error_limit). */
    maxErrors?: number;
    /** Commands per session before 421. Default 10,000 (Exim sends up to 500 messages per connection). */
    maxCommands?: number;
  };
  allowList: GreylistAllowList;
  store: MailStore;
  events: EventLog;
}

export interface SmtpListener {
  address: string;
  port: number;
  /** "<host> <address>:<port>", as in the events. */
  name: string;
  /** Forgets greylisting state (one client address, or all), so the next attempts are greylisted again. */
  resetGreylist(client?: string): void;
  /** Connections open right now (sessions not yet closed), and raw sockets tracked for shutdown. */
  stats(): { sessions: number; sockets: number };
  close(): Promise<void>;
}

/** The listener could not bind its address/port; `message` is one paragraph with the cause and the fix. */
export class SmtpListenError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
    this.name = "SmtpListenError";
  }
}

/** smtp-server internals used here (3.21): the per-connection state the public hooks do not expose. */
interface ConnectionInternals {
  id: string;
  secure: boolean;
  remoteAddress: string;
  remotePort: number;
  session: SMTPServerSession;
  _socket: Socket;
  _parser: (NodeJS.WritableStream & { isClosed: boolean }) | false;
  _upgrading: boolean;
  _closing: boolean;
  _closed: boolean;
  send(code: number, data?: string | string[], context?: string | false): void;
  close(): void;
  /** Socket listeners and the parser pipe, then the callback (smtp-server's init() minus its 100 ms pause). */
  _setListeners(callback: () => void): void;
  /** Reverse lookup (disabled here), onConnect, then the greeting. */
  connectionReady(): void;
  upgrade(callback: () => void, secureCallback?: () => void): void;
  _onCommand(command: Buffer, callback?: () => void): void;
  _onError(err: Error): void;
  _onTimeout(): void;
  handler_STARTTLS(command: Buffer, callback: () => void): void;
  on(event: "error", listener: (err: Error) => void): void;
}
interface ServerInternals {
  connections: Set<unknown>;
  connect(socket: Socket, socketOptions: Record<string, unknown>): void;
}

/** What the listener tracks for one connection, for the events. */
interface Session {
  id: string;
  client: string;
  conn: ConnectionInternals;
  rawSocket: Socket;
  pendingCommand: string | null;
  awaitingDataEnd: boolean;
  greeted: boolean;
  greylisted: boolean;
  inTimeout: boolean;
  timedOut: boolean;
  serverClosed: boolean;
  quit: boolean;
  starttlsSent: boolean;
  tlsErrorRecorded: boolean;
  tls: { version: string; cipher: string; sni: string | null } | null;
  clientHello: ClientHelloSummary | null;
  commands: number;
  commandsAfterTls: number;
  junkCommands: number;
  errors: number;
  messages: number;
  sender: string | null;
  error: string | null;
}

const DEFAULT_LIMITS = {
  maxMessageSize: 10_240_000,
  maxLineLength: 4096,
  maxConnectionsPerAddress: 100,
  maxRecipients: 1000,
  idleTimeoutMs: 300_000,
  maxJunkCommands: 100,
  maxErrors: 20,
  maxCommands: 10_000,
};
/** smtp-server's cap on connections per listener (421 above it); per client address, `limits` applies. */
const MAX_CLIENTS = 5000;
const JUNK_COMMANDS = new Set(["NOOP", "RSET", "VRFY", "EXPN", "HELP"]);

const ENHANCED_CODE = /^\d\.\d{1,3}\.\d{1,3} /;

export async function startSmtpListener(opts: SmtpListenerOptions): Promise<SmtpListener> {
  if (opts.credentials.length === 0 && opts.starttls !== "absent") {
    throw new Error(
      `SMTP listener ${opts.host} (scenario ${opts.scenario}): STARTTLS is "${opts.starttls}" but no certificate ` +
        "and key were given; give at least one credentials entry or set starttls: absent.",
    );
  }
  const limits = { ...DEFAULT_LIMITS, ...stripUndefined(opts.limits ?? {}) };
  const host = opts.host.replace(/\.$/, "").toLowerCase();
  const acceptDomains = opts.acceptDomains.map((d) => d.replace(/\.$/, "").toLowerCase());
  const events = opts.events;
  const sessions = new Map<string, Session>();
  const active = new Map<string, number>();
  const rawSockets = new Set<Socket>();
  const connGreylist = opts.greylist?.connections ? new ConnectionGreylist(opts.greylist.connections) : null;
  const rcptGreylist = opts.greylist?.rcptSeconds ? new RcptGreylist(opts.greylist.rcptSeconds) : null;
  let listenerName = `${host} ${opts.address}:${opts.port}`;

  const emit = (
    s: Session,
    fields: DistributiveOmit<SmtpEventInput, "session" | "scenario" | "listener" | "client">,
  ) => {
    events.append({
      session: s.id,
      scenario: opts.scenario,
      listener: listenerName,
      client: s.client,
      ...fields,
    } as SmtpEventInput);
  };

  // TLS: the same version/cipher settings for the default context and every SNI context.
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
  // A key that does not match its certificate, or a PEM that does not parse, is reported with the listener's name
  // rather than as a bare OpenSSL error from deep inside smtp-server.
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
  // The default context itself is made once, by smtp-server's constructor (below).
  const defaultWhat = "default certificate/key pairs";
  if (opts.credentials.length > 0) checkPairs(opts.credentials, defaultWhat);
  const sniContexts = new Map<string, SecureContext>();
  for (const entry of opts.sni ?? []) {
    const ctx = secureContext(entry.credentials, `certificate/key for SNI ${entry.names.join(", ")}`);
    for (const n of entry.names) sniContexts.set(n.replace(/\.$/, "").toLowerCase(), ctx);
  }
  const sniLookup = (servername: string): SecureContext | undefined => {
    const name = servername.replace(/\.$/, "").toLowerCase();
    const exact = sniContexts.get(name);
    if (exact) return exact;
    const dot = name.indexOf(".");
    return dot > 0 ? sniContexts.get(`*${name.slice(dot)}`) : undefined;
  };

  const refuse = (code: number, text: string) => Object.assign(new Error(text), { responseCode: code });
  // RFC 5321 §4.2.2 / §4.2.5: 452 "insufficient system storage" with RFC 3463 §3.4 4.3.1 "mail system full"; any other
  // failure to store is 451 4.3.0 "local error in processing". Both are temporary: the client keeps the message and
  // tries again. The reply never carries a file path of this machine.
  const notStored = (err: Error | null) =>
    err instanceof StoreFullError
      ? refuse(
          452,
          err.reason === "quota"
            ? "4.3.1 Insufficient system storage: the lab's mail store quota is reached, try again later"
            : "4.3.1 Insufficient system storage: the lab's disk is full, try again later",
        )
      : refuse(451, "4.3.0 Error: the lab could not store the message, try again later");

  const serverOptions: SMTPServerOptions = {
    name: host,
    banner: "danelab",
    logger: false,
    disableReverseLookup: true,
    authOptional: true,
    disabledCommands: opts.starttls === "absent" ? ["AUTH", "STARTTLS"] : ["AUTH"],
    hideSTARTTLS: opts.starttls === "absent",
    hideENHANCEDSTATUSCODES: false,
    size: limits.maxMessageSize,
    rejectOversized: true,
    maxCommandLength: limits.maxLineLength,
    socketTimeout: limits.idleTimeoutMs,
    closeTimeout: 1000,
    maxClients: MAX_CLIENTS,
    ...(contextOptions(opts.credentials) as Record<string, unknown>),
    requestCert: opts.tls?.requestClientCert === true,
    rejectUnauthorized: false,
    ...(sniContexts.size > 0
      ? {
          SNICallback: (servername: string, cb: (err: Error | null, ctx?: SecureContext) => void) =>
            cb(null, sniLookup(servername)),
        }
      : {}),

    onConnect(session, callback) {
      const s = sessions.get(session.id);
      if (!s) return callback();
      // RFC 5321 §3.8: 421 at the greeting = "service not available", the client retries later.
      if ((active.get(s.client) ?? 0) > limits.maxConnectionsPerAddress) {
        return callback(refuse(421, `4.7.0 ${host} Error: too many connections from ${s.client}, try again later`));
      }
      if (connGreylist && !opts.allowList.has(s.client) && connGreylist.check(s.client)) {
        s.greylisted = true;
        return callback(
          refuse(421, `4.7.0 ${host} Greylisted: first connections from ${s.client} are refused, try again later`),
        );
      }
      callback();
    },

    onSecure(socket, session, callback) {
      const s = sessions.get(session.id);
      if (s) {
        const tls = socket as TLSSocket;
        const cipher = tls.getCipher?.();
        const peer = tls.getPeerCertificate?.();
        const local = tls.getCertificate?.() as { subject?: Record<string, unknown>; fingerprint256?: string } | null;
        const sni = typeof tls.servername === "string" && tls.servername ? tls.servername : null;
        s.tls = { version: tls.getProtocol?.() ?? "unknown", cipher: cipher?.name ?? "unknown", sni };
        emit(s, {
          kind: "tls",
          version: s.tls.version,
          cipher: s.tls.cipher,
          sni,
          clientCertificate:
            peer && Object.keys(peer).length > 0 ? formatSubject(peer.subject) || "(empty subject)" : null,
          clientCertificateError:
            peer && Object.keys(peer).length > 0
              ? ((tls as unknown as { authorizationError?: string }).authorizationError ?? null)
              : null,
          serverCertificate: local?.fingerprint256
            ? { subject: formatSubject(local.subject), sha256: local.fingerprint256.replace(/:/g, "").toLowerCase() }
            : null,
        });
      }
      callback();
    },

    onMailFrom(address, session, callback) {
      const s = sessions.get(session.id);
      if (s) s.sender = address.address;
      callback();
    },

    onRcptTo(address, session, callback) {
      const s = sessions.get(session.id);
      const rcpt = address.address;
      const at = rcpt.lastIndexOf("@");
      const domain = at >= 0 ? rcpt.slice(at + 1).toLowerCase() : "";
      // RFC 5321 §4.1.1.3: the domain-less "postmaster" must be accepted.
      const local = at < 0 && rcpt.toLowerCase() === "postmaster";
      if (!local && !acceptDomains.some((d) => domain === d || domain.endsWith(`.${d}`))) {
        return callback(
          refuse(
            550,
            `5.7.1 <${rcpt}>: Relay access denied: ${host} accepts mail only for ${acceptDomains.join(", ")} and subdomains`,
          ),
        );
      }
      // RFC 5321 §4.5.3.1.10: "452 too many recipients" — the client delivers the rest in a later transaction.
      if (session.envelope.rcptTo.length >= limits.maxRecipients) {
        return callback(refuse(452, `4.5.3 Error: too many recipients (at most ${limits.maxRecipients} per message)`));
      }
      const client = s?.client ?? session.remoteAddress;
      if (rcptGreylist && !opts.allowList.has(client) && rcptGreylist.check(client, s?.sender ?? "", rcpt)) {
        return callback(
          refuse(
            451,
            `4.7.1 <${rcpt}>: Recipient address rejected: Greylisted, try again in ${rcptGreylist.seconds} seconds`,
          ),
        );
      }
      callback();
    },

    onData(stream, session, callback) {
      const s = sessions.get(session.id);
      const recipients = session.envelope.rcptTo.map((r) => r.address);
      const sender = session.envelope.mailFrom ? session.envelope.mailFrom.address : "";
      let draft: MessageDraft | null = null;
      let failed: Error | null = null;
      const run = async () => {
        try {
          draft = await opts.store.begin(opts.scenario, {
            heloName: session.hostNameAppearsAs || null,
            clientAddress: s?.client ?? session.remoteAddress,
            byHost: host,
            protocol: session.transmissionType || "ESMTP",
            tls: s?.tls ?? null,
            sender,
            recipients,
          });
        } catch (err) {
          failed = err as Error;
        }
        for await (const chunk of stream) {
          if (draft && !failed && !stream.sizeExceeded) {
            try {
              await draft.write(chunk as Buffer);
            } catch (err) {
              failed = err as Error;
            }
          }
        }
        if (stream.sizeExceeded) {
          await draft?.discard();
          return callback(
            refuse(552, `5.3.4 Error: message exceeds fixed maximum message size ${limits.maxMessageSize}`),
          );
        }
        if (failed || !draft) {
          await draft?.discard();
          return callback(notStored(failed));
        }
        // Durable (fsync'ed and renamed into new/) before the 250; if that fails, no 250.
        let stored: Awaited<ReturnType<MessageDraft["commit"]>>;
        try {
          stored = await (draft as MessageDraft).commit();
        } catch (err) {
          return callback(notStored(err as Error));
        }
        if (s) {
          s.messages += 1;
          emit(s, {
            kind: "message",
            id: stored.id,
            size: stored.size,
            tls: s.tls !== null,
            tlsVersion: s.tls?.version ?? null,
            recipients,
            run: stored.run,
            path: stored.path,
          });
        }
        callback(null, `2.0.0 Ok: queued as ${stored.id}`);
      };
      run().catch(async (err: Error) => {
        // the client went away in the middle of DATA: nothing was acknowledged, the tmp/ file goes
        await (draft as MessageDraft | null)?.discard();
        callback(notStored(err));
      });
    },

    onClose(session) {
      const s = sessions.get(session.id);
      if (!s) return;
      finish(s);
    },
  };

  let server: SMTPServer;
  try {
    server = new SMTPServer(serverOptions);
  } catch (err) {
    throw tlsError(`TLS settings (versions, ciphers) with the ${defaultWhat}`, err);
  }
  const internals = server as unknown as ServerInternals;
  // smtp-server's own SNI resolver answers every ClientHello that carries SNI with a context (falling back to the
  // default one), so Node switches context on every DANE handshake. On Node 24 a context switched in this way keeps
  // only one of its keys: an RSA-only client then fails against an RSA + ECDSA listener. Switch only when a name has
  // a context of its own (smtp-server 3.21 private method; test/smtp.listener.test.ts guards it).
  (
    server as unknown as { _resolveSNI: (name: string, cb: (err: Error | null, ctx?: SecureContext) => void) => void }
  )._resolveSNI = (name, cb) => cb(null, sniLookup(name));
  server.on("error", () => {
    // per-connection errors are recorded by the connection wrappers; nothing may crash the lab
  });

  const finish = (s: Session) => {
    if (!sessions.has(s.id)) return;
    sessions.delete(s.id);
    rawSockets.delete(s.rawSocket); // its own "close" listener is gone once STARTTLS wrapped it
    const n = (active.get(s.client) ?? 1) - 1;
    if (n > 0) active.set(s.client, n);
    else active.delete(s.client);
    if (s.starttlsSent && !s.tls && !s.tlsErrorRecorded && opts.starttls === "offered") {
      s.tlsErrorRecorded = true;
      emit(s, {
        kind: "tls-error",
        stage: "handshake",
        alert: null,
        alertNumber: null,
        error: s.error ?? "the client closed the connection during the TLS handshake without sending an alert",
        sni: s.clientHello?.sni ?? null,
        clientHello: s.clientHello,
      });
    }
    let reason: CloseReason;
    if (s.serverClosed) reason = "server-closed";
    else if (s.timedOut) reason = "timeout";
    else if (s.quit) reason = "quit";
    else if (s.tls && s.commandsAfterTls === 0) reason = "closed-after-handshake-without-command";
    else if (s.error) reason = "error";
    else reason = "client-closed";
    emit(s, {
      kind: "close",
      reason,
      error: s.error,
      starttlsUsed: s.tls !== null,
      commands: s.commands,
      messages: s.messages,
      bytesIn: s.rawSocket.bytesRead,
      bytesOut: s.rawSocket.bytesWritten,
    });
  };

  // Every accepted socket becomes an SMTPConnection created here, so its reply stream can be observed.
  internals.connect = (socket: Socket, socketOptions: Record<string, unknown>) => {
    const conn = new SMTPConnection(server, socket, socketOptions) as unknown as ConnectionInternals;
    const s: Session = {
      id: conn.id,
      client: normalizeAddress(socket.remoteAddress ?? "unknown"),
      conn,
      rawSocket: socket,
      pendingCommand: null,
      awaitingDataEnd: false,
      greeted: false,
      greylisted: false,
      inTimeout: false,
      timedOut: false,
      serverClosed: false,
      quit: false,
      starttlsSent: false,
      tlsErrorRecorded: false,
      tls: null,
      clientHello: null,
      commands: 0,
      commandsAfterTls: 0,
      junkCommands: 0,
      errors: 0,
      messages: 0,
      sender: null,
      error: null,
    };
    sessions.set(s.id, s);
    rawSockets.add(socket);
    socket.once("close", () => rawSockets.delete(socket));
    active.set(s.client, (active.get(s.client) ?? 0) + 1);
    emit(s, { kind: "connect", clientPort: socket.remotePort ?? 0 });
    instrument(s);
    internals.connections.add(conn);
    conn.on("error", () => {
      // recorded by the _onError wrapper
    });
    // smtp-server's init() holds the greeting back 100 ms to catch clients that talk first. Postfix's smtpd greets at
    // once. Measured with the pause: one delivery over STARTTLS took 149 ms, 117 of them before the greeting, and
    // under 50 concurrent benchmark clients the lab sat 43% idle. The same steps, without the timer: listeners, the
    // client cap, then connectionReady() (the onConnect checks, then the 220). A client that talks before the 220
    // (RFC 5321 §3.1 has it wait) is now served in order rather than cut off with 421.
    conn._setListeners(() => {
      if (internals.connections.size > MAX_CLIENTS) {
        return conn.send(421, `${host} Too many connected clients, try again in a moment`, false);
      }
      conn.connectionReady();
    });
  };

  const instrument = (s: Session) => {
    const conn = s.conn;
    const send = conn.send.bind(conn);
    conn.send = (code: number, data?: string | string[], context?: string | false) => {
      let ctx = context;
      if (typeof data === "string" && ENHANCED_CODE.test(data)) ctx = false; // our own replies carry their code
      if (code === 421 && data === "Error: Command line too long") {
        // RFC 5321 §4.5.3.1.4 / §4.2.2: a line above the limit is a syntax error; the parser cannot resync, so close
        const text = `5.5.2 Error: command line too long (limit ${limits.maxLineLength} octets), closing connection`;
        record(s, 500, [text]);
        s.serverClosed = true;
        send(500, text, false);
        conn.close();
        return;
      }
      record(s, code, Array.isArray(data) ? data : [data ?? ""]);
      if (code === 421 && !s.inTimeout) s.serverClosed = true;
      send(code, data, ctx);
      if (code >= 500 && code < 600 && ++s.errors > limits.maxErrors && !s.serverClosed) {
        conn.send(421, `4.7.0 ${host} Error: too many errors (limit ${limits.maxErrors}), closing connection`);
      }
    };

    const onCommand = conn._onCommand.bind(conn);
    conn._onCommand = (command: Buffer, callback?: () => void) => {
      if (!conn._upgrading) {
        s.pendingCommand = commandForLog(command);
        s.commands += 1;
        if (s.tls) s.commandsAfterTls += 1;
        const verb = s.pendingCommand.trimStart().split(" ", 1)[0]!.toUpperCase();
        if (JUNK_COMMANDS.has(verb)) s.junkCommands += 1;
        const over =
          s.commands > limits.maxCommands
            ? `too many commands in one session (limit ${limits.maxCommands})`
            : s.junkCommands > limits.maxJunkCommands
              ? `too many NOOP/RSET/VRFY/EXPN/HELP commands (limit ${limits.maxJunkCommands})`
              : null;
        if (over && !s.serverClosed) {
          conn.send(421, `4.7.0 ${host} Error: ${over}, closing connection`);
          if (callback) setImmediate(callback);
          return;
        }
      }
      return onCommand(command, callback);
    };

    const onError = conn._onError.bind(conn);
    conn._onError = (err: Error) => {
      const e = err as Error & { code?: string; meta?: { message?: string } };
      const text = e.meta?.message ?? e.message;
      if ((conn._upgrading || (s.starttlsSent && !s.tls)) && !s.tlsErrorRecorded && opts.starttls === "offered") {
        s.tlsErrorRecorded = true;
        const alert = alertFromError({ code: e.code, message: text });
        emit(s, {
          kind: "tls-error",
          stage: "handshake",
          alert: alert?.alert ?? null,
          alertNumber: alert?.alertNumber ?? null,
          error: [e.code, text].filter(Boolean).join(": "),
          sni: s.clientHello?.sni ?? null,
          clientHello: s.clientHello,
        });
      }
      if (!s.error) s.error = [e.code, text].filter(Boolean).join(": ");
      return onError(err);
    };

    const onTimeout = conn._onTimeout.bind(conn);
    conn._onTimeout = () => {
      s.inTimeout = true;
      try {
        // RFC 5321 §4.5.3.2: the server closes an idle connection; smtp-server replies 421 (4.4.2 with our codes)
        if (!conn._closing) s.timedOut = true;
        onTimeout();
      } finally {
        s.inTimeout = false;
      }
    };

    const starttls = conn.handler_STARTTLS.bind(conn);
    conn.handler_STARTTLS = (command: Buffer, callback: () => void) => {
      const hasArgs = command.toString("latin1").trim().split(/\s+/).length > 1;
      if (hasArgs || conn.secure) return starttls(command, callback); // 501 / 503 as smtp-server does
      if (opts.starttls === "refused") {
        // RFC 3207 §4: 454 "TLS not available due to temporary reason"
        conn.send(454, "4.7.0 TLS not available due to temporary reason");
        emit(s, {
          kind: "tls-error",
          stage: "refused",
          alert: null,
          alertNumber: null,
          error: "STARTTLS refused with 454 (scenario behaviour)",
        });
        s.tlsErrorRecorded = true;
        return callback();
      }
      conn.send(220, "2.0.0 Ready to start TLS");
      s.starttlsSent = true;
      const socket = conn._socket;
      // RFC 3207 §4.2 / §5: nothing the client pipelined after STARTTLS in cleartext may be acted on
      if (conn._parser) {
        socket.unpipe(conn._parser);
        conn._parser.isClosed = true;
      }
      conn._upgrading = true;
      sniffClientHello(socket).then(({ buffered, ended }) => {
        s.clientHello = parseClientHello(buffered);
        if (opts.starttls === "abort") {
          s.tlsErrorRecorded = true;
          s.serverClosed = true;
          emit(s, {
            kind: "tls-error",
            stage: "aborted-by-server",
            alert: null,
            alertNumber: null,
            error: "the server destroyed the connection after the ClientHello (scenario behaviour)",
            sni: s.clientHello?.sni ?? null,
            clientHello: s.clientHello,
          });
          socket.destroy();
          return callback();
        }
        if (ended || socket.destroyed) {
          if (!s.error) s.error = "the client closed the connection after STARTTLS before completing a ClientHello";
          socket.destroy();
          return callback();
        }
        if (buffered.length > 0) socket.unshift(buffered);
        conn.upgrade(callback);
      });
    };
  };

  const record = (s: Session, code: number, lines: string[]) => {
    const reply = `${code} ${lines[0] ?? ""}`.slice(0, 300);
    if (s.inTimeout) {
      emit(s, { kind: "reply", code, reply });
      return;
    }
    if (s.pendingCommand !== null) {
      const command = s.pendingCommand;
      s.pendingCommand = null;
      const verb = command.split(" ")[0]!.toUpperCase();
      emit(s, { kind: "command", command, code, reply });
      if ((verb === "EHLO" || verb === "HELO") && code === 250) {
        emit(s, {
          kind: "ehlo",
          verb,
          name: command.slice(5).trim(),
          code,
          starttlsOffered: lines.some((l) => /^STARTTLS\b/i.test(l.trim())),
        });
      } else if (verb === "RCPT") {
        const rcpt = /^RCPT\s+TO:\s*<([^>]*)>/i.exec(command)?.[1] ?? command.slice(8).trim();
        emit(s, { kind: "rcpt", recipient: rcpt, code, run: runOfRecipient(rcpt) });
      } else if (verb === "DATA" && code === 354) {
        s.awaitingDataEnd = true;
      } else if (verb === "QUIT") {
        s.quit = true;
      }
      return;
    }
    if (s.awaitingDataEnd) {
      // the reply to the end of the message content ("." on a line by itself, RFC 5321 §4.1.1.4)
      s.awaitingDataEnd = false;
      emit(s, { kind: "command", command: ".", code, reply });
      return;
    }
    if (!s.greeted) {
      s.greeted = true;
      emit(s, { kind: "greeting", code, greylisted: s.greylisted, reply });
      return;
    }
    emit(s, { kind: "reply", code, reply });
  };

  const port = await new Promise<number>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => reject(listenError(err, opts.address, opts.port, host));
    server.server.once("error", onError);
    server.listen(opts.port, opts.address, () => {
      server.server.removeListener("error", onError);
      const a = server.server.address();
      resolve(typeof a === "object" && a ? a.port : opts.port);
    });
  });
  listenerName = `${host} ${opts.address}:${port}`;

  return {
    address: opts.address,
    port,
    name: listenerName,
    stats: () => ({ sessions: sessions.size, sockets: rawSockets.size }),
    resetGreylist: (client?: string) => {
      connGreylist?.reset(client);
      rcptGreylist?.reset(client);
    },
    close: () =>
      new Promise<void>((resolve) => {
        let done = false;
        const finishClose = () => {
          if (done) return;
          done = true;
          resolve();
        };
        server.close(finishClose);
        // smtp-server sends 421 to sessions still open after closeTimeout; half-open ones are cut here
        setTimeout(() => {
          for (const sock of rawSockets) sock.destroy();
          setTimeout(finishClose, 200).unref();
        }, 1500).unref();
      }),
  };
}

/** The command line as logged: printable, at most 512 characters, never a credential (AUTH is disabled anyway). */
function commandForLog(command: Buffer): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: stripping control characters is the point
  const text = command.toString("latin1").replace(/[\x00-\x1f\x7f]/g, "?");
  return text.length > 512 ? `${text.slice(0, 512)}…` : text;
}

function formatSubject(subject: unknown): string {
  if (!subject || typeof subject !== "object") return "";
  return Object.entries(subject as Record<string, unknown>)
    .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join("+") : String(v)}`)
    .join(", ");
}

/**
 * Reads the first TLS record the client sends after `220 Ready to start TLS` (its ClientHello), without consuming
 * it: the bytes are handed back so the caller can unshift them for the real TLS socket. Stops at the first byte that
 * is not a TLS handshake record (garbage: the TLS layer will reject it), at 20 KB, or when the socket ends.
 */
function sniffClientHello(socket: Socket): Promise<{ buffered: Buffer; ended: boolean }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const done = (ended: boolean) => {
      if (settled) return;
      settled = true;
      socket.removeListener("data", onData);
      socket.removeListener("end", onEnd);
      socket.removeListener("close", onEnd);
      socket.pause();
      resolve({ buffered: Buffer.concat(chunks, size), ended });
    };
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
      const head = chunks.length === 1 ? chunk : Buffer.concat(chunks, size);
      const need = clientHelloRecordLength(head);
      if (need === null || (need > 0 && size >= need) || size > 20_480) done(false);
    };
    const onEnd = () => done(true);
    socket.on("data", onData);
    socket.once("end", onEnd);
    socket.once("close", onEnd);
    if (socket.destroyed) done(true);
    else socket.resume(); // unpiping the SMTP parser left the socket paused
  });
}

function listenError(err: NodeJS.ErrnoException, address: string, port: number, host: string): SmtpListenError {
  const where = `${address}:${port}`;
  const code = err.code ?? "UNKNOWN";
  let message: string;
  if (code === "EADDRINUSE") {
    message =
      `The SMTP listener for ${host} cannot listen on ${where}: that address and port are already in use — another ` +
      `MTA (Postfix, Exim) or another lab is running there (\`ss -ltnp 'sport = :${port}'\` shows which program). ` +
      "Stop it, or give the lab other addresses with --smtp-address (any 127.x.y.z).";
  } else if (code === "EACCES" || code === "EPERM") {
    message =
      `The SMTP listener for ${host} is not allowed to listen on ${where}` +
      (port < 1024 ? ": ports below 1024 need root or the CAP_NET_BIND_SERVICE capability. " : ` (${err.message}). `) +
      "Run danelab as root; or `setcap cap_net_bind_service=+ep $(readlink -f $(which node))`; or " +
      "`sysctl net.ipv4.ip_unprivileged_port_start=25`. (MTAs always connect to port 25: MX records cannot name a port.)";
  } else if (code === "EADDRNOTAVAIL") {
    message =
      `The SMTP listener for ${host} cannot listen on ${where}: ${address} is not an address of this machine. Use a ` +
      "127.x.y.z address (all of 127/8 is on the loopback interface on Linux).";
  } else {
    message = `The SMTP listener for ${host} cannot listen on ${where}: ${err.message}`;
  }
  return new SmtpListenError(message, code);
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
