// The pure parts of `danelab send` and its run bookkeeping: run ids the lab can read, --via, finding sendmail, the
// message itself (7-bit, subject naming scenario and run), DATA dot-stuffing, scenario selection and sent.json.
import { chmodSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { LabManifest } from "./lab-api.js";
import { checkRunId, RunInputError, readSent, recordSent, selectScenarios } from "./runs.js";
import { parseVia, quotedPrintable, resolveSendmail, SendmailMissingError, scenarioMessage } from "./send.js";
import { dataBlock } from "./smtp-submit.js";

const scenario = (id: string, group: string, title = `${id} title`) => ({
  id,
  title,
  group,
  expect: "deliver",
  domain: `${id}.lab.example.`,
});
const manifest = {
  version: 1,
  suffix: "lab.example.",
  dns: { address: "127.0.53.1", port: 53, resolver: null },
  http: { url: "http://127.0.0.1:8025" },
  scenarios: [
    scenario("ta-baseline", "dane-ta-names"),
    scenario("seed-mx06", "seed"),
    scenario("seed-mx06-ku", "seed"),
  ],
} as LabManifest;

describe("run ids", () => {
  it("accepts what the lab reads from run-<id>@ recipients", () => {
    for (const id of ["1", "2026-12-07a", "a.b_c-D"]) expect(checkRunId(id)).toBe(id);
  });

  it("refuses ids the lab cannot read or MTAs refuse, each with the reason", () => {
    expect(() => checkRunId("a b")).toThrow(/characters the lab does not read in a run id \(" "\)/);
    expect(() => checkRunId("x+y")).toThrow(RunInputError);
    expect(() => checkRunId(undefined)).toThrow(/--run is required/);
    // RFC 5321 §4.5.3.1.1: 64 octets of local part, "run-" included.
    expect(checkRunId("a".repeat(60))).toHaveLength(60);
    expect(() => checkRunId("a".repeat(61))).toThrow(/at most 60/);
    // RFC 5322 §3.2.3: a dot-atom.
    expect(() => checkRunId("a..b")).toThrow(/two dots/);
    expect(() => checkRunId("a.")).toThrow(/ends with a dot/);
  });
});

describe("--via", () => {
  it("reads sendmail and smtp://HOST[:PORT]", () => {
    expect(parseVia("sendmail")).toEqual({ kind: "sendmail" });
    expect(parseVia("smtp://127.0.0.1:2525")).toEqual({ kind: "smtp", target: { host: "127.0.0.1", port: 2525 } });
    expect(parseVia("smtp://localhost")).toEqual({ kind: "smtp", target: { host: "localhost", port: 25 } });
    expect(parseVia("smtp://[::1]:25")).toEqual({ kind: "smtp", target: { host: "::1", port: 25 } });
  });

  it("refuses anything else with the two forms it takes", () => {
    expect(() => parseVia("smtp://")).toThrow(/neither "sendmail" nor smtp:\/\/HOST:PORT/);
    expect(() => parseVia("smtps://127.0.0.1:465")).toThrow(RunInputError);
    expect(() => parseVia("smtp://127.0.0.1:70000")).toThrow(/not 1-65535/);
    expect(() => parseVia(undefined)).toThrow(/--via is required/);
  });
});

describe("finding sendmail", () => {
  it("takes an executable on PATH, a path, or a whole command run by sh", () => {
    const dir = mkdtempSync(join(tmpdir(), "danelab-sendmail-"));
    const bin = join(dir, "sendmail");
    writeFileSync(bin, "#!/bin/sh\nexit 0\n");
    chmodSync(bin, 0o755);
    expect(resolveSendmail("sendmail", dir)).toEqual({ argv: [bin], label: bin });
    expect(resolveSendmail(bin, "")).toEqual({ argv: [bin], label: bin });
    expect(resolveSendmail("docker exec -i exim /usr/sbin/sendmail")).toEqual({
      argv: ["sh", "-c", 'docker exec -i exim /usr/sbin/sendmail "$@"', "sh"],
      label: "docker exec -i exim /usr/sbin/sendmail",
    });
  });

  it("names the packages that provide it when it is missing", () => {
    const empty = mkdtempSync(join(tmpdir(), "danelab-nosendmail-"));
    expect(() => resolveSendmail(join(empty, "sendmail"), empty)).toThrow(SendmailMissingError);
    expect(() => resolveSendmail("no-such-sendmail", empty)).toThrow(
      /is not on PATH\. Exim and Postfix both provide \/usr\/sbin\/sendmail \(Debian: `apt-get install exim4-daemon-light`, or `postfix`\)/,
    );
  });
});

describe("the message", () => {
  it("names scenario and run in the subject and stays 7-bit", () => {
    const text = scenarioMessage({
      runId: "42",
      scenario: scenario("seed-mx06", "seed", "leaf CN ≠ MX host"),
      from: "root@example.org",
      date: new Date("2026-12-07T01:02:03Z"),
    });
    expect(text).toContain("Subject: danelab run 42: seed-mx06 (expect deliver)\n");
    expect(text).toContain("To: <run-42@seed-mx06.lab.example>\n");
    expect(text).toContain("Date: Mon, 07 Dec 2026 01:02:03 +0000\n");
    expect(text).toContain("leaf CN =E2=89=A0 MX host");
    expect([...text].every((c) => c === "\n" || (c >= " " && c <= "~"))).toBe(true);
  });

  it("quoted-printable keeps lines within 76 characters and escapes '=' and trailing space", () => {
    const qp = quotedPrintable(`${"=".repeat(40)} ends with space \n`);
    for (const line of qp.split("\n")) expect(line.length).toBeLessThanOrEqual(76);
    expect(qp).toContain("=20");
    expect(
      Buffer.from(
        qp.replace(/=\n/g, "").replace(/=([0-9A-F]{2})/g, (_, h) => String.fromCharCode(Number.parseInt(h, 16))),
        "latin1",
      ).toString(),
    ).toBe(`${"=".repeat(40)} ends with space \n`);
  });

  it("dot-stuffs and ends DATA as RFC 5321 §4.5.2 says", () => {
    expect(dataBlock("a\n.b\n..\nc\n")).toBe("a\r\n..b\r\n...\r\nc\r\n.\r\n");
  });
});

describe("selection and the sent record", () => {
  it("--only and --group as the lab reads them, unknown names listed with what exists", () => {
    expect(selectScenarios(manifest, { group: ["seed"] }).map((s) => s.id)).toEqual(["seed-mx06", "seed-mx06-ku"]);
    expect(selectScenarios(manifest, { only: ["seed-mx06", "ta-baseline"], group: ["seed"] }).map((s) => s.id)).toEqual(
      ["seed-mx06"],
    );
    expect(() => selectScenarios(manifest, { only: ["nope"] })).toThrow(
      /This lab has no scenario "nope"\. Its scenarios are: ta-baseline, seed-mx06, seed-mx06-ku/,
    );
    expect(() => selectScenarios(manifest, { group: ["x"] })).toThrow(/Its groups are: dane-ta-names, seed/);
  });

  it("sent.json gathers what each send of a run handed over, 0600 in a 0700 directory", () => {
    const state = join(mkdtempSync(join(tmpdir(), "danelab-runs-")), "state");
    const line = (id: string, accepted: boolean) => ({ id, recipient: `run-7@${id}`, accepted, detail: "", time: "" });
    const common = { run: "7", labUrl: "http://127.0.0.1:8025", via: "sendmail", mta: null };
    const path = recordSent(state, { ...common, scenarios: [line("a", true), line("b", false)] });
    recordSent(state, { ...common, scenarios: [line("b", true), line("c", true)] });
    expect(readSent(state, "7")?.scenarios.map((s) => [s.id, s.accepted])).toEqual([
      ["a", true],
      ["b", true],
      ["c", true],
    ]);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(join(state, "runs")).mode & 0o777).toBe(0o700);
    expect(readSent(state, "8")).toBeNull();
    writeFileSync(path, "{");
    expect(() => readSent(state, "7")).toThrow(/not readable JSON/);
    expect(readFileSync(path, "utf8")).toBe("{");
  });
});
