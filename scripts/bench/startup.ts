// The benchmark's startup section: `danelab up` cold (empty state) and warm to "ready"; PKI and zone building on their
// own; the same PKI and signed zones done the shell way (openssl CLI, ldns-signzone, NSD); and a warm start on the
// state a load left behind.
import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { buildLab } from "../../lab/up.js";
import { type Bench, LAB_DNS, LAB_SMTP, NSD, startLabProcess, stopProcess } from "./lab.js";
import { requireCommand, startNsd } from "./peers.js";
import { ldnsScript, opensslScript } from "./shell-way.js";
import { fig, figure, fmt, rssMb } from "./stats.js";

export async function benchStartup(b: Bench) {
  b.say("startup: danelab up, cold and warm");
  const cold: number[] = [];
  const warm: number[] = [];
  for (let i = 0; i < b.runs; i++) {
    const dir = join(b.work, `state-cold-${i}`);
    const c = await startLabProcess(dir);
    cold.push(c.ms);
    await stopProcess(c.child);
    const w = await startLabProcess(dir);
    warm.push(w.ms);
    await stopProcess(w.child);
  }
  b.say("startup: PKI and zones in-process, cold and warm");
  const pkiCold: number[] = [];
  const pkiWarm: number[] = [];
  const zonesCold: number[] = [];
  const zonesWarm: number[] = [];
  for (let i = 0; i < b.runs; i++) {
    const dir = join(b.work, `build-${i}`);
    const c = await buildLab({ stateDir: dir, dnsAddress: LAB_DNS, smtpFirstAddress: LAB_SMTP });
    pkiCold.push(c.timings["pki"]!);
    zonesCold.push(c.timings["zones"]!);
    const w = await buildLab({ stateDir: dir, dnsAddress: LAB_DNS, smtpFirstAddress: LAB_SMTP });
    pkiWarm.push(w.timings["pki"]!);
    zonesWarm.push(w.timings["zones"]!);
  }

  b.say("startup: the shell way (openssl CLI + ldns-signzone + NSD)");
  requireCommand("ldns-signzone", "ldnsutils");
  requireCommand("openssl", "openssl");
  const built = await buildLab({ stateDir: join(b.work, "build-0"), dnsAddress: NSD, smtpFirstAddress: LAB_SMTP });
  const shell: number[] = [];
  for (let i = 0; i < b.runs; i++) {
    const dir = join(b.work, `shell-${i}`);
    mkdirSync(join(dir, "unsigned"), { recursive: true });
    const zones = built.tree.zones.map((z) => {
      const unsignedFile = join(dir, "unsigned", `${z.origin === "" ? "root" : z.origin}.zone`);
      const unsigned = z
        .toZoneFile()
        .split("\n")
        .filter((l) => !/\s(RRSIG|NSEC|DNSKEY|DS)\s/.test(l))
        .join("\n");
      writeFileSync(unsignedFile, `${unsigned}\n`);
      return { origin: z.origin, unsignedFile, signed: z.signed };
    });
    writeFileSync(join(dir, "pki.sh"), opensslScript(built.plan.pki));
    writeFileSync(join(dir, "dnssec.sh"), ldnsScript(zones));
    const t = performance.now();
    execFileSync("bash", [join(dir, "pki.sh")], { cwd: dir, stdio: "ignore" });
    execFileSync("bash", [join(dir, "dnssec.sh")], { cwd: dir, stdio: "ignore" });
    const signedDir = join(dir, "signed");
    mkdirSync(signedDir);
    for (const f of readdirSync(join(dir, "unsigned"))) {
      const signedFile = join(dir, "unsigned", `${f}.signed`);
      if (f.endsWith(".zone")) {
        try {
          writeFileSync(join(signedDir, f), readFileSync(signedFile));
        } catch {
          writeFileSync(join(signedDir, f), readFileSync(join(dir, "unsigned", f))); // unsigned zones as they are
        }
      }
    }
    const nsd = await startNsd(signedDir, join(dir, "nsd"), NSD);
    shell.push(performance.now() - t);
    await nsd.close();
  }
  const f = {
    labCold: figure(cold),
    labWarm: figure(warm),
    shell: figure(shell),
    pkiCold: figure(pkiCold),
    pkiWarm: figure(pkiWarm),
    zonesCold: figure(zonesCold),
    zonesWarm: figure(zonesWarm),
  };
  b.results["startup"] = f;
  const ratio = f.shell.median / f.labCold.median;
  b.rows.push(
    ["startup", "danelab up, cold (empty state) → ready", fig(f.labCold, 0, " ms"), `goal < 5000 ms`],
    [
      "startup",
      "danelab up, warm → ready",
      fig(f.labWarm, 0, " ms"),
      `goal < 1000 ms: ${f.labWarm.median < 1000 ? "met" : "MISSED"}`,
    ],
    [
      "startup",
      "shell way: openssl + ldns-signzone + NSD",
      fig(f.shell, 0, " ms"),
      `lab cold is ${fmt(ratio, 1)}× faster (goal ≥ 5×: ${ratio >= 5 ? "met" : "MISSED"})`,
    ],
    [
      "startup",
      "PKI of the catalogue, cold / warm",
      `${fig(f.pkiCold, 0, " ms")} / ${fig(f.pkiWarm, 0, " ms")}`,
      `goals < 3000 / < 100 ms`,
    ],
    ["startup", "signed zones, cold / warm", `${fig(f.zonesCold, 0, " ms")} / ${fig(f.zonesWarm, 0, " ms")}`, ""],
  );
}

/**
 * The lab restarted on the state the SMTP load left behind (every delivery stored, ~16 events each in events.jsonl):
 * a history must cost neither start time nor idle memory, which the fresh-state figures cannot show.
 */
export async function benchStartAfterUse(b: Bench, stateDir: string) {
  const lines = readFileSync(join(stateDir, "events.jsonl"), "latin1").split("\n").length - 1;
  const mail = readdirSync(join(stateDir, "mail"), { recursive: true, withFileTypes: true }).filter(
    (d) => d.isFile() && /\/(new|cur)$/.test(d.parentPath),
  ).length;
  b.say(`startup: warm start on the state the SMTP load left (${lines} events, ${mail} messages)`);
  const ms: number[] = [];
  const idle: number[] = [];
  for (let i = 0; i < b.runs; i++) {
    const lab = await startLabProcess(stateDir);
    ms.push(lab.ms);
    await new Promise((r) => setTimeout(r, 2000));
    idle.push(await rssMb(lab.child.pid!));
    await stopProcess(lab.child);
  }
  const f = figure(ms);
  const m = figure(idle);
  b.results["afterUse"] = { events: lines, messages: mail, warmMs: f, idleMb: m };
  b.rows.push(
    [
      "startup",
      `warm, after the load (${lines.toLocaleString("en")} events, ${mail.toLocaleString("en")} messages)`,
      fig(f, 0, " ms"),
      `goal < 1 s: ${f.median < 1000 ? "met" : "MISSED"}`,
    ],
    ["memory", "lab idle after that start", fig(m, 1, " MB"), `goal < 150 MB: ${m.median < 150 ? "met" : "MISSED"}`],
  );
}
