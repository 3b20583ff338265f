// The small parts of lab/ that glue the libraries together: address allocation, the DNS query log folding, who holds a
// port, the state directory and the unbound runner's errors. Loopback addresses of this file: 127.0.13.30–39.
import { createSocket } from "node:dgram";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadCatalogueCached } from "./catalogue/cache.js";
import { nthAddress } from "./catalogue/compile.js";
import { builtinScenarioDir } from "./catalogue/select.js";
import { listenError } from "./dns/errors.js";
import { dnsQueryRecorder, NAMES_PER_ZONE } from "./dns-log.js";
import { EventLog } from "./events.js";
import { portOwner } from "./port-owner.js";
import { ResolverError, startUnbound } from "./resolver/unbound.js";
import { prepareStateDir, StateDirError } from "./up.js";

const tmp = mkdtempSync(join(tmpdir(), "danelab-parts-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("SMTP address allocation", () => {
  it("counts up from the first address, 250 hosts per /24, never .0 or .255", () => {
    expect(nthAddress("127.0.25.1", 0)).toBe("127.0.25.1");
    expect(nthAddress("127.0.25.1", 249)).toBe("127.0.25.250");
    expect(nthAddress("127.0.25.1", 250)).toBe("127.0.26.1");
    expect(nthAddress("127.0.40.5", 1)).toBe("127.0.40.6");
  });
});

describe("DNS query log", () => {
  const query = (name: string, type = "TLSA") => ({
    time: new Date().toISOString(),
    client: "127.0.0.1",
    transport: "udp" as const,
    name,
    type,
    rd: true,
    do: true,
    rcode: "NOERROR",
    ad: true,
    tc: false,
  });

  it("records a scenario's lookups once a minute per client/name/type/answer and ignores other names", () => {
    const events = new EventLog({});
    const record = dnsQueryRecorder(events, "lab.example", new Set(["ta-baseline"]));
    for (let i = 0; i < 1000; i++) record(query("_25._tcp.mx.ta-baseline.lab.example"));
    record(query("ta-baseline.lab.example", "MX"));
    record(query("mx.other.lab.example", "A"));
    record(query("example.org", "A"));
    const logged = events.all({ kind: "dns-query" });
    expect(logged).toHaveLength(2);
    expect(logged[0]).toMatchObject({
      scenario: "ta-baseline",
      name: "_25._tcp.mx.ta-baseline.lab.example",
      type: "TLSA",
    });
  });
});

describe("DNS query log under a flood of random labels", () => {
  it("logs NAMES_PER_ZONE names per client/scenario/type a minute, then one folded event per answer", () => {
    const events = new EventLog({});
    const record = dnsQueryRecorder(events, "lab.example", new Set(["ta-wildcard"]));
    const q = (label: string, rcode: string) => ({
      time: new Date().toISOString(),
      client: "127.0.0.1",
      transport: "udp" as const,
      name: `${label}.ta-wildcard.lab.example`,
      type: "A",
      rd: true,
      do: true,
      rcode,
      ad: true,
      tc: false,
    });
    for (let i = 0; i < 100_000; i++) record(q(`r${i}`, i % 2 ? "NXDOMAIN" : "NOERROR"));
    const logged = events.all({ kind: "dns-query" });
    expect(logged).toHaveLength(NAMES_PER_ZONE + 2);
    expect(logged.slice(NAMES_PER_ZONE).map((e) => [e["rcode"], typeof e["folded"]])).toEqual([
      ["NOERROR", "string"],
      ["NXDOMAIN", "string"],
    ]);
  });
});

describe("port owner", () => {
  it("names the process holding a UDP port, and appends it to an address-in-use error", async () => {
    const socket = createSocket("udp4");
    await new Promise<void>((r) => socket.bind(53, "127.0.13.30", () => r()));
    try {
      expect(portOwner("127.0.13.30", 53, "udp")).toMatch(
        new RegExp(`\\(pid ${process.pid}\\) on 127\\.0\\.13\\.30:53`),
      );
      const err = Object.assign(new Error("bind EADDRINUSE 127.0.13.30:53"), { code: "EADDRINUSE" });
      expect(listenError(err, "127.0.13.30", 53, "udp").message).toMatch(
        new RegExp(`already in use\\. .* It is held by .*\\(pid ${process.pid}\\) on 127\\.0\\.13\\.30:53\\.$`),
      );
      expect(portOwner("127.0.13.31", 53, "udp")).toBeNull();
    } finally {
      socket.close();
    }
  });
});

describe("state directory", () => {
  it("is created 0700, and a file in its place is explained", () => {
    const dir = prepareStateDir(join(tmp, "state"));
    expect(dir).toBe(join(tmp, "state"));
    const file = join(tmp, "a-file");
    writeFileSync(file, "x");
    expect(() => prepareStateDir(file)).toThrow(StateDirError);
    expect(() => prepareStateDir(file)).toThrow(/--state-dir/);
  });
});

describe("unbound runner", () => {
  it("says how to install unbound when it is missing", async () => {
    const path = process.env["PATH"];
    process.env["PATH"] = join(tmp, "empty-bin");
    try {
      const start = startUnbound({
        dir: join(tmp, "unbound"),
        address: "127.0.13.32",
        port: 53,
        labDns: { address: "127.0.13.33", port: 53 },
        trustAnchors: { ds: [], dnskey: [] },
      });
      await expect(start).rejects.toThrow(ResolverError);
      await expect(start).rejects.toThrow(/apt-get install unbound/);
    } finally {
      process.env["PATH"] = path;
    }
  });
});

describe("catalogue cache", () => {
  it("serves an unchanged catalogue from the state directory and re-validates after any edit", async () => {
    const dir = join(tmp, "scenarios");
    mkdirSync(dir);
    for (const id of ["ta-baseline", "no-starttls"])
      copyFileSync(join(builtinScenarioDir(), `${id}.yaml`), join(dir, `${id}.yaml`));
    const cache = join(tmp, "catalogue.json");
    const first = await loadCatalogueCached(cache, { dirs: [dir] });
    expect(first.map((s) => s.id)).toEqual(["no-starttls", "ta-baseline"]);
    // Prove the second load reads the cache: mark the cached copy.
    const cached = JSON.parse(readFileSync(cache, "utf8"));
    cached.scenarios[0].title = "from the cache";
    writeFileSync(cache, JSON.stringify(cached));
    expect((await loadCatalogueCached(cache, { dirs: [dir] }))[0]!.title).toBe("from the cache");
    // Any edit of a scenario file re-validates, and a broken edit is reported with file:line.
    const file = join(dir, "no-starttls.yaml");
    writeFileSync(file, readFileSync(file, "utf8").replace(/^expect: .*$/m, "expect: sometimes"));
    await expect(loadCatalogueCached(cache, { dirs: [dir] })).rejects.toThrow(
      /no-starttls\.yaml:\d+: expect: must be one of/,
    );
  });
});
