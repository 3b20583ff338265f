// Zone fault "rotate": an RRset whose records take turns (the lab's `_mta-sts` TXT whose id changes between fetches,
// RFC 8461 §3.1). Each turn is a one-record RRset with its own RRSIG that really verifies, in a signed and in an
// unsigned zone, and a rotate fault on fewer than two records is refused with a message naming the record.
import { describe, expect, it } from "vitest";
import { answerAuthoritative } from "./answer.js";
import { mailZone, rootAndSuffix } from "./test-fixtures.js";
import { buildTree } from "./tree.js";
import { ZoneError } from "./types.js";
import { resolveValidated } from "./validate.js";
import type { Answer } from "./wire.js";

const NAME = "_mta-sts.rot.lab.example";
const txt = (id: string): Answer => ({ name: NAME, type: "TXT", ttl: 5, class: "IN", data: [`v=STSv1; id=${id};`] });
const ids = (answers: Answer[]) =>
  answers.filter((r) => r.type === "TXT").map((r) => Buffer.from((r.data as Buffer[])[0]!).toString());

const specs = (signed: boolean) => [
  ...rootAndSuffix(),
  mailZone("rot", { signed, extra: [txt("1"), txt("2")], faults: [{ kind: "rotate", name: NAME, type: "TXT" }] }),
];

describe("zone fault rotate", () => {
  it("gives each turn one record with its own RRSIG, and every turn validates (signed zone)", async () => {
    const tree = await buildTree(specs(true));
    const seen = [0, 1, 2, 3].map((turn) => {
      const r = resolveValidated(tree.atTurn(turn), { name: NAME, type: "TXT" });
      expect(r).toMatchObject({ rcode: "NOERROR", status: "secure", fault: { kind: "rotate" } });
      expect(r.answers.filter((x) => x.type === "RRSIG")).toHaveLength(1);
      return ids(r.answers);
    });
    expect(seen).toEqual([["v=STSv1; id=1;"], ["v=STSv1; id=2;"], ["v=STSv1; id=1;"], ["v=STSv1; id=2;"]]);
    // The two RRSIGs differ: each covers its own record.
    const sig = (turn: number) =>
      answerAuthoritative(tree.atTurn(turn), { name: NAME, type: "TXT", dnssecOk: true }).answers.find(
        (x) => x.type === "RRSIG",
      );
    expect(sig(0)).not.toEqual(sig(1));
    // Turn 0 is the zone as exported.
    expect(tree.atTurn(0)).toBe(tree);
    expect(tree.zone("rot.lab.example")!.toZoneFile()).toContain("id=1;");
    expect(tree.zone("rot.lab.example")!.toZoneFile()).not.toContain("id=2;");
  });

  it("takes turns in an unsigned zone too", async () => {
    const tree = await buildTree(specs(false));
    const r = (turn: number) => resolveValidated(tree.atTurn(turn), { name: NAME, type: "TXT" });
    expect(r(0)).toMatchObject({ status: "insecure" });
    expect(ids(r(0).answers)).toEqual(["v=STSv1; id=1;"]);
    expect(ids(r(1).answers)).toEqual(["v=STSv1; id=2;"]);
  });

  it("refuses a rotate fault on a single record", async () => {
    const one = [
      ...rootAndSuffix(),
      mailZone("rot", { extra: [txt("1")], faults: [{ kind: "rotate", name: NAME, type: "TXT" }] }),
    ];
    await expect(buildTree(one)).rejects.toThrow(ZoneError);
    await expect(buildTree(one)).rejects.toThrow(/fault rotate names TXT at _mta-sts.rot.lab.example.*two records/);
  });
});
