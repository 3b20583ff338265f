// Values that reach a client container's configuration are checked for their shape, with a paragraph naming the value
// and the fix: the checks alone, and `danelab check` / `instructions` refusing before any container or file is made.
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runCheck } from "./check.js";
import { checkAddress, checkDnsName, checkMountPath } from "./config-values.js";
import { labTarget } from "./instructions.js";
import type { LabManifest } from "./lab-api.js";

const tmp = mkdtempSync(join(tmpdir(), "danelab-values-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const manifest = (over: Record<string, unknown> = {}) => ({
  version: 1,
  suffix: "lab.example.",
  dns: { address: "127.0.53.1", port: 53, resolver: null },
  http: { url: "http://127.0.90.9:1" },
  scenarios: [{ id: "ta-baseline", expect: "deliver", domain: "ta-baseline.lab.example." }],
  ...over,
});

function writeManifest(name: string, m: object): string {
  const dir = join(tmp, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "manifest.json"), JSON.stringify(m));
  return join(dir, "manifest.json");
}

describe("the checks", () => {
  it("addresses: IPv4 and IPv6 literals pass; anything else names the option and the fix", () => {
    expect(checkAddress("127.0.26.1", { option: "source address" })).toBe("127.0.26.1");
    expect(checkAddress("::1", { option: "source address" })).toBe("::1");
    for (const bad of ["127.0.26.1\n  hosts_require_dane = ", "127.0.256.1", "127.0.26.1 ", "", "localhost"]) {
      expect(() => checkAddress(bad, { option: "source address" })).toThrow(
        `source address ${JSON.stringify(bad)} is not an IP address. Give an address such as 127.0.26.1`,
      );
    }
  });

  it("DNS names: labels of letters, digits, - and _; no spaces, newlines, $ or empty labels", () => {
    for (const ok of ["lab.example", "lab.example.", "_25._tcp.mx.lab.example", "x"]) {
      expect(checkDnsName(ok, { manifest: "suffix" })).toBe(ok);
    }
    for (const bad of [
      "lab.example\nsmtp_tls_security_level = none",
      "a..b",
      "-a.example",
      "a b",
      "a$b.example",
      ".",
    ]) {
      expect(() => checkDnsName(bad, { manifest: "suffix" })).toThrow(
        `The lab's manifest gives suffix as ${JSON.stringify(bad)}, which is not a DNS name.`,
      );
    }
    expect(() => checkDnsName(`${"a".repeat(64)}.example`, { option: "--suffix" })).toThrow("1–63 each");
  });

  it("mount paths: Docker's source:target:mode syntax cannot carry ':' ',' or control characters", () => {
    expect(checkMountPath("/var/tmp/lab state", { option: "--state-dir" })).toBe("/var/tmp/lab state");
    for (const bad of ["/tmp/a:b", "/tmp/a,b", "/tmp/a\nb"]) {
      expect(() => checkMountPath(bad, { option: "--state-dir" })).toThrow(/^--state-dir .* contains .* Docker/);
    }
  });
});

describe("danelab check refuses before any container starts or directory is written", () => {
  it("a manifest whose suffix or scenario domain would inject configuration lines", async () => {
    const path = writeManifest("suffix", manifest({ suffix: "lab.example\nsmtp_tls_security_level = none" }));
    await expect(runCheck({ manifestPath: path, clients: ["postfix"], log: () => {} })).rejects.toThrow(
      /^The lab's manifest gives suffix as "lab\.example\\nsmtp_tls_security_level = none", which is not a DNS name/,
    );
    const scenarios = [{ id: "x", expect: "deliver", domain: "x.lab.example -oQ/tmp" }];
    const path2 = writeManifest("domain", manifest({ scenarios }));
    await expect(runCheck({ manifestPath: path2, clients: ["postfix"], log: () => {} })).rejects.toThrow(
      "the domain of scenario x",
    );
    expect(existsSync(join(tmp, "suffix", "checks"))).toBe(false);
  });

  it("a nameserver that is not an address", async () => {
    const path = writeManifest(
      "ns",
      manifest({ dns: { address: "127.0.53.1\noptions debug", port: 53, resolver: null } }),
    );
    await expect(runCheck({ manifestPath: path, clients: ["postfix"], log: () => {} })).rejects.toThrow(
      "The lab's manifest gives dns.address as",
    );
  });

  it("source addresses and a state directory Docker cannot mount", async () => {
    const path = writeManifest("src", manifest());
    await expect(
      runCheck({ manifestPath: path, clients: ["exim-try"], sourceAddresses: ["127.0.26.1\n  tls_verify_hosts = *"] }),
    ).rejects.toThrow(/^source address "127\.0\.26\.1\\n {2}tls_verify_hosts = \*" is not an IP address/);
    await expect(runCheck({ manifestPath: path, clients: ["postfix"], sourcePrefix: "127.0.26.1; " })).rejects.toThrow(
      "is not an IP address",
    );
    await expect(
      runCheck({ manifestPath: path, clients: ["postfix"], stateDir: join(tmp, "a:b"), log: () => {} }),
    ).rejects.toThrow(/^--state-dir ".*a:b" contains ":"/);
    expect(existsSync(join(tmp, "a:b"))).toBe(false);
    expect(existsSync(join(tmp, "src", "checks"))).toBe(false);
  });
});

describe("danelab instructions", () => {
  it("does not write a suffix or nameserver of the wrong shape into an MTA's files", () => {
    const m = manifest({ suffix: "lab.example\ndnssec_probe = ns:." }) as unknown as LabManifest;
    expect(() => labTarget(m)).toThrow("The lab's manifest gives suffix as");
    expect(labTarget(manifest() as unknown as LabManifest)).toEqual({
      nameserver: "127.0.53.1",
      suffix: "lab.example",
    });
  });
});
