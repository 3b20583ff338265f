// The MTA-STS policy server listens on loopback unless --allow-remote says otherwise, like every other listener.
import { describe, expect, it } from "vitest";
import { checkListeners, ExposureError } from "../exposure.js";

describe("--sts-address", () => {
  it("is refused outside 127.0.0.0/8 without --allow-remote, and warned about with it", () => {
    const listeners = { dns: "127.0.53.1", smtp: ["127.0.25.1"], sts: "192.0.2.10" };
    expect(() => checkListeners(listeners, false)).toThrow(ExposureError);
    expect(() => checkListeners(listeners, false)).toThrow(
      /--sts-address 192\.0\.2\.10 exposes the MTA-STS policy server/,
    );
    expect(checkListeners(listeners, true).join("\n")).toMatch(/WARNING: --allow-remote: --sts-address 192\.0\.2\.10/);
    expect(checkListeners({ ...listeners, sts: "127.0.93.5" }, false)).toEqual([]);
  });
});
