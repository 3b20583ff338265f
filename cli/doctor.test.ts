// The doctor's decisions, from what a tool printed to the line and fix a user sees. The outputs below are what the
// real tools print (Debian 12); test/doctor.test.ts runs the real doctor on this host.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { doctorExitCode, formatResults } from "./doctor.js";
import {
  failureLine,
  judgeDocker,
  judgeNode,
  judgePort,
  judgeResolvConf,
  judgeStateDir,
  judgeTool,
} from "./doctor-judge.js";
import { IMAGE_TOOL_CHECKS, TOOL_CHECKS, type ToolCheck } from "./doctor-tools.js";

const check = (name: string): ToolCheck => {
  const c = [...TOOL_CHECKS, ...IMAGE_TOOL_CHECKS].find((t) => t.name === name);
  if (!c) throw new Error(`no check ${name}`);
  return c;
};

describe("tool checks", () => {
  it("swaks without Net::SSLeay runs but fails, naming the missing module and the package that brings it", () => {
    // swaks 20201014 (Debian 12): the missing-module lines arrive first, on stderr.
    const output =
      "*** AUTH DIGEST-MD5 not available: requires Authen::SASL\n*** IPv6 not available: requires IO::Socket::INET6\n" +
      "*** TLS not available: requires Net::SSLeay\n=== AUTH CRAM-MD5 supported\n=== Socket Transport supported\n";
    const r = judgeTool(check("swaks STARTTLS"), { status: 0, output });
    expect(r.level).toBe("FAIL");
    expect(r.detail).toBe("runs but does not work: TLS not available: requires Net::SSLeay");
    expect(r.fix).toMatch(/Net::SSLeay, which is only a Recommends/);
    expect(r.fix).toContain("apt-get install --no-install-recommends swaks libnet-ssleay-perl");
  });

  it("a working swaks is ok and says what it found", () => {
    const r = judgeTool(check("swaks STARTTLS"), {
      status: 0,
      output: "=== Basic AUTH supported\n=== TLS supported\n",
    });
    expect(r).toEqual({ name: "swaks STARTTLS", level: "ok", detail: "TLS supported" });
  });

  it("a missing tool is a FAIL with the packages to install; a missing optional one only a warning", () => {
    const dig = judgeTool(check("dig"), { status: null, output: "", error: "ENOENT" });
    expect(dig).toMatchObject({ level: "FAIL", detail: "dig not found" });
    expect(dig.fix).toMatch(/^apt-get install --no-install-recommends bind9-dnsutils /);
    const chromium = judgeTool(check("chromium headless"), { status: null, output: "", error: "ENOENT" });
    expect(chromium.level).toBe("warn");
  });

  it("the version is the detail of an ok; a non-zero exit fails unless the tool always exits so", () => {
    expect(judgeTool(check("unbound"), { status: 0, output: "Version 1.17.1\n\nConfigure line: …" }).detail).toBe(
      "1.17.1",
    );
    expect(judgeTool(check("unbound"), { status: 1, output: "Version 1.17.1\n" }).level).toBe("FAIL");
    expect(judgeTool(check("nsd"), { status: 1, output: "NSD version 4.6.1\nWritten by NLnet Labs.\n" }).level).toBe(
      "ok",
    );
  });

  it("an openssl without DANE in s_client fails with the reason", () => {
    const r = judgeTool(check("openssl DANE"), { status: 0, output: "Usage: s_client [options]\n -connect val\n" });
    expect(r.level).toBe("FAIL");
    expect(r.fix).toMatch(/no DANE support in s_client/);
  });

  it("a hang is reported as such, with the command to try by hand", () => {
    const r = judgeTool(check("chromium headless"), { status: null, output: "", error: "timeout" });
    expect(r.detail).toBe("chromium did not finish within 30 s");
    expect(r.fix).toMatch(/^run 'chromium --headless/);
  });

  it("failureLine picks the line that says what is wrong", () => {
    expect(failureLine("Usage: x\n*** TLS not available: requires Net::SSLeay\n")).toBe(
      "TLS not available: requires Net::SSLeay",
    );
    expect(failureLine("a: not available\nb: not available\n", /^b/)).toBe("b: not available");
    expect(failureLine("\n  something odd\n")).toBe("something odd");
    expect(failureLine("")).toBeNull();
  });
});

describe("the package list and the checks agree", () => {
  // scripts/host.packages: "<package> <group>  # why". Every package of the tools/optional/images groups makes a
  // checked tool work, and every package a check names as its fix is in the list, in the matching group.
  const groups = new Map(
    readFileSync(new URL("../scripts/host.packages", import.meta.url), "utf8")
      .split("\n")
      .map((l) => l.replace(/#.*/, "").trim().split(/\s+/))
      .filter((f) => f[0])
      .map((f) => [f[0]!, f[1]!]),
  );
  const checks = [...TOOL_CHECKS, ...IMAGE_TOOL_CHECKS];

  it("every package a check names is in scripts/host.packages, optional checks in the optional group", () => {
    for (const c of checks) {
      for (const p of c.packages) {
        expect(groups.get(p), `${c.name}: ${p}`).toBe(
          c.optional ? "optional" : IMAGE_TOOL_CHECKS.includes(c) ? "images" : "tools",
        );
      }
    }
  });

  it("every listed package (except the engine) is needed by a check", () => {
    const named = new Set(checks.flatMap((c) => c.packages));
    const listed = [...groups].filter(([, g]) => g !== "engine").map(([p]) => p);
    expect(listed.filter((p) => !named.has(p))).toEqual([]);
    expect(listed).toContain("libnet-ssleay-perl");
  });
});

describe("host checks", () => {
  it("node 20 and newer pass, older fail with where to get a newer one", () => {
    expect(judgeNode("v20.19.0").level).toBe("ok");
    expect(judgeNode("v24.1.0").level).toBe("ok");
    const old = judgeNode("v18.19.0");
    expect(old.level).toBe("FAIL");
    expect(old.fix).toMatch(/Debian 12 ships Node 18/);
  });

  it("docker: unreachable engine, permission denied and a missing client each get their own fix", () => {
    expect(judgeDocker({ status: 0, output: "20.10.24+dfsg1\n" })).toMatchObject({ level: "ok" });
    const down = judgeDocker({
      status: 1,
      output: "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?",
    });
    expect(down.level).toBe("FAIL");
    expect(down.fix).toMatch(/setup-host\.sh --no-images/);
    const denied = judgeDocker({
      status: 1,
      output: "permission denied while trying to connect to the Docker daemon socket at unix:///var/run/docker.sock",
    });
    expect(denied.fix).toMatch(/docker group/);
    expect(judgeDocker({ status: null, output: "", error: "ENOENT" }).fix).toMatch(/installs docker\.io/);
  });

  it("ports: privilege and a holder are told apart", () => {
    expect(judgePort("mta-sts https tcp", "127.0.53.1", 443, "EADDRINUSE", "nginx (pid 7)").fix).toMatch(
      /--sts-address/,
    );
    expect(judgePort("dns udp", "127.0.53.1", 53, null, null).level).toBe("ok");
    const denied = judgePort("smtp tcp", "127.0.25.1", 25, "EACCES", null);
    expect(denied.fix).toMatch(/setcap cap_net_bind_service/);
    const held = judgePort("dns udp", "127.0.53.1", 53, "EADDRINUSE", "unbound (pid 42) on 127.0.53.1:53");
    expect(held.detail).toBe("127.0.53.1:53 is in use, held by unbound (pid 42) on 127.0.53.1:53");
    expect(held.fix).toMatch(/--dns-address/);
  });

  it("resolv.conf is information: what an MTA on this host needs, ok when it is already there", () => {
    const plain = judgeResolvConf("nameserver 127.0.0.53\n", "127.0.53.1");
    expect(plain.level).toBe("info");
    expect(plain.detail).toMatch(/no trust-ad; .*'options trust-ad edns0'.*strips the DNSSEC AD bit/);
    expect(judgeResolvConf("nameserver 127.0.53.1\noptions trust-ad edns0\n", "127.0.53.1").level).toBe("ok");
    expect(judgeResolvConf(null, "127.0.53.1").detail).toMatch(/^no \/etc\/resolv.conf/);
  });

  it("state directory: missing is fine, a readable-by-others one fails with chmod", () => {
    expect(judgeStateDir("/x/.lab", null, false, true).level).toBe("ok");
    expect(judgeStateDir("/x/.lab", null, false, false).level).toBe("FAIL");
    const open = judgeStateDir("/x/.lab", { mode: 0o40755, isDirectory: true }, true, true);
    expect(open).toMatchObject({ level: "FAIL", detail: expect.stringMatching(/mode 0755/), fix: "chmod 700 /x/.lab" });
    expect(judgeStateDir("/x/.lab", { mode: 0o40700, isDirectory: true }, false, true).fix).toMatch(/chown/);
    expect(judgeStateDir("/x/.lab", { mode: 0o40700, isDirectory: true }, true, true).level).toBe("ok");
  });
});

describe("output", () => {
  it("one line per check, the fix under a problem, a closing count; exit 1 only on FAIL", () => {
    const results = [
      { name: "node", level: "ok" as const, detail: "v20.20.2" },
      { name: "swaks STARTTLS", level: "FAIL" as const, detail: "runs but does not work", fix: "apt-get install x" },
      { name: "chromium headless", level: "warn" as const, detail: "chromium not found", fix: "apt-get install y" },
    ];
    const text = formatResults(results);
    expect(text.split("\n")).toEqual([
      "ok    node               v20.20.2",
      "FAIL  swaks STARTTLS     runs but does not work",
      "                         fix: apt-get install x",
      "warn  chromium headless  chromium not found",
      "                         fix: apt-get install y",
      "doctor: 1 check(s) failed, 1 warning(s); each 'fix:' line says what to do",
    ]);
    expect(doctorExitCode(results)).toBe(1);
    expect(doctorExitCode(results.filter((r) => r.level !== "FAIL"))).toBe(0);
  });
});
