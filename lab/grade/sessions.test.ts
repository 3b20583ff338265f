// One reading of a connection's events: the grader's sentence and the board's badge come from the same summary.
import { describe, expect, it } from "vitest";
import { readEvents } from "./events.js";
import { describeSession, sessionBadge, summarizeSession } from "./sessions.js";

const at = (i: number) => new Date(Date.UTC(2026, 10, 29, 10, 0, i)).toISOString();
const connection = (...steps: Record<string, unknown>[]) =>
  summarizeSession(
    readEvents(steps.map((step, i) => ({ seq: i + 1, time: at(i), session: "s1", scenario: "x", ...step }))),
  );

describe("a session, told twice", () => {
  it("a 4xx greeting is a refusal in both words", () => {
    const s = connection({ kind: "connect" }, { kind: "greeting", code: 450, greylisted: false }, { kind: "close" });
    expect(describeSession(s!)).toBe("greeted with 450 (greylisted)");
    expect(sessionBadge(s!)).toEqual({ label: "greylisted (450)", tone: "warn" });
  });

  it("TLS up, then the client leaves without MAIL FROM (the OpenSSL clients' way of rejecting)", () => {
    const s = connection(
      { kind: "ehlo", starttlsOffered: true },
      { kind: "tls", version: "TLSv1.3", cipher: "TLS_AES_128_GCM_SHA256", sni: "mx.x.lab.example" },
      { kind: "close", reason: "quit" },
    );
    expect(describeSession(s!)).toBe(
      "TLSv1.3, TLS_AES_128_GCM_SHA256, SNI mx.x.lab.example; the client quit without sending MAIL FROM",
    );
    expect(sessionBadge(s!)).toEqual({ label: "TLS, no message", tone: "warn" });
  });

  it("no events, no session", () => {
    expect(summarizeSession([])).toBeNull();
  });
});
