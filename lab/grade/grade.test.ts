// Unit tests of the grader: every expect × every client behaviour the lab can observe, built as synthetic event
// sequences shaped like the ones the SMTP listener writes (docs/contracts.md, lab/events.ts).
import { describe, expect, it } from "vitest";
import { type GradableScenario, gradeRun, type ScenarioGrade } from "./index.js";

const T0 = Date.parse("2026-11-29T10:00:00.000Z");
let seq = 0;
let sessionCounter = 0;

interface Opts {
  client?: string;
  listener?: string;
  run?: string | null;
  minute?: number;
}

/** Builds one session's events, one second apart, starting at `minute` after T0. */
function session(scenario: string, steps: Record<string, unknown>[], o: Opts = {}): object[] {
  const id = `s${++sessionCounter}`;
  const base = T0 + (o.minute ?? 0) * 60_000;
  return steps.map((step, i) => ({
    seq: ++seq,
    time: new Date(base + i * 1000).toISOString(),
    session: id,
    scenario,
    listener: o.listener ?? `mx.${scenario}.lab.example 127.0.25.3:25`,
    client: o.client ?? "127.0.0.1",
    ...step,
  }));
}

const connect = { kind: "connect" };
const greeting = { kind: "greeting", code: 220, greylisted: false };
const ehlo = (offered = true) => ({ kind: "ehlo", name: "client.example", starttlsOffered: offered });
const starttls = { kind: "command", command: "STARTTLS", code: 220 };
const tls = {
  kind: "tls",
  version: "TLSv1.3",
  cipher: "TLS_AES_256_GCM_SHA384",
  sni: "mx.s.lab.example",
  clientCertificate: null,
};
const mail = { kind: "command", command: "MAIL FROM:<a@client.example>", code: 250 };
const rcpt = (scenario: string, o: Opts, code = 250) => ({
  kind: "rcpt",
  recipient: `${o.run ? `run-${o.run}` : "probe"}@${scenario}.lab.example`,
  code,
  run: o.run ?? null,
});
const message = (scenario: string, o: Opts, overTls: boolean) => ({
  kind: "message",
  id: `m${seq + 1}`,
  size: 300,
  tls: overTls,
  recipients: [`x@${scenario}.lab.example`],
  run: o.run ?? null,
  path: "/tmp/x",
});
const close = (reason = "quit") => ({ kind: "close", reason });

const tlsDelivery = (sc: string, o: Opts = {}) =>
  session(sc, [connect, greeting, ehlo(), starttls, tls, ehlo(), mail, rcpt(sc, o), message(sc, o, true), close()], o);
const clearDelivery = (sc: string, o: Opts = {}) =>
  session(sc, [connect, greeting, ehlo(false), mail, rcpt(sc, o), message(sc, o, false), close()], o);
const handshakeFailure = (sc: string, alert: string | null, o: Opts = {}) =>
  session(
    sc,
    [
      connect,
      greeting,
      ehlo(),
      starttls,
      { kind: "tls-error", stage: "handshake", alert, error: alert ? null : "socket hang up" },
      close("client-closed"),
    ],
    o,
  );
const tlsThenQuit = (sc: string, o: Opts = {}) =>
  session(sc, [connect, greeting, ehlo(), starttls, tls, ehlo(), close()], o);
const greylistedGreeting = (sc: string, o: Opts = {}) =>
  session(sc, [connect, { kind: "greeting", code: 421, greylisted: true }, close("quit")], o);
const rcptGreylisted = (sc: string, o: Opts = {}) =>
  session(sc, [connect, greeting, ehlo(), starttls, tls, ehlo(), mail, rcpt(sc, o, 451), close()], o);
const noStarttlsQuit = (sc: string, o: Opts = {}) => session(sc, [connect, greeting, ehlo(false), close()], o);
const inProgress = (sc: string, o: Opts = {}) => session(sc, [connect, greeting, ehlo()], o);
const serverAbort = (sc: string, o: Opts = {}) =>
  session(
    sc,
    [
      connect,
      greeting,
      ehlo(),
      starttls,
      { kind: "tls-error", stage: "aborted-by-server", error: "cut" },
      close("server-closed"),
    ],
    o,
  );
const dnsQuery = (name: string, type: string, o: Opts = {}) => [
  {
    seq: ++seq,
    time: new Date(T0 + (o.minute ?? 0) * 60_000).toISOString(),
    kind: "dns-query",
    client: o.client ?? "127.0.0.1",
    name,
    type,
    rd: true,
    rcode: "NOERROR",
  },
];

const sc = (id: string, expect: string, title?: string): GradableScenario => ({
  id,
  expect,
  domain: `${id}.lab.example.`,
  ...(title ? { title } : {}),
});

function grade1(scenario: GradableScenario, events: object[], opts = {}): ScenarioGrade {
  const [g] = gradeRun(events, [scenario], opts);
  return g!;
}

describe("deliver", () => {
  const s = sc("ta-baseline", "deliver");
  it("passes a message accepted over TLS and says how", () => {
    const g = grade1(s, tlsDelivery("ta-baseline"));
    expect(g.verdict).toBe("pass");
    expect(g.reason).toContain("delivered over TLS");
    expect(g.reason).toContain("TLSv1.3");
    expect(g.evidence.delivered).toEqual({ tls: 1, cleartext: 0 });
    expect(g.evidence.sessions).toBe(1);
    expect(g.evidence.messages).toHaveLength(1);
  });
  it("fails a message accepted in cleartext, even when another came over TLS", () => {
    const g = grade1(s, [...tlsDelivery("ta-baseline"), ...clearDelivery("ta-baseline")]);
    expect(g.verdict).toBe("fail");
    expect(g.reason).toMatch(/^delivered in cleartext/);
  });
  it("fails a client that broke off the handshake with an alert, naming the alert", () => {
    const g = grade1(s, handshakeFailure("ta-baseline", "bad_certificate"));
    expect(g.verdict).toBe("fail");
    expect(g.reason).toContain("TLS handshake failed: bad_certificate");
    expect(g.reason).toContain("rejected the server's certificate");
  });
  it("fails a client that closed mid-handshake without an alert (GnuTLS style)", () => {
    const g = grade1(s, handshakeFailure("ta-baseline", null));
    expect(g.verdict).toBe("fail");
    expect(g.reason).toContain("TLS handshake failed: socket hang up");
  });
  it("fails a client that completed TLS then left without MAIL FROM (Postfix style)", () => {
    const g = grade1(s, tlsThenQuit("ta-baseline"));
    expect(g.verdict).toBe("fail");
    expect(g.reason).toContain("left without sending MAIL FROM");
  });
  it("passes a later TLS delivery after an earlier failure, and says so", () => {
    const g = grade1(s, [
      ...handshakeFailure("ta-baseline", "unknown_ca"),
      ...tlsDelivery("ta-baseline", { minute: 5 }),
    ]);
    expect(g.verdict).toBe("pass");
    expect(g.reason).toContain("after 1 failed attempt");
  });
  it("is pending while a connection is open or the client only looked up DNS", () => {
    expect(grade1(s, inProgress("ta-baseline")).verdict).toBe("pending");
    const g = grade1(s, dnsQuery("_25._tcp.mx.ta-baseline.lab.example", "TLSA"));
    expect(g.verdict).toBe("pending");
    expect(g.reason).toContain("_25._tcp.mx.ta-baseline.lab.example TLSA");
    expect(g.evidence.dnsQueries).toBe(1);
  });
  it("does not blame the client for a handshake the server cut on purpose", () => {
    expect(grade1(s, serverAbort("ta-baseline")).verdict).toBe("pending");
  });
  it("is not-tested without any event for the scenario", () => {
    const g = grade1(s, tlsDelivery("other"));
    expect(g.verdict).toBe("not-tested");
    expect(g.evidence.sessions).toBe(0);
    expect(g.evidence.lastEvent).toBeNull();
  });
});

describe("deliver-after-retry", () => {
  const s = sc("greylist-then-starttls", "deliver-after-retry");
  const id = "greylist-then-starttls";
  it("passes TLS delivery after greylisted greetings", () => {
    const g = grade1(s, [
      ...greylistedGreeting(id),
      ...greylistedGreeting(id, { minute: 5 }),
      ...tlsDelivery(id, { minute: 10 }),
    ]);
    expect(g.verdict).toBe("pass");
    expect(g.reason).toContain("after the server refused 2 attempts");
    expect(g.evidence.refused).toBe(2);
    expect(g.evidence.sessions).toBe(3);
  });
  it("passes TLS delivery after a 451 on RCPT", () => {
    const g = grade1(s, [...rcptGreylisted(id), ...tlsDelivery(id, { minute: 2 })]);
    expect(g.verdict).toBe("pass");
    expect(g.reason).toContain("refused 1 attempt");
  });
  it("passes a TLS delivery with no refusal but says the retry was not exercised", () => {
    const g = grade1(s, tlsDelivery(id));
    expect(g.verdict).toBe("pass");
    expect(g.reason).toContain("retry itself was not exercised");
  });
  it("fails a cleartext delivery (the greylisted connections offer no STARTTLS)", () => {
    const g = grade1(s, [...greylistedGreeting(id), ...clearDelivery(id, { minute: 5 })]);
    expect(g.verdict).toBe("fail");
    expect(g.reason).toMatch(/^delivered in cleartext/);
  });
  it("fails a client that rejects the certificate on the retry", () => {
    const g = grade1(s, [...greylistedGreeting(id), ...handshakeFailure(id, "bad_certificate", { minute: 5 })]);
    expect(g.verdict).toBe("fail");
    expect(g.reason).toContain("bad_certificate");
  });
  it("is pending within the retry window after a refusal", () => {
    const g = grade1(s, greylistedGreeting(id), { now: T0 + 20 * 60_000 });
    expect(g.verdict).toBe("pending");
    expect(g.reason).toContain("waiting for the client's retry");
  });
  it("fails 'never retried after greylisting' once the window has passed", () => {
    const g = grade1(s, greylistedGreeting(id), { now: T0 + 61 * 60_000 });
    expect(g.verdict).toBe("fail");
    expect(g.reason).toMatch(/^never retried after greylisting/);
    expect(g.reason).toContain("61 min since the last refusal");
  });
  it("uses the log's newest event as the clock by default, and honours retryWindowMs", () => {
    const events = [...greylistedGreeting(id), ...tlsDelivery("other", { minute: 20 })];
    const scenarios = [s, sc("other", "deliver")];
    expect(gradeRun(events, scenarios)[0]!.verdict).toBe("pending");
    expect(gradeRun(events, scenarios, { retryWindowMs: 10 * 60_000 })[0]!.verdict).toBe("fail");
  });
  it("is not-tested without events", () => {
    expect(grade1(s, []).verdict).toBe("not-tested");
  });
});

describe("no-delivery", () => {
  const id = "ta-wrong-name";
  const s = sc(id, "no-delivery", "no acceptable name in the certificate");
  it("fails cleartext delivery as the worst outcome", () => {
    const g = grade1(s, clearDelivery(id));
    expect(g.verdict).toBe("fail");
    expect(g.reason).toMatch(/^delivered in cleartext .*the worst outcome/);
  });
  it("fails a TLS delivery and names the trap from the scenario title", () => {
    const g = grade1(s, tlsDelivery(id));
    expect(g.verdict).toBe("fail");
    expect(g.reason).toContain("a DANE client must not accept this server — no acceptable name in the certificate");
  });
  it("passes a client that rejected the certificate in the handshake", () => {
    const g = grade1(s, handshakeFailure(id, "bad_certificate"));
    expect(g.verdict).toBe("pass");
    expect(g.reason).toContain("never delivered");
    expect(g.reason).toContain("bad_certificate");
  });
  it("passes a client that completed TLS then quit", () => {
    expect(grade1(s, tlsThenQuit(id)).verdict).toBe("pass");
  });
  it("passes a client that quit when STARTTLS was not offered (no-starttls)", () => {
    const g = grade1(sc("no-starttls", "no-delivery"), noStarttlsQuit("no-starttls"));
    expect(g.verdict).toBe("pass");
    expect(g.reason).toContain("no STARTTLS offered");
  });
  it("passes a client that looked up the scenario's records and never connected (tlsa-bogus)", () => {
    const g = grade1(sc("tlsa-bogus", "no-delivery"), dnsQuery("_25._tcp.mx.tlsa-bogus.lab.example", "TLSA"));
    expect(g.verdict).toBe("pass");
    expect(g.reason).toMatch(/^did not connect/);
  });
  it("is pending while the only connection is still open", () => {
    expect(grade1(s, inProgress(id)).verdict).toBe("pending");
  });
  it("is pending with no connection when the lab does not log DNS (it cannot tell refusal from absence)", () => {
    const g = grade1(s, tlsDelivery("other"));
    expect(g.verdict).toBe("pending");
    expect(g.reason).toContain("cannot tell");
  });
  it("is not-tested when DNS queries are logged but none was for this scenario", () => {
    const g = grade1(s, dnsQuery("mx.other.lab.example", "A"));
    expect(g.verdict).toBe("not-tested");
  });
});

describe("tls-required", () => {
  const id = "all-unusable";
  const s = sc(id, "tls-required");
  it("passes TLS delivery", () => {
    expect(grade1(s, tlsDelivery(id)).verdict).toBe("pass");
  });
  it("fails cleartext delivery", () => {
    const g = grade1(s, clearDelivery(id));
    expect(g.verdict).toBe("fail");
    expect(g.reason).toContain("TLS mandatory");
  });
  it("fails a client that insisted on authentication and refused the certificate", () => {
    const g = grade1(s, handshakeFailure(id, "bad_certificate"));
    expect(g.verdict).toBe("fail");
    expect(g.reason).toContain("without authenticating");
  });
  it("is pending / not-tested without delivery", () => {
    expect(grade1(s, inProgress(id)).verdict).toBe("pending");
    expect(grade1(s, []).verdict).toBe("not-tested");
  });
});

describe("opportunistic", () => {
  const id = "tlsa-insecure";
  const s = sc(id, "opportunistic");
  it("passes TLS delivery", () => {
    expect(grade1(s, tlsDelivery(id)).verdict).toBe("pass");
  });
  it("passes cleartext delivery and says it is allowed", () => {
    const g = grade1(s, clearDelivery(id));
    expect(g.verdict).toBe("pass");
    expect(g.reason).toContain("allowed");
  });
  it("fails a client that demanded authentication where DANE does not apply", () => {
    const g = grade1(s, handshakeFailure(id, "bad_certificate"));
    expect(g.verdict).toBe("fail");
    expect(g.reason).toContain("DANE does not apply");
  });
  it("is pending after DNS only, not-tested without anything", () => {
    expect(grade1(s, dnsQuery("tlsa-insecure.lab.example", "MX")).verdict).toBe("pending");
    expect(grade1(s, []).verdict).toBe("not-tested");
  });
});

describe("implementation-defined", () => {
  const id = "eku-client-only";
  const s = sc(id, "implementation-defined");
  it("reports what the client did, never pass or fail", () => {
    expect(grade1(s, tlsDelivery(id))).toMatchObject({
      verdict: "observed",
      reason: expect.stringContaining("over TLS"),
    });
    expect(grade1(s, clearDelivery(id))).toMatchObject({
      verdict: "observed",
      reason: expect.stringContaining("cleartext"),
    });
    expect(grade1(s, handshakeFailure(id, "unsupported_certificate"))).toMatchObject({
      verdict: "observed",
      reason: expect.stringContaining("did not deliver: TLS handshake failed: unsupported_certificate"),
    });
    expect(grade1(s, inProgress(id)).verdict).toBe("observed");
    expect(grade1(s, []).verdict).toBe("not-tested");
  });
});

describe("MX preference order (mx-preference)", () => {
  const id = "mx-preference";
  const s: GradableScenario = {
    ...sc(id, "deliver"),
    mx: [
      { host: "mx1.mx-preference.lab.example.", preference: 10 },
      { host: "mx2.mx-preference.lab.example.", preference: 20 },
    ],
  };
  const mx1 = { listener: "mx1.mx-preference.lab.example 127.0.25.7:25" };
  const mx2 = { listener: "mx2.mx-preference.lab.example 127.0.25.8:25" };
  it("passes delivery at the most preferred host", () => {
    expect(grade1(s, tlsDelivery(id, mx1)).verdict).toBe("pass");
  });
  it("fails delivery at mx2 when mx1 was never tried", () => {
    const g = grade1(s, tlsDelivery(id, mx2));
    expect(g.verdict).toBe("fail");
    expect(g.reason).toContain("delivered at mx2.mx-preference.lab.example without trying the more preferred MX");
  });
  it("fails delivery at mx2 after the client turned mx1 down itself", () => {
    const g = grade1(s, [...handshakeFailure(id, "bad_certificate", mx1), ...tlsDelivery(id, { ...mx2, minute: 1 })]);
    expect(g.verdict).toBe("fail");
    expect(g.reason).toMatch(/^turned down the more preferred MX/);
  });
  it("passes delivery at mx2 when mx1 itself failed the client (a legitimate fallback)", () => {
    const g = grade1(s, [...greylistedGreeting(id, mx1), ...tlsDelivery(id, { ...mx2, minute: 1 })]);
    expect(g.verdict).toBe("pass");
  });
});

describe("SNI hint", () => {
  it("says when a client that failed the handshake sent no SNI", () => {
    const events = session("sni-required", [
      connect,
      greeting,
      ehlo(),
      starttls,
      {
        kind: "tls-error",
        stage: "handshake",
        alert: "bad_certificate",
        clientHello: { sni: null, versions: ["TLSv1.3"] },
      },
      close("client-closed"),
    ]);
    const g = grade1(sc("sni-required", "deliver"), events);
    expect(g.verdict).toBe("fail");
    expect(g.reason).toContain("the client sent no SNI, RFC 7672 §8.1");
  });
});

describe("runs", () => {
  const a = sc("ta-baseline", "deliver");
  const b = sc("ta-wrong-name", "no-delivery");
  const g = sc("greylist-then-starttls", "deliver-after-retry");

  it("counts only sessions whose recipients carry the run", () => {
    const events = [
      ...clearDelivery("ta-baseline", { run: "1" }),
      ...tlsDelivery("ta-baseline", { run: "2", minute: 1 }),
    ];
    expect(gradeRun(events, [a], { run: "2" })[0]!.verdict).toBe("pass");
    expect(gradeRun(events, [a], { run: "1" })[0]!.verdict).toBe("fail");
    expect(gradeRun(events, [a])[0]!.verdict).toBe("fail"); // without --run every event counts
    expect(gradeRun(events, [a], { run: "3" })[0]!.verdict).toBe("not-tested");
  });

  it("attributes recipient-less sessions to the run of the same client within 15 minutes", () => {
    const events = [
      ...tlsDelivery("ta-baseline", { run: "7", minute: 0 }),
      ...handshakeFailure("ta-wrong-name", "bad_certificate", { minute: 2 }),
      ...handshakeFailure("ta-wrong-name", "bad_certificate", { minute: 40 }),
      ...handshakeFailure("ta-wrong-name", "bad_certificate", { minute: 3, client: "127.0.0.99" }),
    ];
    const [ga, gb] = gradeRun(events, [a, b], { run: "7" });
    expect(ga!.verdict).toBe("pass");
    expect(gb!.verdict).toBe("pass");
    expect(gb!.evidence.sessions).toBe(1); // minute 40 is too late, 127.0.0.99 is another client
  });

  it("gives a greylisted greeting to the nearest run of the same client", () => {
    const events = [
      ...greylistedGreeting("greylist-then-starttls", { minute: 0 }),
      ...tlsDelivery("greylist-then-starttls", { run: "A", minute: 2 }),
      ...greylistedGreeting("greylist-then-starttls", { minute: 12 }),
      ...tlsDelivery("greylist-then-starttls", { run: "B", minute: 14 }),
    ];
    for (const run of ["A", "B"]) {
      const grade = gradeRun(events, [g], { run })[0]!;
      expect(grade.verdict).toBe("pass");
      expect(grade.evidence.refused).toBe(1);
      expect(grade.evidence.sessions).toBe(2);
    }
  });

  it("prefers a run-carrying session of the same scenario over a nearer one of another scenario", () => {
    const events = [
      ...tlsDelivery("greylist-then-starttls", { run: "A", minute: 0 }),
      ...greylistedGreeting("greylist-then-starttls", { minute: 6 }),
      ...tlsDelivery("ta-baseline", { run: "B", minute: 7 }),
    ];
    expect(gradeRun(events, [g], { run: "A" })[0]!.evidence.refused).toBe(1);
    expect(gradeRun(events, [g], { run: "B" })[0]!.evidence.refused).toBe(0);
  });

  it("leaves out sessions whose recipients carry no run (someone else's probe)", () => {
    const events = [
      ...tlsDelivery("ta-baseline", { run: "1" }),
      ...clearDelivery("ta-baseline", { run: null, minute: 1 }),
    ];
    expect(gradeRun(events, [a], { run: "1" })[0]!.verdict).toBe("pass");
  });

  it("attributes DNS queries from a resolver address by time alone", () => {
    const events = [
      ...tlsDelivery("ta-baseline", { run: "5", minute: 0 }),
      ...dnsQuery("_25._tcp.mx.tlsa-bogus.lab.example", "TLSA", { client: "127.0.53.2", minute: 1 }),
    ];
    const bogus = sc("tlsa-bogus", "no-delivery");
    expect(gradeRun(events, [bogus], { run: "5" })[0]!.verdict).toBe("pass");
    expect(gradeRun(events, [bogus], { run: "6" })[0]!.verdict).toBe("not-tested");
  });

  it("gives one shared lookup to every run active at the time (a client matrix), and none to a run long after", () => {
    // Three MTAs deliver from their own addresses, but their lookups all leave from 127.0.0.1 and the lab logs the
    // repeated question once: each run that was active then had to ask it.
    const events = [
      ...tlsDelivery("ta-baseline", { run: "exim", client: "127.0.14.201", minute: 0 }),
      ...tlsDelivery("ta-baseline", { run: "postfix", client: "127.0.14.202", minute: 0 }),
      ...dnsQuery("_25._tcp.mx.tlsa-bogus.lab.example", "TLSA", { client: "127.0.0.1", minute: 1 }),
      ...tlsDelivery("ta-baseline", { run: "later", client: "127.0.14.203", minute: 60 }),
    ];
    const bogus = sc("tlsa-bogus", "no-delivery");
    expect(gradeRun(events, [bogus], { run: "exim" })[0]!.verdict).toBe("pass");
    expect(gradeRun(events, [bogus], { run: "postfix" })[0]!.verdict).toBe("pass");
    expect(gradeRun(events, [bogus], { run: "later" })[0]!.verdict).not.toBe("pass");
  });
});

describe("robustness", () => {
  it("grades events read back from events.jsonl (plain objects, odd lines) without throwing", () => {
    const events: object[] = [{ kind: "connect" }, { nonsense: true }, ...tlsDelivery("ta-baseline")];
    const [g] = gradeRun(events, [sc("ta-baseline", "deliver")]);
    expect(g!.verdict).toBe("pass");
  });
  it("keeps the order of the scenarios and explains an unknown expectation", () => {
    const grades = gradeRun([], [sc("b", "deliver"), sc("a", "sometimes")]);
    expect(grades.map((x) => x.scenario)).toEqual(["b", "a"]);
    expect(grades[1]!.reason).toContain('unknown expectation "sometimes"');
  });
});
