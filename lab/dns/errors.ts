// Why the lab's DNS server could not start: what lab/listen-error.ts says about it. Binding 127.0.53.1:53 fails in
// three ordinary ways — the port is taken (another DNS server or another lab), the process may not bind a port below
// 1024, or the address is not on this machine — and each gets one paragraph: what failed, the likely cause, the fix.
import {
  listenError as describe,
  ListenError,
  type ListenerDescription,
  type ListenTransport,
} from "../listen-error.js";

export { ListenError, type ListenTransport };

const DNS_SERVER: ListenerDescription = {
  what: "The lab's DNS server",
  namesTransport: true,
  likelyHolders:
    "another DNS server is running there — systemd-resolved, dnsmasq, unbound — or another lab started earlier",
  inUseFix:
    "Stop the other server, or give the lab another address or port with --dns-address (any 127.x.y.z) or --dns-port.",
  addressOption: "--dns-address",
  defaultAddress: "127.0.53.1",
  lowPort: "grant",
  portOption: "--dns-port",
  defaultPort: 53,
  lowPortNote:
    "A port of 1024 or above (--dns-port) also works for dig and unbound, but not for MTAs, whose resolv.conf cannot " +
    "name a port.",
  otherFix:
    "Check that --dns-address is a 127.x.y.z address of this machine and --dns-port a free port, or stop whatever " +
    "holds it.",
};

/** Turns the error of a failed bind()/listen() (node:dgram or node:net) into a ListenError with one paragraph. */
export function listenError(
  err: NodeJS.ErrnoException,
  address: string,
  port: number,
  transport: ListenTransport,
): ListenError {
  return describe(err, DNS_SERVER, { address, port, transport });
}
