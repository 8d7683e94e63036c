import { describe, expect, it } from "vitest";
import { randomId } from "../../src/base/random-id.js";

describe("randomId", () => {
  it("gives distinct ids of the asked length, across refills of its pool", () => {
    const ids = Array.from({ length: 2_000 }, () => randomId(16));
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(randomId(10, "hex")).toMatch(/^[0-9a-f]{20}$/);
    expect(() => randomId(5_000)).toThrow(RangeError);
  });
});
