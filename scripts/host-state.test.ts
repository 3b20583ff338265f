// scripts/host-state.sh, the guard that `npm test` and `npm run bench` leave the host as it was, run against a made-up
// root (its own etc/ and dpkg database) so the real /etc is never touched: an unchanged root compares clean, and each
// kind of change a careless script makes to a mail admin's machine is reported by name.
import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

const SCRIPT = join(import.meta.dirname, "host-state.sh");

function stanza(name: string, status: string, version: string): string {
  return (
    `Package: ${name}\nStatus: ${status}\nPriority: optional\nSection: mail\nMaintainer: Debian\n` +
    `Architecture: amd64\nVersion: ${version}\nDescription: ${name}\n\n`
  );
}

let root: string;
let snapshot: string;
const hostState = (cmd: "snapshot" | "compare", file = snapshot) =>
  spawnSync("bash", [SCRIPT, cmd, file, "--root", root], { encoding: "utf8" });
const writeStatus = (...stanzas: string[]) => writeFileSync(join(root, "var/lib/dpkg/status"), stanzas.join(""));

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "danelab-host-state-"));
  snapshot = join(root, "snapshot.txt");
  mkdirSync(join(root, "etc/exim4/conf.d/main"), { recursive: true });
  mkdirSync(join(root, "var/lib/dpkg"), { recursive: true });
  writeFileSync(join(root, "etc/exim4/update-exim4.conf.conf"), "dc_eximconfig_configtype='local'\n");
  writeFileSync(join(root, "etc/exim4/conf.d/main/01_exim4-config_listmacrosdefs"), "# stock\n");
  writeFileSync(join(root, "etc/hosts"), "127.0.0.1 localhost\n");
  writeFileSync(join(root, "etc/resolv.conf"), "nameserver 127.0.0.53\n");
  writeStatus(
    stanza("exim4-daemon-light", "install ok installed", "4.96-15+deb12u7"),
    stanza("openssl", "install ok installed", "3.0.17-1~deb12u2"),
  );
  const r = hostState("snapshot");
  expect(r.status, r.stderr).toBe(0);
});

afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

describe("scripts/host-state.sh", () => {
  it("an untouched root compares clean; the snapshot names every package and watched path", () => {
    const r = hostState("compare");
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/unchanged since the snapshot \(2 packages, 7 watched paths\)/);
    const s = spawnSync("cat", [snapshot], { encoding: "utf8" }).stdout;
    expect(s).toContain("package exim4-daemon-light install ok installed 4.96-15+deb12u7\n");
    expect(s).toContain("path /etc/postfix absent\n");
    expect(s).toMatch(/^path \/etc\/exim4\/update-exim4\.conf\.conf file 644 \S+ sha256:[0-9a-f]{64}$/m);
  });

  it("reports an edited configuration file, a new configuration directory and a changed mode", () => {
    writeFileSync(join(root, "etc/exim4/update-exim4.conf.conf"), "dc_eximconfig_configtype='internet'\n");
    mkdirSync(join(root, "etc/postfix"));
    writeFileSync(join(root, "etc/postfix/main.cf"), "relayhost =\n");
    chmodSync(join(root, "etc/hosts"), 0o600);
    const r = hostState("compare");
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`the host changed since the snapshot in ${snapshot}`);
    expect(r.stderr).toMatch(/changed: path \/etc\/exim4\/update-exim4\.conf\.conf: file 644 \S+ sha256:\w+ -> file/);
    expect(r.stderr).toMatch(/changed: path \/etc\/postfix: absent -> dir 755/);
    expect(r.stderr).toMatch(/new: {5}path \/etc\/postfix\/main\.cf \(file 644/);
    expect(r.stderr).toMatch(/changed: path \/etc\/hosts: file 644 .* -> file 600 /);
    expect(r.stderr).not.toMatch(/resolv\.conf|listmacrosdefs|package /);
  });

  it("reports a removed MTA: its package gone, its configuration deleted", () => {
    writeStatus(
      stanza("exim4-daemon-light", "deinstall ok config-files", "4.96-15+deb12u7"),
      stanza("openssl", "install ok installed", "3.0.17-1~deb12u2"),
      stanza("postfix", "install ok installed", "3.7.11-0+deb12u1"),
    );
    rmSync(join(root, "etc/exim4"), { recursive: true });
    const r = hostState("compare");
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(
      /changed: package exim4-daemon-light: install ok installed 4\.96-15\+deb12u7 -> deinstall ok config-files/,
    );
    expect(r.stderr).toMatch(/new: {5}package postfix \(install ok installed 3\.7\.11-0\+deb12u1\)/);
    expect(r.stderr).toMatch(/changed: path \/etc\/exim4: dir 755 \S+ -> absent/);
    expect(r.stderr).toMatch(/gone: {4}path \/etc\/exim4\/update-exim4\.conf\.conf \(was: file 644/);
    expect(r.stderr).not.toMatch(/openssl/);
  });

  it("a missing snapshot or a wrong command is one clear line, not a comparison", () => {
    const missing = hostState("compare", join(root, "no-such-snapshot"));
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(
      /no snapshot at '.*no-such-snapshot' \(take one first: bash .*host-state\.sh snapshot/,
    );
    const wrong = spawnSync("bash", [SCRIPT, "diff", snapshot], { encoding: "utf8" });
    expect(wrong.status).toBe(2);
    expect(wrong.stderr).toMatch(/bash scripts\/host-state\.sh snapshot FILE \[--root DIR\]/);
  });
});
