// The fresh-host check's decisions: which mirror and image, the list without one package, and what the doctor's JSON
// must say for the proof and for a passing release. The containers themselves run in `npm run test:fresh-host`.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  baseImageTag,
  closingLine,
  type DoctorCheck,
  hostMirrors,
  judgeComplete,
  judgeWithoutDropped,
  parseDoctor,
  sourcesList,
  withoutPackage,
} from "./plan.js";

const DEB822 = `Types: deb
# http://snapshot.debian.org/archive/debian/20250520T000000Z
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
`;

describe("mirrors and the base image", () => {
  it("takes the host's mirrors from debian.sources, then sources.list, else deb.debian.org", () => {
    expect(hostMirrors(DEB822, null)).toEqual({
      archive: "http://deb.debian.org/debian",
      security: "http://deb.debian.org/debian-security",
    });
    expect(
      hostMirrors(null, "# local\ndeb [arch=amd64] http://mirror.local/debian/ bookworm main\ndeb-src http://x/ y\n"),
    ).toEqual({ archive: "http://mirror.local/debian", security: "http://deb.debian.org/debian-security" });
    expect(hostMirrors(null, null).archive).toBe("http://deb.debian.org/debian");
  });

  it("a fresh installation's sources: the release, its updates and its security archive", () => {
    expect(sourcesList("trixie", hostMirrors(DEB822, null))).toBe(
      "deb http://deb.debian.org/debian trixie main\n" +
        "deb http://deb.debian.org/debian trixie-updates main\n" +
        "deb http://deb.debian.org/debian-security trixie-security main\n",
    );
  });

  it("the image tag changes with the recipe, the release and the mirror, and only then", () => {
    const m = hostMirrors(DEB822, null);
    const tag = baseImageTag("bookworm", "r1", m);
    expect(tag).toMatch(/^localhost\/danelab-fresh-bookworm:[0-9a-f]{12}$/);
    expect(baseImageTag("bookworm", "r1", m)).toBe(tag);
    expect(baseImageTag("bookworm", "r2", m)).not.toBe(tag);
    expect(baseImageTag("bookworm", "r1", { ...m, archive: "http://other/debian" })).not.toBe(tag);
    expect(baseImageTag("trixie", "r1", m).split(":")[1]).not.toBe(tag.split(":")[1]);
  });
});

describe("the package list without one package", () => {
  const list = readFileSync(new URL("../host.packages", import.meta.url), "utf8");

  it("drops exactly that line of the real list and keeps the comments and every other package", () => {
    const reduced = withoutPackage(list, "libnet-ssleay-perl");
    expect(reduced.split("\n").length).toBe(list.split("\n").length - 1);
    expect(reduced).not.toMatch(/^libnet-ssleay-perl\s/m);
    expect(reduced).toMatch(/^swaks\s+tools/m);
    expect(reduced).toContain("# One package per line");
  });

  it("a package the list does not have is an error, not a silent no-op", () => {
    expect(() => withoutPackage(list, "no-such-package")).toThrow(/no line for no-such-package/);
  });
});

describe("what the doctor must say", () => {
  const ok = (name: string): DoctorCheck => ({ name, level: "ok", detail: "1.0" });
  const swaksFail: DoctorCheck = {
    name: "swaks STARTTLS",
    level: "FAIL",
    detail: "runs but does not work: TLS not available: requires Net::SSLeay",
    fix: "swaks has no STARTTLS …: apt-get install --no-install-recommends swaks libnet-ssleay-perl",
  };

  it("without libnet-ssleay-perl: swaks STARTTLS fails naming Net::SSLeay and the package, nothing else fails", () => {
    expect(judgeWithoutDropped([ok("node"), swaksFail, ok("dig")])).toBeNull();
    expect(judgeWithoutDropped([ok("node"), ok("swaks STARTTLS")])).toMatch(/did not fail 'swaks STARTTLS'/);
    expect(judgeWithoutDropped([{ ...swaksFail, level: "warn" }])).toMatch(/only 'warn'/);
    expect(judgeWithoutDropped([{ ...swaksFail, detail: "runs but does not work" }])).toMatch(/without naming/);
    expect(judgeWithoutDropped([{ ...swaksFail, fix: "apt-get install swaks" }])).toMatch(/does not name/);
    expect(judgeWithoutDropped([swaksFail, { name: "dig", level: "FAIL", detail: "dig not found" }])).toMatch(
      /other checks failed too: dig/,
    );
  });

  it("with the full list every check must be ok, warnings included", () => {
    expect(judgeComplete([ok("node"), ok("dig")])).toBeNull();
    expect(
      judgeComplete([ok("node"), { name: "chromium headless", level: "warn", detail: "chromium not found", fix: "x" }]),
    ).toBe("chromium headless warn: chromium not found (fix: x)");
  });

  it("output that is not the doctor's JSON is named, not a crash", () => {
    expect(() => parseDoctor("node: not found\n")).toThrow(/printed no JSON: node: not found/);
    expect(() => parseDoctor('{"ok":true,"checks":[]}')).toThrow(/no checks/);
    expect(parseDoctor('{"ok":true,"checks":[{"name":"node","level":"ok","detail":"v20"}]}')).toHaveLength(1);
  });

  it("the closing line names each release, and why one failed", () => {
    expect(
      closingLine([
        { release: "bookworm", failure: null },
        { release: "trixie", failure: null },
      ]),
    ).toBe("fresh-host: bookworm ok, trixie ok");
    expect(
      closingLine([
        { release: "bookworm", failure: null },
        { release: "trixie", failure: "the doctor failed" },
      ]),
    ).toBe("fresh-host: bookworm ok, trixie FAIL (the doctor failed)");
  });
});
