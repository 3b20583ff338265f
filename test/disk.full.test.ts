// A full disk, for real: the lab's state directory on a 4 MiB tmpfs (root mounts it), filled while swaks delivers and
// dig queries. The lab stays up; no 250 is given for a message that is not on disk (the others get 452 4.3.1); every
// 250'd message is intact afterwards; DNS keeps answering; the user reads one paragraph about the full disk; and after
// space is freed delivery resumes and the events that waited in memory reach events.jsonl.
// Loopback addresses of this file: 127.0.86.20 (DNS, HTTP) and SMTP 127.0.86.120.
import { type ChildProcess, execFile, execFileSync, spawn } from "node:child_process";
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const BIN = resolve("bin/danelab.js");
const run = promisify(execFile);
const root = process.getuid?.() === 0;
const base = mkdtempSync(join(tmpdir(), "danelab-disk-"));
const state = join(base, "state");
const SMTP_FIRST = "127.0.86.120";
let smtp = ""; // ta-baseline's MX address, from the manifest (addresses count over the whole catalogue)
const DNS = "127.0.86.20";
let lab: ChildProcess;
let stderr = "";

async function waitFor(pattern: RegExp, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!pattern.test(stderr)) {
    if (Date.now() > deadline) throw new Error(`no ${pattern} within ${ms} ms; lab output:\n${stderr}`);
    if (lab.exitCode !== null) throw new Error(`the lab exited (${lab.exitCode}); output:\n${stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** One delivery; the id from "queued as <id>" when the lab said 250, else the reply code it gave to DATA. */
async function deliver(n: number, bodyFile: string): Promise<{ n: number; id: string | null; out: string }> {
  let out: string;
  try {
    const r = await run(
      "swaks",
      [
        ...["--server", smtp, "--port", "25", "--timeout", "10", "--helo", "client.example"],
        ...["--from", "probe@client.example", "--to", `run-disk@ta-baseline.lab.example`],
        ...["--header", `Subject: disk ${n}`, "--body", `@${bodyFile}`, "--suppress-data"],
      ],
      { timeout: 30_000 },
    );
    out = r.stdout + r.stderr;
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    out = `${e.stdout ?? ""}${e.stderr ?? ""}`;
  }
  const id = /<[-~] {1,2}250 2\.0\.0 Ok: queued as (\S+)/.exec(out)?.[1] ?? null;
  return { n, id, out };
}

async function dig(): Promise<string> {
  const { stdout } = await run("dig", [
    `@${DNS}`,
    "+norec",
    "+time=2",
    "+tries=1",
    "_25._tcp.mx.ta-baseline.lab.example",
    "TLSA",
  ]);
  return stdout;
}

beforeAll(async () => {
  if (!root) return;
  execFileSync("mkdir", ["-p", state]);
  execFileSync("mount", ["-t", "tmpfs", "-o", "size=4m,mode=0700", "tmpfs", state]);
  lab = spawn(process.execPath, [
    BIN,
    ...["up", "--only", "ta-baseline", "--state-dir", state, "--dns-address", DNS, "--smtp-address", SMTP_FIRST],
    ...["--http-address", DNS, "--http-port", "0"],
  ]);
  lab.stdout?.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  lab.stderr?.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  await waitFor(/danelab ready/, 90_000);
  const manifest = JSON.parse(readFileSync(join(state, "manifest.json"), "utf8")) as {
    scenarios: { id: string; mx: { addresses: string[] }[] }[];
  };
  smtp = manifest.scenarios.find((s) => s.id === "ta-baseline")!.mx[0]!.addresses[0]!;
}, 120_000);

afterAll(async () => {
  if (!root) return;
  lab?.kill("SIGTERM");
  await new Promise((r) => setTimeout(r, 300));
  try {
    execFileSync("umount", [state]);
  } catch {
    execFileSync("umount", ["-l", state]);
  }
  rmSync(base, { recursive: true, force: true });
});

describe.skipIf(!root)("a full disk under the state directory", () => {
  it("refuses with 452 instead of 250, keeps every 250'd message intact, keeps DNS up, and recovers", async () => {
    const marker = (n: number) => `danelab-disk-test message ${n} `.repeat(2000); // ~62 KB per message
    const bodies = Array.from({ length: 40 }, (_, n) => {
      const f = join(base, `body-${n}.txt`);
      writeFileSync(f, `${marker(n)}\r\n`);
      return f;
    });
    const first = await deliver(0, bodies[0]!);
    expect(first.id, first.out).not.toBeNull();

    // Fill the file system while deliveries and DNS queries run.
    const filler = join(state, "filler");
    const fill = (async () => {
      await new Promise((r) => setTimeout(r, 100));
      const fd = openSync(filler, "w");
      const chunk = Buffer.alloc(64 * 1024, 0x78);
      try {
        for (;;) {
          writeSync(fd, chunk);
          await new Promise((r) => setTimeout(r, 25)); // ~2.5 MB/s: deliveries finish before, during and after
        }
      } catch (err) {
        expect((err as NodeJS.ErrnoException).code).toBe("ENOSPC");
      } finally {
        closeSync(fd);
      }
    })();
    const results: Awaited<ReturnType<typeof deliver>>[] = [];
    const digs: string[] = [];
    const sender = async (from: number) => {
      for (let n = from; n < 40; n += 4) results.push(await deliver(n, bodies[n]!));
    };
    const digger = async () => {
      for (let i = 0; i < 20; i++) {
        digs.push(await dig());
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    await Promise.all([fill, sender(1), sender(2), sender(3), sender(4), digger()]);
    // And with the disk surely full now:
    for (let n = 41; n < 44; n++) results.push(await deliver(n, bodies[n % 40]!));

    expect(lab.exitCode).toBeNull();
    const acknowledged = [first, ...results].filter((r) => r.id !== null);
    const refused = results.filter((r) => r.id === null);
    console.log(
      `disk full: ${acknowledged.length} messages acknowledged (250), ${refused.length} refused, ${digs.length} dig answers`,
    );
    expect(refused.length).toBeGreaterThanOrEqual(3);
    expect(acknowledged.length).toBeGreaterThanOrEqual(2);
    for (const r of refused) {
      expect(r.out, r.out).toMatch(/<\*\* 452 4\.3\.1 Insufficient system storage: the lab's disk is full/);
      expect(r.out).not.toMatch(/250 2\.0\.0 Ok: queued/);
    }
    for (const r of acknowledged) {
      const file = join(state, "mail", "ta-baseline", "new", r.id!);
      expect(existsSync(file), `250'd message ${r.n} (${r.id}) is on disk`).toBe(true);
      expect(readFileSync(file, "latin1")).toContain(`${marker(r.n)}\r\n`);
    }
    for (const d of digs) expect(d).toMatch(/status: NOERROR/);
    expect(await dig()).toMatch(/IN\s+TLSA\s+2 1 1 /);
    // One paragraph per part that could not write, not one per message.
    expect(stderr.match(/is full \(ENOSPC\): the mail store cannot be written/g)?.length).toBe(1);
    expect(stderr).toMatch(/Free space there .*--state-dir/);
    expect(stderr).not.toMatch(/internal error|\n\s+at /);

    // Free the space: delivery resumes, and the events that waited in memory are written.
    rmSync(filler);
    const after = await deliver(99, bodies[0]!);
    expect(after.id, after.out).not.toBeNull();
    await waitFor(/the mail store can be written again/, 5000);
    const logged = readFileSync(join(state, "events.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { kind: string; id?: string; seq: number });
    const messageIds = new Set(logged.filter((e) => e.kind === "message").map((e) => e.id));
    for (const r of [...acknowledged, after]) expect(messageIds.has(r.id!), `message event for ${r.id}`).toBe(true);
    const seqs = logged.map((e) => e.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(new Set(seqs).size).toBe(seqs.length);
  }, 180_000);
});
