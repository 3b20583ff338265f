// scripts/setup-host.sh and its package list on this (already set-up) host: the list is read as data and a malformed
// line is named by file and line; --packages-only touches nothing but packages; a run with nothing to do changes
// nothing — the Docker engine's daemon.json stays byte for byte as it was — and with --quiet says nothing.
// (The fresh-install path runs in Debian 12 and 13 containers: `npm run test:fresh-host`.)
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const root = process.getuid?.() === 0;
const docker = spawnSync("docker", ["info"], { encoding: "utf8" }).status === 0;
const tmp = mkdtempSync(join(tmpdir(), "danelab-setup-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const setup = (...args: string[]) =>
  spawnSync("bash", ["scripts/setup-host.sh", ...args], { encoding: "utf8", timeout: 120_000 });
const tools = readFileSync("scripts/host.packages", "utf8")
  .split("\n")
  .map((l) => l.replace(/#.*/, "").trim().split(/\s+/))
  .filter((f) => f[1] === "tools");
const sha = (path: string) => (existsSync(path) ? createHash("sha256").update(readFileSync(path)).digest("hex") : null);

describe.skipIf(!root)("scripts/setup-host.sh and scripts/host.packages", () => {
  it("a malformed list line is named by file and line, before anything is installed", () => {
    const list = join(tmp, "bad.packages");
    writeFileSync(list, "# comment\nopenssl tools  # fine\nswaks\n");
    const r = setup("--packages-only", "--packages-file", list);
    expect(r.status).toBe(1);
    expect(r.stderr.trim()).toBe(
      `setup-host: ${list}:3: 'swaks' has group ''; each line is '<package> <group>' with group tools, optional, images or engine`,
    );
    writeFileSync(list, "openssl tools swaks\n");
    expect(setup("--packages-only", "--packages-file", list).stderr).toMatch(/:1: one package per line/);
  });

  it("--packages-only checks the tools group and nothing else; --quiet then prints nothing", () => {
    const r = setup("--packages-only");
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toBe(
      `setup-host: packages: all ${tools.length} installed\nsetup-host: done in ${/done in (\d+)s/.exec(r.stderr)?.[1]}s (packages only)\n`,
    );
    const quiet = setup("--packages-only", "--quiet");
    expect([quiet.status, quiet.stderr, quiet.stdout]).toEqual([0, "", ""]);
  });

  it.skipIf(!docker)("with a running engine nothing is configured: daemon.json is left byte for byte", () => {
    const before = sha("/etc/docker/daemon.json");
    const r = setup("--no-images");
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/docker engine: running \(.*\), used as it is/);
    expect(r.stderr).not.toMatch(/writing|installing|started dockerd|undo/);
    expect(sha("/etc/docker/daemon.json")).toBe(before);
  });
});
