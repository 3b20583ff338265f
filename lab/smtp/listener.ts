// One SMTP listener = one MX host of one scenario, on its own address (MX records cannot name a port, and behaviour
// before STARTTLS — greylisting, no STARTTLS — is per address). Built on nodemailer's smtp-server; as in smtp-server,
// the listener is kept apart from the per-connection state. The scenario's behaviours are data that these modules
// combine:
// - tls-context.ts: the presented chain(s) — several key/cert pairs at once, others chosen by SNI — TLS versions,
//   ciphers, client certificates, and the STARTTLS modes (offered | absent | refused | abort);
// - policy.ts: greylisting, relay refusal, and the limits (SIZE, line length, recipients, connections per client,
//   idle timeout, junk commands, errors, commands), each with its reply;
// - session.ts: one connection's state and the events it becomes (reply → event translation);
// - smtp-internals.ts: the only code that touches smtp-server's private methods (checked against 3.21).
// This file holds the listener: smtp-server's options and public hooks, the table of open sessions, binding and
// shutdown. Accepted messages go to the MailStore and are durable before the 250 reply.
import type { Socket } from "node:net";
import type { TLSSocket } from "node:tls";
import { SMTPServer, type SMTPServerOptions } from "smtp-server";
import { normalizeName } from "../../zones/names.js";
import type { EventLog, SmtpEventInput } from "../events.js";
import { type ListenerDescription, listenError } from "../listen-error.js";
import { type GreylistAllowList, normalizeAddress } from "./greylist.js";
import { ListenerPolicy, MAX_CLIENTS, type SmtpLimits } from "./policy.js";
import { Session, type SessionEvent } from "./session.js";
import { observeConnections, resolveSniWith } from "./smtp-internals.js";
import type { MailStore, MessageDraft } from "./store.js";
import { listenerTls, type SmtpCredentials, type StarttlsMode, type TlsSettings } from "./tls-context.js";

export type { SmtpCredentials, StarttlsMode } from "./tls-context.js";

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
  tls?: TlsSettings;
  /** Recipient domains accepted (each with its subdomains); everything else gets 550 5.7.1. */
  acceptDomains: string[];
  limits?: SmtpLimits;
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

export async function startSmtpListener(opts: SmtpListenerOptions): Promise<SmtpListener> {
  const tls = listenerTls(opts);
  const host = normalizeName(opts.host);
  const policy = new ListenerPolicy({ ...opts, host });
  const limits = policy.limits;
  const events = opts.events;
  const sessions = new Map<string, Session>();
  const active = new Map<string, number>();
  const rawSockets = new Set<Socket>();
  let listenerName = `${host} ${opts.address}:${opts.port}`;

  const emit = (s: Session, fields: SessionEvent) => {
    events.append({
      session: s.id,
      scenario: opts.scenario,
      listener: listenerName,
      client: s.client,
      ...fields,
    } as SmtpEventInput);
  };

  const serverOptions: SMTPServerOptions = {
    name: host,
    banner: "danelab",
    logger: false,
    disableReverseLookup: true,
    authOptional: true,
    hideENHANCEDSTATUSCODES: false,
    size: limits.maxMessageSize,
    rejectOversized: true,
    maxCommandLength: limits.maxLineLength,
    socketTimeout: limits.idleTimeoutMs,
    closeTimeout: 1000,
    maxClients: MAX_CLIENTS,
    ...tls.serverOptions,

    onConnect(session, callback) {
      const s = sessions.get(session.id);
      if (!s) return callback();
      const refused = policy.connect(s.client, active.get(s.client) ?? 0);
      if (!refused) return callback();
      if (refused.greylisted) s.greylisted = true;
      callback(refused.refusal);
    },

    onSecure(socket, session, callback) {
      sessions.get(session.id)?.secured(socket as TLSSocket);
      callback();
    },

    onMailFrom(address, session, callback) {
      const s = sessions.get(session.id);
      if (s) s.sender = address.address;
      callback();
    },

    onRcptTo(address, session, callback) {
      const s = sessions.get(session.id);
      const client = s?.client ?? session.remoteAddress;
      const refusal = policy.rcpt(address.address, client, s?.sender ?? "", session.envelope.rcptTo.length);
      callback(refusal ?? undefined);
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
          return callback(policy.tooLarge());
        }
        if (failed || !draft) {
          await draft?.discard();
          return callback(policy.notStored(failed));
        }
        // Durable (fsync'ed and renamed into new/) before the 250; if that fails, no 250.
        let stored: Awaited<ReturnType<MessageDraft["commit"]>>;
        try {
          stored = await (draft as MessageDraft).commit();
        } catch (err) {
          return callback(policy.notStored(err as Error));
        }
        s?.stored(stored, recipients);
        callback(null, `2.0.0 Ok: queued as ${stored.id}`);
      };
      run().catch(async (err: Error) => {
        // the client went away in the middle of DATA: nothing was acknowledged, the tmp/ file goes
        await (draft as MessageDraft | null)?.discard();
        callback(policy.notStored(err));
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
    throw tls.defaultContextError(err);
  }
  resolveSniWith(server, tls.sniLookup);
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
    s.closed();
  };

  // Every accepted socket becomes a Session here, so its replies, commands and handshake can be observed.
  observeConnections(server, { host, maxClients: MAX_CLIENTS }, (conn, socket) => {
    const client = normalizeAddress(socket.remoteAddress ?? "unknown");
    const s = new Session(conn, client, socket, { emit, policy, starttls: opts.starttls });
    sessions.set(s.id, s);
    rawSockets.add(socket);
    socket.once("close", () => rawSockets.delete(socket));
    active.set(s.client, (active.get(s.client) ?? 0) + 1);
    emit(s, { kind: "connect", clientPort: socket.remotePort ?? 0 });
    return s;
  });

  const port = await new Promise<number>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) =>
      reject(listenError(err, smtpListener(host), { address: opts.address, port: opts.port, transport: "tcp" }));
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
    resetGreylist: (client?: string) => policy.resetGreylist(client),
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

/** What a listen error says about an SMTP listener (lab/listen-error.ts). */
function smtpListener(host: string): ListenerDescription {
  return {
    what: `The SMTP listener for ${host}`,
    likelyHolders: "another MTA (Postfix, Exim) or another lab is running there",
    inUseFix: "Stop it, or give the lab other addresses with --smtp-address (any 127.x.y.z).",
    addressOption: "--smtp-address",
    lowPort: "grant",
    defaultPort: 25,
    lowPortNote: "(MTAs always connect to port 25: MX records cannot name a port.)",
    otherFix: "Check that --smtp-address is a 127.x.y.z address of this machine, or stop whatever holds the port.",
  };
}
