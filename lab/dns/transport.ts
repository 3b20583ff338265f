// The lab DNS server's sockets: one UDP socket and one TCP listener on the same address and port (default
// 127.0.53.1:53). Every message goes to a Responder (responder.ts), which decides what to send; this module only
// carries bytes — RFC 1035 §4.2.1 datagrams, RFC 1035 §4.2.2 / RFC 7766 length-prefixed TCP frames, several queries per
// connection, an idle timeout — and makes sure that nothing a client sends can crash the process or grow its memory.
import { createSocket, type Socket as UdpSocket } from "node:dgram";
import { createServer, isIPv6, type Server, type Socket as TcpSocket } from "node:net";
import { listenError } from "./errors.js";
import { type DnsBackend, type DnsQueryEvent, Responder, type ResponderStats } from "./responder.js";

export interface ServeDnsOptions {
  /** Listen address; the lab uses loopback only (127.x.y.z). */
  address: string;
  /** 0 picks a free port (UDP and TCP get the same one). */
  port: number;
  backend: DnsBackend;
  onQuery?: ((q: DnsQueryEvent) => void) | undefined;
  /** See ResponderOptions.onQueryRepeatMs. */
  onQueryRepeatMs?: number | undefined;
  /** RFC 7766 §6.2.3: close TCP connections idle this long; default 10 s. */
  tcpIdleMs?: number;
  /** Concurrent TCP connections at most; more are closed on accept. Default 256. */
  maxTcpConnections?: number;
}

export interface DnsServerStats extends ResponderStats {
  tcpConnections: number;
  tcpConnectionsTotal: number;
  /** TCP connections closed for sending a zero length, overrunning the idle timeout, or not reading replies. */
  tcpClosedByServer: number;
}

export interface RunningDnsServer {
  address: string;
  port: number;
  close(): Promise<void>;
  stats(): DnsServerStats;
}

/** RFC 1035 §4.2.2: a TCP frame is a 2-octet length and at most 65535 octets of message. */
const LENGTH_PREFIX = 2;
/** A client that does not read its answers is cut off once this much is queued for it. */
const MAX_TCP_BACKLOG = 1 << 20;

export async function serveDns(opts: ServeDnsOptions): Promise<RunningDnsServer> {
  const responder = new Responder(opts.backend, {
    onQuery: opts.onQuery,
    ...(opts.onQueryRepeatMs !== undefined ? { onQueryRepeatMs: opts.onQueryRepeatMs } : {}),
  });
  const tcpIdleMs = opts.tcpIdleMs ?? 10_000;
  const tcp = { open: new Set<TcpSocket>(), total: 0, closedByServer: 0 };

  // Port 0: the kernel picks a UDP port, TCP must then get the same one; retry if someone holds it for TCP.
  let udp: UdpSocket | undefined;
  let server: Server | undefined;
  for (let attempt = 0; ; attempt++) {
    udp = await bindUdp(opts.address, opts.port);
    serveUdp(udp);
    const port = udp.address().port;
    try {
      server = await listenTcp(opts.address, port, (socket) => serveTcpConnection(socket));
      break;
    } catch (err) {
      await new Promise<void>((res) => udp?.close(() => res()));
      if (opts.port !== 0 || attempt >= 10 || (err as { code?: string }).code !== "EADDRINUSE") throw err;
    }
  }
  server.maxConnections = opts.maxTcpConnections ?? 256;
  const boundUdp = udp;
  const boundPort = boundUdp.address().port;

  // Bursts (dnsperf, the garbage test) must queue in the kernel rather than be dropped; the kernel caps the size.
  for (const set of [(n: number) => boundUdp.setRecvBufferSize(n), (n: number) => boundUdp.setSendBufferSize(n)]) {
    try {
      set(4 << 20);
    } catch {
      // Not fatal: the default buffers only mean earlier drops under load.
    }
  }
  function serveUdp(socket: UdpSocket): void {
    socket.on("error", () => {
      // Errors after bind (ICMP unreachable reported on send, ENOBUFS) concern one client, not the server.
    });
    // Replies wait for the end of the event-loop turn and go out together. libuv reads up to 32 datagrams per turn,
    // so the queue is bounded; sent back to back, the replies cost the kernel fewer wake-ups of the client's
    // receiving thread than sends interleaved with reads. Measured with dnsperf on 2 cores, against sending each reply
    // at once: +14% median (+1% to +17%, 8 paired 5 s runs).
    let queue: (Buffer | number | string)[] = [];
    const flush = () => {
      const batch = queue;
      queue = [];
      for (let i = 0; i < batch.length; i += 3) {
        try {
          // No callback: Node then skips scheduling one per datagram; send errors arrive as "error" events (ignored).
          socket.send(batch[i] as Buffer, batch[i + 1] as number, batch[i + 2] as string);
        } catch {
          // A forged source (port 0) makes send() throw synchronously, as does a socket closed meanwhile; that
          // packet gets no answer, the server lives on.
        }
      }
    };
    socket.on("message", (msg, rinfo) => {
      const reply = responder.answer(msg, "udp", rinfo.address);
      if (!reply) return;
      if (queue.length === 0) setImmediate(flush);
      queue.push(reply, rinfo.port, rinfo.address);
    });
  }

  function serveTcpConnection(socket: TcpSocket): void {
    tcp.open.add(socket);
    tcp.total++;
    const client = socket.remoteAddress ?? "";
    socket.setNoDelay(true);
    socket.setTimeout(tcpIdleMs);
    const cut = () => {
      tcp.closedByServer++;
      socket.destroy();
    };
    socket.on("timeout", cut);
    socket.on("error", ignore);
    socket.on("close", () => tcp.open.delete(socket));

    // Received bytes not yet forming a whole frame. Chunks are joined only once a frame is complete, so a client
    // trickling one byte at a time costs linear, not quadratic, copying.
    let chunks: Buffer[] = [];
    let have = 0;
    socket.on("data", (chunk: Buffer) => {
      chunks.push(chunk);
      have += chunk.length;
      while (have >= LENGTH_PREFIX) {
        let head = chunks[0] as Buffer;
        if (head.length < LENGTH_PREFIX) {
          head = Buffer.concat(chunks, have);
          chunks = [head];
        }
        const length = head.readUInt16BE(0);
        // A zero-length frame cannot hold a message; nothing sensible can follow it on this connection.
        if (length === 0) return cut();
        if (have < LENGTH_PREFIX + length) return;
        const buf = chunks.length === 1 ? head : Buffer.concat(chunks, have);
        const msg = buf.subarray(LENGTH_PREFIX, LENGTH_PREFIX + length);
        const rest = buf.subarray(LENGTH_PREFIX + length);
        chunks = rest.length > 0 ? [rest] : [];
        have = rest.length;
        const reply = responder.answer(msg, "tcp", client);
        if (reply) {
          const frame = Buffer.allocUnsafe(LENGTH_PREFIX + reply.length);
          frame.writeUInt16BE(reply.length, 0);
          reply.copy(frame, LENGTH_PREFIX);
          socket.write(frame);
          if (socket.writableLength > MAX_TCP_BACKLOG) return cut();
        }
      }
    });
  }

  let closed: Promise<void> | undefined;
  return {
    address: opts.address,
    port: boundPort,
    stats: () => ({
      ...responder.stats(),
      tcpConnections: tcp.open.size,
      tcpConnectionsTotal: tcp.total,
      tcpClosedByServer: tcp.closedByServer,
    }),
    close: () => {
      closed ??= (async () => {
        const tcpServer = server as Server;
        const tcpClosed = new Promise<void>((res) => tcpServer.close(() => res()));
        for (const s of tcp.open) s.destroy();
        await Promise.all([tcpClosed, new Promise<void>((res) => boundUdp.close(() => res()))]);
      })();
      return closed;
    },
  };
}

function ignore(): void {}

function bindUdp(address: string, port: number): Promise<UdpSocket> {
  return new Promise((resolve, reject) => {
    const family = isIPv6(address) ? 6 : 4;
    const socket = createSocket({
      type: family === 6 ? "udp6" : "udp4",
      // Replies go to the address a datagram came from, always a literal IP. Node's default lookup would still pass
      // it through dns.lookup(), which answers on the next tick: a scheduled callback per reply. Answering at once
      // raised the lab's dnsperf rate from 0.52–0.58× NSD's to 0.64–0.73× (3 paired 10 s runs, 2 cores).
      lookup: (host, _options, callback) => callback(null, host, family),
    });
    const onError = (err: NodeJS.ErrnoException) => {
      socket.close();
      reject(listenError(err, address, port, "udp"));
    };
    socket.once("error", onError);
    socket.bind({ address, port, exclusive: true }, () => {
      socket.off("error", onError);
      resolve(socket);
    });
  });
}

function listenTcp(address: string, port: number, onConnection: (s: TcpSocket) => void): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer({ noDelay: true }, onConnection);
    const onError = (err: NodeJS.ErrnoException) => reject(listenError(err, address, port, "tcp"));
    server.once("error", onError);
    server.listen({ host: address, port, exclusive: true }, () => {
      server.off("error", onError);
      server.on("error", ignore);
      resolve(server);
    });
  });
}
