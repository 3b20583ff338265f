// The matrix formatters and check's option handling: what a mail admin reads in a terminal, in CI (JUnit) and in a
// ticket (Markdown), built from a small matrix with the seed bug's cells.
import { describe, expect, it } from "vitest";
import { nameserverFor, resolveClients, runStamp } from "./check.js";
import { buildCommand } from "./container.js";
import type { LabManifest } from "./lab-api.js";
import { formatJunit, formatMarkdown, formatTable, type Matrix, matrixExitCode } from "./matrix.js";

const matrix: Matrix = {
  version: 1,
  generated: "2026-11-29T07:00:00.000Z",
  lab: { suffix: "lab.example.", url: "http://127.0.0.1:8025" },
  columns: [
    { id: "exim-try", client: "exim-try", mode: "resolver", runId: "20261129T070000-exim-try" },
    { id: "postfix", client: "postfix", mode: "resolver", runId: "20261129T070000-postfix" },
  ],
  rows: [
    {
      scenario: "seed-mx06-ku",
      title: "seed, keyEncipherment only",
      group: "seed",
      expect: "no-delivery",
      cells: {
        "exim-try": {
          grade: { scenario: "seed-mx06-ku", verdict: "pass", reason: "connected 4 times, never delivered" },
          outcome: {
            recipient: "run-x@seed-mx06-ku.lab.example",
            status: "deferred",
            attempts: 4,
            error: "TLS session: (gnutls_handshake): Key usage violation in certificate has been detected.",
            lines: [],
          },
        },
        postfix: {
          grade: { scenario: "seed-mx06-ku", verdict: "fail", reason: "delivered <although> a DANE client must not" },
          outcome: {
            recipient: "run-y@seed-mx06-ku.lab.example",
            status: "delivered",
            security: "dane",
            attempts: 1,
            lines: [],
          },
        },
      },
    },
  ],
};

describe("matrix formatters", () => {
  it("table: one line per scenario, the MTA's error and the lab's reason underneath, a summary", () => {
    const t = formatTable(matrix);
    expect(t).toMatch(/seed-mx06-ku\s+no-delivery\s+PASS: deferred ×4\s+FAIL: delivered \(DANE\)/);
    expect(t).toContain(
      "seed-mx06-ku × exim-try: lab: connected 4 times, never delivered MTA: TLS session: (gnutls_handshake)",
    );
    expect(t).toContain("seed-mx06-ku × postfix: lab: delivered <although>");
    expect(t).toContain("Summary: exim-try: 1 pass; postfix: 1 fail");
  });

  it("junit: a failure for the lab's fail, escaped XML", () => {
    const x = formatJunit(matrix);
    expect(x).toContain('<testsuite name="postfix" tests="1" failures="1" skipped="0">');
    expect(x).toContain('<failure message="delivered &lt;although&gt; a DANE client must not">');
    expect(x).toContain('<testsuite name="exim-try" tests="1" failures="0" skipped="0">');
  });

  it("markdown: a table with the run ids and the error in code", () => {
    const md = formatMarkdown(matrix);
    expect(md).toContain("| scenario | expect | exim-try | postfix |");
    expect(md).toContain("run `20261129T070000-postfix`");
    expect(md).toContain("`TLS session: (gnutls_handshake): Key usage violation in certificate has been detected.`");
  });

  it("exit code: 1 when the lab failed a cell, 2 when a column did not run", () => {
    expect(matrixExitCode(matrix)).toBe(1);
    expect(matrixExitCode({ ...matrix, columns: [{ ...matrix.columns[0]!, error: "image missing" }] })).toBe(2);
  });
});

describe("check options", () => {
  it("expands exim into both DANE modes, names releases, and rejects unknown clients with the list", () => {
    const names = (n: string[]) => resolveClients(n).map((c) => c.name);
    expect(names(["exim,postfix"])).toEqual(["exim-try", "exim-strict", "postfix"]);
    expect(names(["postfix", "exim-strict"])).toEqual(["postfix", "exim-strict"]);
    expect(names(["exim@trixie", "postfix@trixie", "exim-openssl"])).toEqual([
      "exim-try@trixie",
      "exim-strict@trixie",
      "postfix@trixie",
      "exim-openssl-try@bookworm",
      "exim-openssl-strict@bookworm",
    ]);
    expect(resolveClients(["exim@bookworm"]).map((c) => [c.name, c.image, c.driver])).toEqual([
      ["exim-try@bookworm", "exim-bookworm", "exim-try"],
      ["exim-strict@bookworm", "exim-bookworm", "exim-strict"],
    ]);
    expect(resolveClients(["exim-openssl-try@bookworm"])[0]?.image).toBe("exim-openssl-bookworm");
    for (const bad of ["sendmail", "exim@sid", "postfix@buster"])
      expect(() => resolveClients([bad])).toThrow(
        new RegExp(
          `unknown --client "${bad}": the built-in clients are exim \\(= its -try and -strict\\), ` +
            "exim-openssl\\[@bookworm\\].*postfix@trixie, posttls-finger@bookworm.*danetool@bookworm\\. To check your own MTA",
        ),
      );
  });

  it("a missing image names the command that builds it", () => {
    expect(buildCommand("exim")).toBe("scripts/images/build.sh exim");
    expect(buildCommand("postfix-trixie")).toBe("scripts/images/build.sh postfix@trixie");
    expect(buildCommand("exim-openssl-bookworm")).toBe("scripts/images/exim-openssl.sh");
  });

  it("run stamps sort and fit the lab's run-id alphabet", () => {
    expect(runStamp(new Date("2026-11-29T07:00:12.345Z"))).toBe("20261129T070012");
  });

  it("picks the nameserver per DNS mode, and explains a lab without unbound", () => {
    const m = {
      version: 1,
      suffix: "lab.example.",
      dns: { address: "127.0.53.1", port: 53, resolver: null },
      http: null,
      scenarios: [],
    } as LabManifest;
    expect(nameserverFor(m, "resolver")).toBe("127.0.53.1");
    expect(() => nameserverFor(m, "unbound")).toThrow(/danelab up --resolver unbound/);
    expect(() => nameserverFor({ ...m, dns: { ...m.dns, port: 5353 } }, "resolver")).toThrow(/port 53/);
  });
});
