// When the DNS server cannot bind: a port already taken (EADDRINUSE) and a non-root user on port 53 (EACCES, the
// server started for real as `nobody` via setpriv) each give a ListenError whose message is one paragraph naming the
// address and port, the likely cause and the fix. Addresses: 127.0.11.2 and 127.0.11.3.
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import ts from "typescript";
import { afterAll, describe, expect, it } from "vitest";
import { ListenError, listenError } from "../lab/dns/errors.js";
import type { DnsBackend } from "../lab/dns/responder.js";
import { serveDns } from "../lab/dns/transport.js";
import { run } from "./run.js";

const backend: DnsBackend = {
  inLab: () => true,
  authoritative: () => ({ rcode: "NOERROR", aa: true, answers: [], authorities: [], additionals: [] }),
  resolve: () => ({ rcode: "NOERROR", status: "secure", answers: [], authorities: [] }),
};

const oneParagraph = (m: string) => {
  expect(m).not.toContain("\n");
  expect(m).not.toMatch(/\bat .*\.(js|ts):\d+/); // no stack trace
};

const temps: string[] = [];
afterAll(() => {
  for (const t of temps) rmSync(t, { recursive: true, force: true });
});

describe("ListenError", () => {
  it("EADDRINUSE on port 53: names the address and port, the likely other servers, and the options to change", async () => {
    const first = await serveDns({ address: "127.0.11.2", port: 53, backend });
    try {
      const err = await serveDns({ address: "127.0.11.2", port: 53, backend }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ListenError);
      const e = err as ListenError;
      expect(e.code).toBe("EADDRINUSE");
      expect(e.message).toContain("127.0.11.2:53");
      expect(e.message).toContain("systemd-resolved, dnsmasq, unbound");
      expect(e.message).toContain("another lab");
      expect(e.message).toContain("--dns-address");
      expect(e.message).toContain("--dns-port");
      expect(e.message).toMatch(/Stop the other server/);
      oneParagraph(e.message);
    } finally {
      await first.close();
    }
    // Freed again: a restarted lab binds the same address at once.
    const again = await serveDns({ address: "127.0.11.2", port: 53, backend });
    await again.close();
  });

  it("EADDRINUSE when only TCP is taken: the UDP socket is released again and the error names TCP", async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen({ host: "127.0.11.2", port: 0 }, () => r()));
    const port = (blocker.address() as { port: number }).port;
    try {
      const err = (await serveDns({ address: "127.0.11.2", port, backend }).catch((e: unknown) => e)) as ListenError;
      expect(err).toBeInstanceOf(ListenError);
      expect(err.transport).toBe("tcp");
      expect(err.message).toContain(`127.0.11.2:${port} (TCP)`);
    } finally {
      await new Promise<void>((r) => blocker.close(() => r()));
    }
    const ok = await serveDns({ address: "127.0.11.2", port, backend });
    await ok.close();
  });

  it("EACCES: the server started as user nobody on port 53 gives the three fixes", async () => {
    // The lab/dns modules, transpiled to plain JavaScript in a directory nobody can read, run by a real node as nobody.
    const dir = mkdtempSync(join(tmpdir(), "danelab-dns-eacces-"));
    temps.push(dir);
    // lab/dns and the listen-error helper it shares with the other listeners.
    const lab = join(import.meta.dirname, "../lab");
    const sources = [
      ...readdirSync(join(lab, "dns"))
        .filter((n) => n.endsWith(".ts") && !n.endsWith(".test.ts"))
        .map((n) => `dns/${n}`),
      "listen-error.ts",
      "port-owner.ts",
    ];
    for (const f of sources) {
      const src = readFileSync(join(lab, f), "utf8");
      const js = ts.transpileModule(src, {
        compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
      }).outputText;
      const out = join(dir, "lab", f.replace(/\.ts$/, ".js"));
      mkdirSync(dirname(out), { recursive: true });
      writeFileSync(out, js);
    }
    symlinkSync(join(import.meta.dirname, "../node_modules"), join(dir, "node_modules"));
    writeFileSync(join(dir, "package.json"), '{"type":"module"}');
    writeFileSync(
      join(dir, "start.js"),
      `import { serveDns } from "./lab/dns/transport.js";
const backend = { inLab: () => true, authoritative: () => null, resolve: () => null };
try { const s = await serveDns({ address: "127.0.11.3", port: 53, backend }); await s.close(); console.log(JSON.stringify({ started: true })); }
catch (e) { console.log(JSON.stringify({ name: e.name, code: e.code, message: e.message })); }`,
    );
    chmodSync(dir, 0o755);
    const r = await run("setpriv", [
      "--reuid=nobody",
      "--regid=nogroup",
      "--clear-groups",
      process.execPath,
      join(dir, "start.js"),
    ]);
    expect(r.stderr).toBe("");
    const result = JSON.parse(r.stdout) as { name: string; code: string; message: string };
    expect(result.name).toBe("ListenError");
    expect(result.code).toBe("EACCES");
    expect(result.message).toContain("127.0.11.3:53");
    expect(result.message).toContain("run danelab as root");
    expect(result.message).toContain("setcap cap_net_bind_service=+ep $(readlink -f $(which node))");
    expect(result.message).toContain("sysctl net.ipv4.ip_unprivileged_port_start=53");
    oneParagraph(result.message);
  });

  it("EADDRNOTAVAIL (an address the system does not consider its own) says how to add it or which to use", () => {
    // Linux makes every 127/8 address local, so this is the error object bind(2) gives elsewhere (macOS, BSD).
    const err = Object.assign(new Error("bind EADDRNOTAVAIL 127.0.11.4:53"), {
      code: "EADDRNOTAVAIL",
      syscall: "bind",
    });
    const e = listenError(err, "127.0.11.4", 53, "udp");
    expect(e).toBeInstanceOf(ListenError);
    expect(e.message).toContain("127.0.11.4:53");
    expect(e.message).toContain("ifconfig lo0 alias 127.0.11.4");
    expect(e.message).toContain("--dns-address");
    oneParagraph(e.message);
  });
});
