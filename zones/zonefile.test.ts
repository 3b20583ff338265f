// The one writer of BIND trust-anchors text (named.conf, delv -a; BIND 9.16+ syntax) and the DNS export file list.
import { describe, expect, it } from "vitest";
import type { SignedTree } from "./types.js";
import { bindTrustAnchors, exportFiles, trustAnchorFiles } from "./zonefile.js";

const ANCHORS = {
  ds: [". 86400 IN DS 12345 13 2 ABCDEF0123"],
  dnskey: [
    ". 86400 IN DNSKEY 257 3 13 mdsswUyr3DPW132mOi8V9xESWE8jTo0dxCjjnopKl+GqJxpVXckHAeF+KkxLbxILfDLUT0rAK9iUzy1L53eKGQ==",
  ],
};

describe("bindTrustAnchors", () => {
  it("writes the root DS as initial-ds (what danelab up leaves in trust-anchors.conf)", () => {
    expect(bindTrustAnchors(ANCHORS, "initial-ds")).toBe(
      'trust-anchors {\n  . initial-ds 12345 13 2 "ABCDEF0123";\n};\n',
    );
  });

  it("writes the root DS as static-ds, on one line for a shell command", () => {
    expect(bindTrustAnchors(ANCHORS, "static-ds", "line")).toBe(
      'trust-anchors { . static-ds 12345 13 2 "ABCDEF0123"; };',
    );
  });

  it("writes the KSK as static-key (RFC 4034 §2.2 fields: flags, protocol, algorithm, key)", () => {
    expect(bindTrustAnchors(ANCHORS, "static-key")).toBe(
      `trust-anchors {\n  . static-key 257 3 13 "${ANCHORS.dnskey[0]!.split(" ").at(-1)}";\n};\n`,
    );
  });

  it("joins a digest split over several fields, and keeps every anchor", () => {
    const two = { ds: [". 3600 IN DS 1 8 2 ABCD EF01", ". 3600 IN DS 2 13 2 0123"], dnskey: [] };
    expect(bindTrustAnchors(two, "static-ds")).toBe(
      'trust-anchors {\n  . static-ds 1 8 2 "ABCDEF01";\n  . static-ds 2 13 2 "0123";\n};\n',
    );
  });
});

describe("exportFiles", () => {
  it("lists every zone and the trust anchors for unbound and BIND", () => {
    const tree = {
      zones: [
        { origin: "", toZoneFile: () => "; root\n" },
        { origin: "lab.example", toZoneFile: () => "; lab\n" },
      ],
      trustAnchors: ANCHORS,
    } as unknown as SignedTree;
    const files = Object.fromEntries(exportFiles(tree).map((f) => [f.path, f.text]));
    expect(Object.keys(files)).toEqual([
      "zones/root.zone",
      "zones/lab.example.zone",
      "root.ds",
      "root.dnskey",
      "trust-anchors.txt",
      "trust-anchors.conf",
    ]);
    expect(files["zones/lab.example.zone"]).toBe("; lab\n");
    expect(files["trust-anchors.txt"]).toBe(trustAnchorFiles(tree).unbound);
    expect(files["trust-anchors.txt"]).toBe(`${ANCHORS.ds[0]}\n${ANCHORS.dnskey[0]}\n`);
    expect(files["trust-anchors.conf"]).toBe(bindTrustAnchors(ANCHORS, "initial-ds"));
  });
});
