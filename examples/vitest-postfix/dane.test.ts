// Example: test YOUR Postfix configuration (main.cf next to this file) against danelab in CI, with vitest and
// testcontainers. The lab container serves three scenarios; a Postfix container with your main.cf sends one message
// to each; the lab's grader says whether Postfix did the right thing. Copy this folder and adapt main.cf and IMAGE.
//
// Needs: Docker with host networking, the lab image (`npm run image` in a danelab checkout), a Postfix image (here the
// lab's own Debian one, localhost/danelab-postfix; use yours), and `npm i -D danelab testcontainers vitest`.
// Run: npx vitest run
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { DanelabContainer, type StartedDanelabContainer } from "danelab/testcontainers";
import { GenericContainer, type StartedTestContainer, Wait } from "testcontainers";
import { afterAll, beforeAll, expect, it } from "vitest";

const IMAGE = process.env.POSTFIX_IMAGE ?? "localhost/danelab-postfix:latest";
const MAIN_CF = fileURLToPath(new URL("./main.cf", import.meta.url));
const SCENARIOS = ["ta-baseline", "ee-mismatch", "tlsa-insecure"];
const RUN = "ci1";
// The lab's addresses: the defaults are fine for a CI job; the danelab suite sets its own loopback block.
const env = process.env;

// The MTA shares the host's network: it must not listen on port 25 itself (the lab's MX hosts do), so the start
// removes the smtpd service; chroot off, so the smtp client reads the bind-mounted /etc/resolv.conf.
const START = `postconf -MX smtp/inet; postconf -F '*/*/chroot = n'
install -d -o postfix -g root -m 700 /var/spool/postfix/hold /var/spool/postfix/trace
exec postfix start-fg`;

let lab: StartedDanelabContainer;
let postfix: StartedTestContainer;

beforeAll(async () => {
  lab = await new DanelabContainer()
    .withOnly(SCENARIOS)
    .withDnsAddress(env.LAB_DNS_ADDRESS ?? "127.0.53.1")
    .withSmtpAddress(env.LAB_SMTP_ADDRESS ?? "127.0.25.1")
    .withHttpAddress(env.LAB_HTTP_ADDRESS ?? "127.0.0.1")
    .start();
  postfix = await new GenericContainer(IMAGE)
    .withNetworkMode("host")
    .withBindMounts([
      { source: MAIN_CF, target: "/etc/postfix/main.cf", mode: "ro" },
      { source: lab.getResolvConfPath(), target: "/etc/resolv.conf", mode: "ro" },
    ])
    .withCommand(["sh", "-c", START])
    .withWaitStrategy(Wait.forSuccessfulCommand("postfix status"))
    .start();
}, 180_000);

afterAll(async () => {
  await postfix?.stop();
  await lab?.stop();
});

it("delivers with DANE where it must, and not where the TLSA record does not match", async () => {
  const recipients = SCENARIOS.map((id) => lab.getRecipient(id, RUN));
  const sent = await postfix.exec([
    "sh",
    "-c",
    `printf 'Subject: danelab CI\\n\\nhello\\n' | sendmail -f ci@example.invalid "$@"`,
    "sh",
    ...recipients,
  ]);
  expect(sent.exitCode, sent.output).toBe(0);

  // Poll the grader until every scenario has a verdict; `postqueue -f` retries what Postfix deferred.
  let report = await lab.report(RUN);
  for (let i = 0; i < 60 && report.grades.some((g) => g.verdict !== "pass" && g.verdict !== "fail"); i++) {
    await new Promise((r) => setTimeout(r, 1_000));
    if (i % 10 === 9) await postfix.exec(["postqueue", "-f"]);
    report = await lab.report(RUN);
  }
  const grade = (id: string) => report.grades.find((g) => g.scenario === id);
  const log = (await postfix.exec(["cat", "/var/log/postfix.log"])).stdout;

  // ta-baseline: 2 1 1 of the intermediate, everything by the book — Postfix must deliver, over DANE-verified TLS.
  expect(grade("ta-baseline")?.verdict, grade("ta-baseline")?.reason).toBe("pass");
  expect(grade("ta-baseline")?.evidence.delivered.tls).toBeGreaterThan(0);
  expect(log).toMatch(/Verified TLS connection established to mx\.ta-baseline\.lab\.example/);
  // ee-mismatch: 3 1 1 with a wrong digest — RFC 7672 §2.2: no delivery at all.
  expect(grade("ee-mismatch")?.verdict, grade("ee-mismatch")?.reason).toBe("pass");
  expect(grade("ee-mismatch")?.evidence.delivered).toEqual({ tls: 0, cleartext: 0 });
  // tlsa-insecure: no DNSSEC for the MX host, so no DANE: opportunistic delivery.
  expect(grade("tlsa-insecure")?.verdict, grade("tlsa-insecure")?.reason).toBe("pass");

  // The same verdicts as JUnit, for the CI's test view.
  expect(await lab.reportAs("junit", RUN)).toContain('<testcase classname="danelab.dane-ta-names" name="ta-baseline"');
  expect(readFileSync(lab.getTrustAnchorsPath(), "utf8")).toMatch(/IN DS/);
}, 120_000);
