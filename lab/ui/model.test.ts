// The training board's pure helpers: what a trainer sees for a given event log or catalogue.
import { describe, expect, it } from "vitest";
import {
  buildTimelines,
  filterCatalogue,
  parseRoute,
  routeHash,
  runsFromEvents,
  splitMessage,
  tricky,
  type UiEvent,
} from "./model.js";

const base = {
  session: "s1",
  scenario: "seed-mx06",
  listener: "mx06.seed-mx06.lab.example 127.0.25.1:25",
  client: "127.0.0.9",
};
let seq = 0;
const ev = (kind: string, extra: Record<string, unknown> = {}, session = "s1"): UiEvent => ({
  ...base,
  session,
  seq: ++seq,
  time: new Date(1_700_000_000_000 + seq * 1000).toISOString(),
  kind,
  ...extra,
});

describe("catalogue", () => {
  const scenarios = [
    {
      id: "seed-mx06",
      title: "Nine records",
      group: "seed",
      expect: "deliver-after-retry",
      teach: "This is the bug. More.",
    },
    { id: "ta-baseline", title: "Baseline", group: "dane-ta", expect: "deliver", teach: "A 2 1 1 record. Then." },
    { id: "ta-wrong-name", title: "Wrong name", group: "dane-ta", expect: "no-delivery", teach: "No name fits." },
  ];
  it("groups scenarios and keeps catalogue order", () => {
    const groups = filterCatalogue(scenarios, "");
    expect(groups.map((g) => g.group)).toEqual(["seed", "dane-ta"]);
    expect(groups[1]!.scenarios.map((s) => s.id)).toEqual(["ta-baseline", "ta-wrong-name"]);
  });
  it("filters by words and by expected verdict", () => {
    expect(filterCatalogue(scenarios, "name").flatMap((g) => g.scenarios.map((s) => s.id))).toEqual(["ta-wrong-name"]);
    expect(filterCatalogue(scenarios, "", "deliver").flatMap((g) => g.scenarios.map((s) => s.id))).toEqual([
      "ta-baseline",
    ]);
    expect(filterCatalogue(scenarios, "bug SEED")).toHaveLength(1);
  });
  it("takes the first sentence as the one-line 'what is tricky'", () => {
    expect(tricky("This is the bug.  More text follows.")).toBe("This is the bug.");
    expect(tricky("No full stop")).toBe("No full stop");
    expect(tricky("x".repeat(400)).length).toBe(218);
  });
});

describe("routes", () => {
  it("round-trips every page", () => {
    for (const r of [
      { page: "catalogue" },
      { page: "scenario", id: "seed-mx06" },
      { page: "live" },
      { page: "runs", run: "42" },
      { page: "runs", run: null },
      { page: "messages", id: "abc.1" },
      { page: "messages", id: null },
    ] as const) {
      expect(parseRoute(routeHash(r))).toEqual(r);
    }
  });
  it("falls back to the catalogue", () => {
    expect(parseRoute("")).toEqual({ page: "catalogue" });
    expect(parseRoute("#/nonsense")).toEqual({ page: "catalogue" });
  });
});

describe("timelines", () => {
  it("tells a greylisted connection and a DANE delivery apart", () => {
    const events = [
      ev("connect", {}, "a"),
      ev("greeting", { code: 421, greylisted: true }, "a"),
      ev("close", { reason: "quit" }, "a"),
      ev("connect", {}, "b"),
      ev("greeting", { code: 220, greylisted: false }, "b"),
      ev("ehlo", { name: "client.example", starttlsOffered: true }, "b"),
      ev("command", { command: "EHLO client.example", code: 250 }, "b"),
      ev("tls", { version: "TLSv1.3", cipher: "TLS_AES_256_GCM_SHA384", sni: "mx06.seed-mx06.lab.example" }, "b"),
      ev("ehlo", { name: "client.example", starttlsOffered: false }, "b"),
      ev("command", { command: "RCPT TO:<run-7@seed-mx06.lab.example>", code: 250 }, "b"),
      ev("rcpt", { recipient: "run-7@seed-mx06.lab.example", code: 250, run: "7" }, "b"),
      ev("message", { id: "m1", size: 300, tls: true, tlsVersion: "TLSv1.3", run: "7" }, "b"),
      ev("close", { reason: "quit" }, "b"),
    ];
    const [newest, oldest] = buildTimelines(events);
    expect(newest!.session).toBe("b");
    expect(newest!.outcome).toEqual({ label: "delivered over TLS", tone: "ok" });
    expect(newest!.steps.map((s) => s.label)).toContain(
      "TLS handshake: TLSv1.3, TLS_AES_256_GCM_SHA384, SNI mx06.seed-mx06.lab.example",
    );
    expect(newest!.steps.map((s) => s.label)).toContain("EHLO client.example — inside TLS");
    expect(newest!.steps.filter((s) => s.kind === "command")).toEqual([]);
    expect(newest!.steps.some((s) => s.tone === "warn")).toBe(false);
    expect(oldest!.outcome).toEqual({ label: "greylisted (421)", tone: "warn" });
    expect(runsFromEvents(events)).toEqual(["7"]);
  });
  it("flags cleartext delivery and the client's TLS alert", () => {
    const clear = buildTimelines([ev("connect", {}, "c"), ev("message", { tls: false, size: 10 }, "c")]);
    expect(clear[0]!.outcome).toEqual({ label: "delivered in cleartext", tone: "bad" });
    const alert = buildTimelines([
      ev("connect", {}, "d"),
      ev("tls-error", { stage: "handshake", alert: "bad_certificate" }, "d"),
    ]);
    expect(alert[0]!.outcome).toEqual({
      label: "client rejected the certificate: TLS alert bad_certificate",
      tone: "bad",
    });
  });
});

describe("messages", () => {
  it("picks the trace fields out of a stored message, unfolding continuation lines", () => {
    const raw =
      "Return-Path: <a@b.example>\r\nDelivered-To: run-1@ta-baseline.lab.example\r\nReceived: from c.example\r\n" +
      "\tby mx.ta-baseline.lab.example with ESMTPS (TLSv1.3)\r\nSubject: hi\r\n\r\nbody\r\n";
    const m = splitMessage(raw);
    expect(m.trace).toHaveLength(3);
    expect(m.trace[2]).toContain("with ESMTPS (TLSv1.3)");
    expect(m.body).toBe("body\n");
  });
});
