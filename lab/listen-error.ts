// Why one of the lab's listeners (DNS, SMTP, HTTP API, …) could not start, in words a mail admin can act on. Binding
// an address and port fails in three ordinary ways, and each gets one paragraph — what failed, the likely cause, the
// fix — built here from a short description of the listener:
// - EADDRINUSE: the port is taken. The paragraph names the usual holders and, when `ss` can see it, the process that
//   holds it ("It is held by unbound (pid 42) on 127.0.53.1:53", lab/port-owner.ts).
// - EACCES/EPERM: the process may not bind a port below 1024 (no root, no CAP_NET_BIND_SERVICE).
// - EADDRNOTAVAIL: the address is not one of this machine's.
// Anything else keeps the system's own message and says what to check.
import { portOwner } from "./port-owner.js";

export type ListenTransport = "udp" | "tcp";

/** A listener could not bind its address/port; `message` is one paragraph with the cause and the fix. */
export class ListenError extends Error {
  readonly code: string;
  readonly address: string;
  readonly port: number;
  readonly transport: ListenTransport;

  constructor(message: string, fields: { code: string; address: string; port: number; transport: ListenTransport }) {
    super(message);
    this.name = "ListenError";
    this.code = fields.code;
    this.address = fields.address;
    this.port = fields.port;
    this.transport = fields.transport;
  }
}

/** What the paragraphs say about one kind of listener. */
export interface ListenerDescription {
  /** The subject of each sentence: "The lab's DNS server", "The SMTP listener for mx.a.lab.example". */
  what: string;
  /** Whether the address is written with its transport, "127.0.53.1:53 (UDP)": for a listener on both UDP and TCP. */
  namesTransport?: boolean;
  /** Who usually holds the port, after "Most likely": "another MTA (Postfix, Exim) or another lab is running there". */
  likelyHolders: string;
  /** The fix when the port is taken, one or more sentences: "Stop it, or give the lab … with --smtp-address …". */
  inUseFix: string;
  /** The option that sets the address, and its default if there is one. */
  addressOption: string;
  defaultAddress?: string;
  /**
   * A port below 1024: "grant" gives the three ways to let danelab bind it (the port is fixed by the protocol, as 25
   * and 53 are for MTAs); "avoid" asks for a port of 1024 or above with `portOption`.
   */
  lowPort: "grant" | "avoid";
  /** The option that sets the port, and its default. */
  portOption?: string;
  defaultPort: number;
  /** A sentence after the fixes for a port below 1024 (why the port matters). */
  lowPortNote?: string;
  /** What to check after an unexpected error. */
  otherFix: string;
}

/** Turns the error of a failed bind()/listen() (node:dgram or node:net) into a ListenError with one paragraph. */
export function listenError(
  err: NodeJS.ErrnoException,
  listener: ListenerDescription,
  where: { address: string; port: number; transport: ListenTransport },
): ListenError {
  const { address, port, transport } = where;
  const code = err.code ?? "UNKNOWN";
  const at = `${address}:${port}${listener.namesTransport ? ` (${transport.toUpperCase()})` : ""}`;
  const what = listener.what;
  let message: string;
  switch (code) {
    case "EADDRINUSE": {
      message =
        `${what} cannot listen on ${at}: that address and port are already in use. Most likely ` +
        `${listener.likelyHolders} (\`ss -l${transport === "udp" ? "u" : "t"}np 'sport = :${port}'\` shows which ` +
        `program). ${listener.inUseFix}`;
      // The process itself, when `ss` shows it; the other transport too (a DNS server may hold only TCP).
      const owner =
        portOwner(address, port, transport) ?? portOwner(address, port, transport === "udp" ? "tcp" : "udp");
      if (owner) message += ` It is held by ${owner}.`;
      break;
    }
    case "EACCES":
    case "EPERM": {
      const low = port < 1024;
      message =
        `${what} is not allowed to listen on ${at}` +
        (low
          ? `: ports below 1024 need root or the CAP_NET_BIND_SERVICE capability, and this process` +
            `${typeof process.getuid === "function" ? ` (uid ${process.getuid()})` : ""} has neither. `
          : ` (${err.message}). `) +
        (listener.lowPort === "grant"
          ? "Fix it in one of three ways: run danelab as root; give node the capability once with " +
            "`setcap cap_net_bind_service=+ep $(readlink -f $(which node))`; or let every user bind the port with " +
            `\`sysctl net.ipv4.ip_unprivileged_port_start=${low ? port : listener.defaultPort}\`.`
          : `Choose a port of 1024 or above with ${listener.portOption} (the default is ${listener.defaultPort}).`) +
        (listener.lowPortNote ? ` ${listener.lowPortNote}` : "");
      break;
    }
    case "EADDRNOTAVAIL":
      message = address.startsWith("127.")
        ? `${what} cannot listen on ${at}: this system does not treat ${address} as one of its addresses. Linux ` +
          "makes every 127.x.y.z address local, but macOS and the BSDs configure only 127.0.0.1 — add the address " +
          `with \`sudo ifconfig lo0 alias ${address}\`, or choose 127.0.0.1 with ${listener.addressOption}.`
        : `${what} cannot listen on ${at}: ${address} is not an address of this machine. On Linux every 127.x.y.z ` +
          `address belongs to the loopback interface, so use one of those with ${listener.addressOption}` +
          `${listener.defaultAddress ? ` (the default is ${listener.defaultAddress})` : ""}; by default the lab ` +
          "listens on loopback only.";
      break;
    default:
      message = `${what} cannot listen on ${at}: ${err.message} (${code}). ${listener.otherFix}`;
  }
  return new ListenError(message, { code, address, port, transport });
}
