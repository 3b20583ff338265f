// The training board in a real browser (Debian's chromium driven by playwright-core) against a real lab: the catalogue
// lists the scenarios, seed-mx06's page shows the MX host among the leaf's SANs and highlights the intermediate the TLSA
// record matches, and a swaks delivery to ta-baseline shows up on the Live page within 2 seconds without a reload.
// Screenshots of every page land in test-artifacts/ui/ (git-ignored).
// Loopback addresses of this file: DNS 127.0.16.1, HTTP 127.0.16.2, SMTP from 127.0.16.10 (all on high ports).
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formatMatrix, type Matrix } from "../clients/matrix.js";
import { checkResults } from "../lab/check-results.js";
import { startHttpApi } from "../lab/http/api.js";
import { type Lab, startLab } from "../lab/index.js";
import { scenarioDetails } from "../lab/ui-data.js";
import { withoutTrailingDot } from "../zones/names.js";

const run = promisify(execFile);
const CHROMIUM = "/usr/bin/chromium";
const ARTIFACTS = resolve("test-artifacts/ui");
const SCENARIOS = ["seed-mx06", "ta-baseline"];

let lab: Lab;
let stateDir: string;
let uiDir: string;
let http: { url: string; close(): Promise<void> };
let browser: Browser;
let page: Page;
/** Every URL the browser asked for, to prove the board needs nothing but the lab (no CDN, no internet). */
const requests: string[] = [];

beforeAll(async () => {
  stateDir = mkdtempSync(join(tmpdir(), "danelab-ui-"));
  mkdirSync(ARTIFACTS, { recursive: true });
  // Build the UI the way `npm run build` does, into the test's own directory.
  uiDir = join(stateDir, "ui");
  const { build } = await import("vite");
  await build({
    configFile: resolve("lab/ui/vite.config.ts"),
    logLevel: "error",
    build: { outDir: uiDir, emptyOutDir: true },
  });

  lab = await startLab({
    stateDir: join(stateDir, "lab"),
    dnsAddress: "127.0.16.1",
    dnsPort: 10053,
    smtpFirstAddress: "127.0.16.10",
    smtpPort: 10025,
    httpPort: null,
    only: SCENARIOS,
  });
  // The lab's own HTTP API module, serving the built UI and the scenario page's data.
  const current = lab;
  http = await startHttpApi({
    address: "127.0.16.2",
    port: 0,
    manifest: () => current.manifest,
    events: current.events,
    store: current.store,
    allowList: current.allowList,
    grade: (r) => current.report(r),
    staticDir: uiDir,
    scenarioDetail: scenarioDetails(current),
    checks: checkResults(join(stateDir, "lab")),
  });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  page.on("request", (r) => requests.push(r.url()));
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await http?.close();
  await lab?.stop();
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
});

const shot = (name: string) => page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });

describe.skipIf(!existsSync(CHROMIUM))("training board in chromium", () => {
  it("lists the catalogue by group, with the expected verdicts, and filters it", async () => {
    await page.goto(`${http.url}/`);
    const cards = page.locator(".card");
    await cards.first().waitFor();
    expect(await cards.count()).toBe(2);
    const seed = page.locator(".card", { hasText: "seed-mx06" });
    await expect(seed.locator(".badge").first().textContent()).resolves.toBe("deliver-after-retry");
    await page.keyboard.press("/");
    await page.keyboard.type("greylisting");
    await expect.poll(() => cards.count()).toBe(1);
    await shot("catalogue");
    await page.fill("#filter", "");
  });

  it("shows seed-mx06's MX host among the SANs and highlights the intermediate the TLSA RRset matches", async () => {
    await page.locator(".card a", { hasText: "seed-mx06" }).click();
    await page.locator(".cert").first().waitFor();
    const suffix = withoutTrailingDot(lab.manifest.suffix);
    const mxHost = `mx06.seed-mx06.${suffix}`;

    // The leaf: nine SANs, the MX host the last one, and it is the highlighted match.
    const leaf = page.locator(".cert").nth(0);
    const sans = await leaf.locator(".san").allTextContents();
    expect(sans).toHaveLength(9);
    expect(sans.at(-1)).toBe(mxHost);
    await expect(leaf.locator(".san.match").allTextContents()).resolves.toEqual([mxHost]);
    expect(await leaf.locator(".cert-head").textContent()).toContain("server certificate");

    // The intermediate R3 carries the highlighted TLSA match: record #8 of nine, "2 1 1".
    const matched = page.locator(".cert.tlsa-match");
    expect(await matched.count()).toBe(1);
    expect(await matched.locator("dd").first().textContent()).toContain("CN=R3");
    expect(await matched.locator(".cert-head").textContent()).toContain("TLSA match #8 (2 1 1)");
    const tlsaRows = page.locator(".tlsa-rr");
    expect(await tlsaRows.count()).toBe(9);
    expect(await page.locator(".tlsa-rr.tlsa-match").getAttribute("id")).toBe("tlsa-8");

    // The inspect commands carry the lab's real values, with copy buttons.
    const openssl = page.locator(".cmd", { hasText: "openssl s_client" });
    expect(await openssl.locator("code").textContent()).toContain(`-dane_tlsa_rrdata "2 1 1 `);
    expect(await page.locator(".cmd button.copy").count()).toBeGreaterThanOrEqual(5);
    await shot("scenario-seed-mx06");
  });

  it("pushes a swaks delivery to ta-baseline into the live view within 2 seconds, without a reload", async () => {
    await page.goto(`${http.url}/#/live`);
    await page.locator("#conn.ok").waitFor({ timeout: 10_000 }); // the event stream is open
    const navigations: string[] = [];
    page.on("framenavigated", (f) => navigations.push(f.url()));

    const mx = lab.manifest.scenarios.find((s) => s.id === "ta-baseline")!.mx[0]!;
    const suffix = withoutTrailingDot(lab.manifest.suffix);
    await run(
      "swaks",
      [
        "--to",
        `run-ui@ta-baseline.${suffix}`,
        "--from",
        "trainer@example.org",
        "--server",
        mx.addresses[0]!,
        "--port",
        String(mx.port),
        "-tls",
        "--timeout",
        "10",
        "--hide-all",
      ],
      { timeout: 30_000 },
    );
    const delivered = Date.now();
    const step = page.locator('.timeline[data-scenario="ta-baseline"] .step[data-kind="message"]');
    await step.waitFor({ timeout: 2_000 });
    const elapsed = Date.now() - delivered;
    console.log(`live view: delivery visible ${elapsed} ms after swaks exited`);
    expect(elapsed).toBeLessThan(2_000);
    expect(await step.textContent()).toContain("delivered over TLS");
    const timeline = page.locator('.timeline[data-scenario="ta-baseline"]').first();
    expect(await timeline.locator('.step[data-kind="tls"]').textContent()).toMatch(/TLS handshake: TLSv1\.[23]/);
    expect(navigations).toEqual([]); // no reload
    // The grader's verdict follows.
    await expect
      .poll(() => page.locator('.report tr[data-scenario="ta-baseline"] .badge').textContent(), { timeout: 5_000 })
      .toBe("pass");
    await shot("live");
  });

  it("lists the run's report and the received message with its trace fields", async () => {
    await page.goto(`${http.url}/#/runs/ui`);
    await page.locator(".report").waitFor();
    expect(await page.locator('.report tr[data-scenario="ta-baseline"] .badge').textContent()).toBe("pass");
    await shot("runs");

    await page.goto(`${http.url}/#/messages`);
    // A hash change re-renders in place: wait for the messages page itself, not for a table the runs page also has.
    await page.locator("main h1", { hasText: "Messages (1)" }).waitFor();
    expect(await page.locator("main h1").textContent()).toBe("Messages (1)");
    await page.locator("main table a").first().waitFor();
    await shot("messages");
    await page.locator("main table a").first().click();
    await page.locator("pre.trace").waitFor();
    expect(await page.locator("pre.trace").textContent()).toMatch(/Received: .*ESMTPS/s);
    await shot("message-raw");
  });

  it("shows the scenario × client matrix of a danelab check written to the state directory", async () => {
    // What clients/check.ts leaves in <state>/checks/<stamp>/ (written with its own formatter): the seed's two MTAs.
    const cell = (verdict: string, status: string, security: string | undefined, attempts: number) => ({
      grade: { scenario: "seed-mx06", verdict, reason: `${verdict} (test)` },
      outcome: {
        recipient: "run-c1-exim-try@seed-mx06.lab.example",
        status,
        ...(security ? { security } : {}),
        attempts,
        lines: [],
      },
    });
    const matrix = {
      version: 1,
      generated: new Date().toISOString(),
      lab: { suffix: lab.manifest.suffix, url: http.url },
      columns: [
        { id: "exim-try", client: "exim-try", mode: "resolver", runId: "c1-exim-try" },
        { id: "postfix", client: "postfix", mode: "resolver", runId: "c1-postfix" },
      ],
      rows: [
        {
          scenario: "seed-mx06",
          title: "seed",
          group: "seed",
          expect: "deliver-after-retry",
          cells: { "exim-try": cell("pass", "delivered", "dane", 3), postfix: cell("pass", "delivered", "dane", 3) },
        },
      ],
    } as unknown as Matrix;
    const dir = join(stateDir, "lab", "checks", "20260101-000000");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "matrix.json"), formatMatrix(matrix, "json"));

    await page.goto(`${http.url}/#/runs`);
    const row = page.locator('.matrix-table tr[data-scenario="seed-mx06"]');
    await row.waitFor();
    expect(await page.locator(".matrix-table th").allTextContents()).toEqual([
      "Scenario",
      "Expect",
      "exim-try",
      "postfix",
    ]);
    expect(await row.locator('td[data-column="exim-try"]').textContent()).toBe("passdelivered (dane), 3 attempts");
    await shot("runs-matrix");
  });

  it("loaded every script, stylesheet and API answer from the lab itself", () => {
    expect(requests.length).toBeGreaterThan(10);
    expect(requests.filter((u) => !u.startsWith(`${http.url}/`) && !u.startsWith("data:"))).toEqual([]);
    expect(requests.some((u) => /\/assets\/index-[\w-]+\.js$/.test(u))).toBe(true);
  });

  it("is usable from the keyboard alone: filter, open a scenario, large text, dark theme", async () => {
    await page.goto(`${http.url}/`);
    await page.locator(".card").first().waitFor();
    await page.keyboard.press("/");
    await page.keyboard.type("seed-mx06");
    await page.keyboard.press("Tab"); // the verdict filter
    await page.keyboard.press("Tab"); // the first (only) card's link
    expect(await page.evaluate("document.activeElement.textContent")).toBe("seed-mx06");
    await page.keyboard.press("Enter");
    await page.locator(".cert").first().waitFor();
    await expect.poll(() => page.evaluate("document.activeElement.id")).toBe("main"); // focus moves to the new page
    const size = async () =>
      Number(await page.evaluate("parseFloat(getComputedStyle(document.documentElement).fontSize)"));
    const before = await size();
    await page.keyboard.press("+");
    expect(await size()).toBeCloseTo(before * 1.5, 0);
    await page.keyboard.press("t");
    await page.keyboard.press("t");
    expect(await page.evaluate("document.documentElement.dataset.theme")).toBe("dark");
    // The dark theme really changes the colours (not only the attribute).
    expect(await page.evaluate("getComputedStyle(document.body).backgroundColor")).toBe("rgb(21, 23, 26)");
    await shot("scenario-seed-mx06-large-dark");
  });
});

describe("the API behind the board", () => {
  it("GET /api/scenarios/<id> answers the manifest entry plus the scenario page's data", async () => {
    const res = await fetch(`${http.url}/api/scenarios/seed-mx06`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown> & { hosts: { chains: unknown[] }[]; tlsa: string[] };
    expect(body["recipient"]).toBe("probe@seed-mx06.lab.example"); // from the manifest
    expect(body.tlsa).toHaveLength(9);
    expect(body.hosts[0]!.chains).toHaveLength(1); // from lab/ui-data.ts
    expect((await fetch(`${http.url}/api/scenarios/nope`)).status).toBe(404);
  });

  it("GET /api/checks lists check results and refuses names outside the checks directory", async () => {
    expect(Array.isArray(await (await fetch(`${http.url}/api/checks`)).json())).toBe(true);
    for (const bad of ["..", "%2e%2e", "..%2fmanifest.json", "x%2f..%2f..%2fmanifest.json"]) {
      const res = await fetch(`${http.url}/api/checks/${bad}`);
      expect([400, 404], bad).toContain(res.status);
    }
  });
});

describe("the scenario page's inspect commands, run as printed", () => {
  it("dig, delv and openssl confirm what the ta-baseline page says", async () => {
    const detail = scenarioDetails(lab)("ta-baseline")!;
    const cmd = (word: string) =>
      detail.hosts[0]!.commands.find((c) => c.command.startsWith(word) || c.command.includes(`| ${word}`))!.command;
    const sh = async (command: string) => {
      const { stdout, stderr } = await run("bash", ["-c", command], { timeout: 30_000 });
      return stdout + stderr;
    };
    expect(await sh(cmd("dig"))).toMatch(/flags: qr rd ra ad;/);
    expect(await sh(cmd("delv"))).toContain("; fully validated");
    const openssl = await sh(cmd("openssl"));
    expect(openssl).toContain("Verification: OK");
    expect(openssl).toMatch(/DANE TLSA 2 1 1 .* matched TA certificate at depth 1/);
  });
});
