// scripts/setup-host.sh on this machine: a second run is idempotent and quick, leaves the Docker engine's configuration as
// it was, and the client images are tagged by the hash of their definition. Without root it stops
// with a message saying what to run. (The first, slow run happens in `npm test` before vitest starts.)
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

const root = process.getuid?.() === 0;
const docker = spawnSync("docker", ["info"], { encoding: "utf8" }).status === 0;

/** The engine's configuration file, or null when there is none. */
const daemonJson = () => {
  try {
    return readFileSync("/etc/docker/daemon.json", "utf8");
  } catch {
    return null;
  }
};

describe.skipIf(!root || !docker)("scripts/setup-host.sh", () => {
  it("a second run only checks: exit 0 within seconds, engine configured, images tagged by their definition", () => {
    const daemonBefore = daemonJson();
    const t0 = performance.now();
    const r = spawnSync("bash", ["scripts/setup-host.sh"], { encoding: "utf8", timeout: 120_000 });
    const seconds = (performance.now() - t0) / 1000;
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/packages: all \d+ installed/);
    expect(r.stderr).toMatch(/docker engine: running/);
    expect(seconds).toBeLessThan(30);
    // The set-up leaves an engine's configuration as it found it (it writes daemon.json only when it installs the
    // engine itself, on a host that had none).
    expect(daemonJson()).toBe(daemonBefore);
    for (const name of ["exim", "postfix", "probe"]) {
      const tag = spawnSync("bash", ["scripts/images/build.sh", "--tag", name], { encoding: "utf8" }).stdout.trim();
      expect(tag).toMatch(new RegExp(`^localhost/danelab-${name}:[0-9a-f]{12}$`));
      expect(r.stderr).toContain(`image ${tag} present`);
      const ids = ["", ":latest"].map(
        (suffix) =>
          spawnSync(
            "docker",
            ["image", "inspect", "-f", "{{.Id}}", suffix ? `localhost/danelab-${name}${suffix}` : tag],
            {
              encoding: "utf8",
            },
          ).stdout,
      );
      expect(ids[0]).toBe(ids[1]);
    }
  });

  it("the images carry Debian's own MTAs", () => {
    const exim = spawnSync(
      "docker",
      ["run", "--rm", "--network", "host", "localhost/danelab-exim:latest", "exim", "-bV"],
      {
        encoding: "utf8",
      },
    );
    expect(exim.stdout).toMatch(/Exim version 4\.96/);
    expect(exim.stdout).toMatch(/GnuTLS/);
    const postfix = spawnSync(
      "docker",
      ["run", "--rm", "--network", "host", "localhost/danelab-postfix:latest", "postconf", "-d", "mail_version"],
      { encoding: "utf8" },
    );
    expect(postfix.stdout.trim()).toMatch(/^mail_version = 3\.7\.\d+$/);
  });

  it("without root it says so and what to run, and changes nothing", () => {
    const r = spawnSync("runuser", ["-u", "nobody", "--", "bash", "scripts/setup-host.sh"], { encoding: "utf8" });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/must run as root .* Run: sudo bash/);
  });
});
