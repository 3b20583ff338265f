// The one file that reaches into smtp-server's private internals. smtp-server's public hooks (onConnect, onSecure,
// onRcptTo, onData, onClose) do not show the reply stream, the command stream or the STARTTLS handshake, and the lab's
// events and limits need all three. So every connection is created here and a few of its private methods are wrapped
// per instance; the rest of lab/smtp/ sees only ConnectionObserver and ConnectionControl below.
//
// Checked against smtp-server CHECKED_SMTP_SERVER (3.21.6; package.json pins ~3.21). An upgrade of smtp-server must
// re-read each member listed in TOUCHED in dist/esm/smtp-server.js, smtp-connection.js and smtp-stream.js, then add the
// version to CHECKED_SMTP_SERVER: smtp-internals.test.ts fails loudly until then. Touched:
// - SMTPServer: `connect(socket, socketOptions)` is replaced (the connection is created here, greeted without init()'s
//   100 ms pause); `connections` (the Set behind maxClients) is filled; `_resolveSNI(name, cb)` is replaced.
// - SMTPConnection: created with `new SMTPConnection(server, socket, socketOptions)`; `send(code, data, context)`,
//   `_onCommand(command, callback)`, `_onError(err)`, `_onTimeout()` and `handler_STARTTLS(command, callback)` are
//   wrapped; `_setListeners(callback)`, `connectionReady()`, `upgrade(callback)` and `close()` are called; the fields
//   `id`, `secure`, `_socket`, `_parser` (and its `isClosed`), `_upgrading` and `_closing` are read, `_upgrading` and
//   `_parser.isClosed` set.
// - smtp-stream: a command line over maxCommandLength makes the parser emit "Command line too long", which the
//   connection sends as `421 Error: Command line too long`; that reply is replaced by a 500 here.
import type { Socket } from "node:net";
import type { SecureContext } from "node:tls";
import type { SMTPServer, SMTPServerSession } from "smtp-server";
import { SMTPConnection } from "smtp-server/lib/smtp-connection.js";
import { sniffClientHello } from "./tls-inspect.js";

/** The smtp-server versions whose internals this file was checked against (smtp-internals.test.ts). */
export const CHECKED_SMTP_SERVER = ["3.21.6"] as const;

/** The private members used here, for smtp-internals.test.ts. */
export const TOUCHED = {
  server: { methods: ["connect", "_resolveSNI"], fields: ["connections"] },
  connection: {
    methods: [
      "send",
      "close",
      "init",
      "_setListeners",
      "connectionReady",
      "upgrade",
      "_onCommand",
      "_onError",
      "_onTimeout",
      "handler_STARTTLS",
    ],
    fields: ["_socket", "_parser", "_upgrading", "_closing"],
  },
  /** Texts of smtp-server that the wrappers recognise. */
  texts: { lineTooLong: "Command line too long" },
} as const;

/** The per-connection state the public hooks do not expose (smtp-server 3.21). */
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
  _resolveSNI(name: string, cb: (err: Error | null, ctx?: SecureContext) => void): void;
}

/** What the rest of lab/smtp/ may do with a connection. */
export interface ConnectionControl {
  readonly id: string;
  /** A reply through the observed path (so it becomes an event); text starting "x.y.z " carries its own code. */
  send(code: number, text: string): void;
}

/** What happens on one connection, told at the points smtp-server keeps private. */
export interface ConnectionObserver {
  /** A reply is about to be written (each line of a multi-line reply). */
  reply(code: number, lines: string[]): void;
  /** A reply was written; the observer may answer with another (a limit reached). */
  replied(code: number): void;
  /** The command line was longer than the limit: note the 500 reply and return its text; the connection closes. */
  lineTooLong(): string;
  /** A command arrived (not while TLS is being set up); false = the observer replied instead, skip it. */
  command(command: Buffer): boolean;
  /** A socket or TLS error; `upgrading` = during the STARTTLS handshake. */
  socketError(err: Error & { code?: string; meta?: { message?: string } }, upgrading: boolean): void;
  /** The idle timer fired (`closing` = the server had already closed its side), and smtp-server's handling ended. */
  timeoutStart(closing: boolean): void;
  timeoutEnd(): void;
  /** STARTTLS without arguments on a cleartext connection: "refuse" = the observer replied, or go on with 220. */
  starttls(): "refuse" | "proceed";
  /** The 220 went out; the TLS handshake comes next. */
  starttlsReplySent(): void;
  /** The client's first TLS record (possibly cut short); "abort" destroys the socket, as the scenario asks. */
  clientHelloReceived(buffered: Buffer): "abort" | "continue";
  /** The client went away after the 220 before a whole ClientHello. */
  closedBeforeHandshake(): void;
}

/** Replies that start with an RFC 3463 enhanced code: smtp-server must not add one of its own. */
const ENHANCED_CODE = /^\d\.\d{1,3}\.\d{1,3} /;

/**
 * Makes `server` create its connections here: for each accepted socket, `observe` is called with the connection and
 * returns its observer, then the connection is greeted at once. `maxClients` and `host` give smtp-server's own 421
 * above the listener-wide connection cap.
 */
export function observeConnections(
  server: SMTPServer,
  opts: { host: string; maxClients: number },
  observe: (conn: ConnectionControl, socket: Socket) => ConnectionObserver,
): void {
  const internals = server as unknown as ServerInternals;
  internals.connect = (socket: Socket, socketOptions: Record<string, unknown>) => {
    const conn = new SMTPConnection(server, socket, socketOptions) as unknown as ConnectionInternals;
    const observer = observe({ id: conn.id, send: (code, text) => conn.send(code, text) }, socket);
    wrap(conn, observer);
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
      if (internals.connections.size > opts.maxClients) {
        return conn.send(421, `${opts.host} Too many connected clients, try again in a moment`, false);
      }
      conn.connectionReady();
    });
  };
}

/**
 * smtp-server's own SNI resolver answers every ClientHello that carries SNI with a context (falling back to the
 * default one), so Node switches context on every DANE handshake. On Node 24 a context switched in this way keeps
 * only one of its keys: an RSA-only client then fails against an RSA + ECDSA listener. Switch only when a name has
 * a context of its own (test/smtp.listener.test.ts covers it).
 */
export function resolveSniWith(server: SMTPServer, lookup: (name: string) => SecureContext | undefined): void {
  (server as unknown as ServerInternals)._resolveSNI = (name, cb) => cb(null, lookup(name));
}

function wrap(conn: ConnectionInternals, o: ConnectionObserver): void {
  const send = conn.send.bind(conn);
  conn.send = (code: number, data?: string | string[], context?: string | false) => {
    let ctx = context;
    if (typeof data === "string" && ENHANCED_CODE.test(data)) ctx = false; // our own replies carry their code
    if (code === 421 && data === `Error: ${TOUCHED.texts.lineTooLong}`) {
      // the parser cannot resync after an over-long line: the observer's 500, then close
      send(500, o.lineTooLong(), false);
      conn.close();
      return;
    }
    o.reply(code, Array.isArray(data) ? data : [data ?? ""]);
    send(code, data, ctx);
    o.replied(code);
  };

  const onCommand = conn._onCommand.bind(conn);
  conn._onCommand = (command: Buffer, callback?: () => void) => {
    if (!conn._upgrading && !o.command(command)) {
      if (callback) setImmediate(callback);
      return;
    }
    return onCommand(command, callback);
  };

  const onError = conn._onError.bind(conn);
  conn._onError = (err: Error) => {
    o.socketError(err, conn._upgrading);
    return onError(err);
  };

  const onTimeout = conn._onTimeout.bind(conn);
  conn._onTimeout = () => {
    o.timeoutStart(conn._closing);
    try {
      onTimeout();
    } finally {
      o.timeoutEnd();
    }
  };

  const starttls = conn.handler_STARTTLS.bind(conn);
  conn.handler_STARTTLS = (command: Buffer, callback: () => void) => {
    const hasArgs = command.toString("latin1").trim().split(/\s+/).length > 1;
    if (hasArgs || conn.secure) return starttls(command, callback); // 501 / 503 as smtp-server does
    if (o.starttls() === "refuse") return callback();
    conn.send(220, "2.0.0 Ready to start TLS");
    o.starttlsReplySent();
    const socket = conn._socket;
    // RFC 3207 §4.2 / §5: nothing the client pipelined after STARTTLS in cleartext may be acted on
    if (conn._parser) {
      socket.unpipe(conn._parser);
      conn._parser.isClosed = true;
    }
    conn._upgrading = true;
    sniffClientHello(socket).then(({ buffered, ended }) => {
      if (o.clientHelloReceived(buffered) === "abort") {
        socket.destroy();
        return callback();
      }
      if (ended || socket.destroyed) {
        o.closedBeforeHandshake();
        socket.destroy();
        return callback();
      }
      if (buffered.length > 0) socket.unshift(buffered);
      conn.upgrade(callback);
    });
  };
}
