// The tree `danelab instructions --out` writes, and its refusals: real files in a temporary directory.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { filesUnder, labTarget, resolvConfLinkNote, runInstructionsCommand, writePlanTree } from "./instructions.js";
import type { LabManifest } from "./lab-api.js";
import { resolverPlan } from "./mta-config.js";

const tmp = mkdtempSync(join(tmpdir(), "danelab-instr-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const lab = { nameserver: "127.0.53.1", suffix: "lab.example" };

describe("writePlanTree", () => {
  it("writes the files where they go under /, with 0755 directories (cp -a copies DIR's own mode onto /)", () => {
    const out = join(tmp, "tree");
    const written = writePlanTree(
      resolverPlan(lab, () => null),
      out,
    );
    expect(written).toEqual([join(out, "etc/resolv.conf")]);
    expect(readFileSync(join(out, "etc/resolv.conf"), "utf8")).toContain("options trust-ad edns0");
    expect(statSync(out).mode & 0o777).toBe(0o755);
    expect(statSync(join(out, "etc")).mode & 0o777).toBe(0o755);
    expect(statSync(join(out, "etc/resolv.conf")).mode & 0o777).toBe(0o644);
  });

  it("refuses a directory that is not empty, and names what is in it", () => {
    const out = join(tmp, "full");
    mkdirSync(out);
    writeFileSync(join(out, "precious"), "x");
    expect(() =>
      writePlanTree(
        resolverPlan(lab, () => null),
        out,
      ),
    ).toThrow(/not empty \(precious\)/);
  });

  it("never writes through a symbolic link", () => {
    const out = join(tmp, "linked");
    mkdirSync(join(tmp, "elsewhere"));
    symlinkSync(join(tmp, "elsewhere"), out);
    expect(() =>
      writePlanTree(
        resolverPlan(lab, () => null),
        out,
      ),
    ).toThrow(/symbolic link/);
  });
});

describe("the command's inputs", () => {
  it("reads current files under --root; a missing file is no file", () => {
    mkdirSync(join(tmp, "root/etc"), { recursive: true });
    writeFileSync(join(tmp, "root/etc/resolv.conf"), "nameserver 192.0.2.1\n");
    const read = filesUnder(join(tmp, "root"));
    expect(read("/etc/resolv.conf")).toBe("nameserver 192.0.2.1\n");
    expect(read("/etc/exim4/update-exim4.conf.conf")).toBeNull();
  });

  it("warns when resolv.conf is a link a resolver manager owns (cp -a would write through it)", () => {
    mkdirSync(join(tmp, "linked-root/etc"), { recursive: true });
    writeFileSync(join(tmp, "stub-resolv.conf"), "nameserver 127.0.0.53\n");
    symlinkSync(join(tmp, "stub-resolv.conf"), join(tmp, "linked-root/etc/resolv.conf"));
    expect(resolvConfLinkNote(join(tmp, "linked-root"))).toMatch(
      /symbolic link \(to .*stub-resolv\.conf\).*rm \/etc\/resolv\.conf/,
    );
    expect(resolvConfLinkNote(join(tmp, "root"))).toBeNull();
  });

  it("refuses a lab whose DNS is not on port 53 (resolv.conf cannot name a port)", () => {
    const manifest = {
      version: 1,
      suffix: "lab.example.",
      dns: { address: "127.0.53.1", port: 5353, resolver: null },
      http: null,
      scenarios: [],
    } as LabManifest;
    expect(() => labTarget(manifest)).toThrow(/port 5353.*only name port 53/);
  });

  it("without a running lab says how to start one", async () => {
    await expect(runInstructionsCommand({ mta: "exim", stateDir: join(tmp, "nolab") })).rejects.toThrow(
      /Start a lab first/,
    );
  });
});
