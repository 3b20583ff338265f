// Why the lab's DNS server could not start, in words a mail admin can act on. Binding 127.0.53.1:53 fails in three
// ordinary ways — the port is taken (another DNS server or another lab), the process may not bind a port below 1024,
// or the address is not on this machine — and each gets one paragraph: what failed, the likely cause, the fix.

export type ListenTransport = "udp" | "tcp";

/** The DNS server could not bind its address/port; `message` is one paragraph with the cause and the fix. */
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

/** Turns the error of a failed bind()/listen() (node:dgram or node:net) into a ListenError with one paragraph. */
export function listenError(
  err: NodeJS.ErrnoException,
  address: string,
  port: number,
  transport: ListenTransport,
): ListenError {
  const code = err.code ?? "UNKNOWN";
  const where = `${address}:${port} (${transport.toUpperCase()})`;
  let message: string;
  switch (code) {
    case "EADDRINUSE":
      message =
        `The lab's DNS server cannot listen on ${where}: that address and port are already in use. Most likely ` +
        "another DNS server is running there — systemd-resolved, dnsmasq, unbound — or another lab started earlier " +
        `(\`ss -lunp 'sport = :${port}'\` shows which program). Stop the other server, or give the lab another ` +
        "address or port with --dns-address (any 127.x.y.z) or --dns-port.";
      break;
    case "EACCES":
    case "EPERM":
      message =
        `The lab's DNS server is not allowed to listen on ${where}` +
        (port < 1024
          ? `: ports below 1024 need root or the CAP_NET_BIND_SERVICE capability, and this process` +
            `${typeof process.getuid === "function" ? ` (uid ${process.getuid()})` : ""} has neither. `
          : ` (${err.message}). `) +
        "Fix it in one of three ways: run danelab as root; give node the capability once with " +
        "`setcap cap_net_bind_service=+ep $(readlink -f $(which node))`; or let every user bind the port with " +
        `\`sysctl net.ipv4.ip_unprivileged_port_start=${port < 1024 ? port : 53}\`. A port of 1024 or above ` +
        "(--dns-port) also works for dig and unbound, but not for MTAs, whose resolv.conf cannot name a port.";
      break;
    case "EADDRNOTAVAIL":
      message = address.startsWith("127.")
        ? `The lab's DNS server cannot listen on ${where}: this system does not treat ${address} as one of its ` +
          "addresses. Linux makes every 127.x.y.z address local, but macOS and the BSDs configure only 127.0.0.1 — " +
          `add the address with \`sudo ifconfig lo0 alias ${address}\`, or choose 127.0.0.1 with --dns-address.`
        : `The lab's DNS server cannot listen on ${where}: ${address} is not an address of this machine. On Linux ` +
          "every 127.x.y.z address belongs to the loopback interface, so use one of those with --dns-address " +
          "(the default is 127.0.53.1); the lab listens on loopback only.";
      break;
    default:
      message =
        `The lab's DNS server cannot listen on ${where}: ${err.message} (${code}). Check that --dns-address is a ` +
        "127.x.y.z address of this machine and --dns-port a free port, or stop whatever holds it.";
  }
  return new ListenError(message, { code, address, port, transport });
}
