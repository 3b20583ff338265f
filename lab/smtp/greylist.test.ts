// Greylisting state: first N connections refused per client address, RCPT triplets refused for S seconds, and the
// lab-wide allow-list.
import { describe, expect, it } from "vitest";
import { ConnectionGreylist, GreylistAllowList, normalizeAddress, RcptGreylist } from "./greylist.js";

describe("greylisting", () => {
  it("refuses the first N connections of each client address, then lets it through", () => {
    const g = new ConnectionGreylist(2);
    expect([g.check("127.0.0.1"), g.check("127.0.0.1"), g.check("127.0.0.1")]).toEqual([true, true, false]);
    expect(g.check("::ffff:127.0.0.2")).toBe(true); // another client starts from zero
    g.reset("127.0.0.1");
    expect(g.check("127.0.0.1")).toBe(true);
  });

  it("refuses each (client, sender, recipient) triplet until S seconds after its first attempt", () => {
    let now = 1_000_000;
    const g = new RcptGreylist(10, () => now);
    expect(g.check("127.0.0.1", "a@x.example", "b@lab.example")).toBe(true);
    now += 9_000;
    expect(g.check("127.0.0.1", "a@x.example", "b@lab.example")).toBe(true);
    expect(g.check("127.0.0.1", "a@x.example", "c@lab.example")).toBe(true); // a new triplet
    now += 1_000;
    expect(g.check("127.0.0.1", "A@X.example", "B@lab.example")).toBe(false); // addresses compare case-insensitively
    expect(g.check("127.0.0.9", "a@x.example", "b@lab.example")).toBe(true); // another client
    // Re-armed for one client: its triplets start over; the other client's stay as they were.
    g.reset("::ffff:127.0.0.1");
    expect(g.check("127.0.0.1", "a@x.example", "b@lab.example")).toBe(true);
    now += 10_000;
    expect(g.check("127.0.0.9", "a@x.example", "b@lab.example")).toBe(false);
    g.reset();
    expect(g.check("127.0.0.9", "a@x.example", "b@lab.example")).toBe(true);
  });

  it("remembers at most MAX_TRIPLETS triplets, forgetting the oldest first, and drops day-old ones", () => {
    let now = 1_000_000;
    const g = new RcptGreylist(60, () => now);
    const max = RcptGreylist.MAX_TRIPLETS;
    for (let i = 0; i < max + 50_000; i++) {
      g.check("127.0.0.1", "a@x.example", `r${i}@lab.example`);
      now += 1;
    }
    expect(g.size).toBe(max);
    now += 60_000;
    expect(g.check("127.0.0.1", "a@x.example", `r${max + 49_999}@lab.example`)).toBe(false); // newest remembered
    expect(g.check("127.0.0.1", "a@x.example", "r0@lab.example")).toBe(true); // oldest forgotten: greylisted again
    now += 86_400_001 + max + 50_000;
    g.check("127.0.0.2", "a@x.example", "fresh@lab.example");
    expect(g.size).toBe(1); // everything older than a day is gone
  });

  it("the allow-list holds IP addresses and explains anything else", () => {
    const list = new GreylistAllowList(["127.0.0.5"]);
    list.add("::ffff:127.0.0.6");
    expect(list.has("127.0.0.6")).toBe(true);
    expect(list.list()).toEqual(["127.0.0.5", "127.0.0.6"]);
    expect(() => list.add("mx.example")).toThrow(/not an IP address/);
    expect(list.delete("127.0.0.5")).toBe(true);
    expect(list.has("127.0.0.5")).toBe(false);
    expect(normalizeAddress("::FFFF:127.0.0.9")).toBe("127.0.0.9");
  });
});
