import { describe, expect, it } from "vitest";
import { checkSchemaForGrammar, MAX_OPTIONAL_PROPERTIES, optionalProperties } from "../../src/engines/llama-server/schema-limit.js";

const object = (names: string[], required: string[] = []) => ({ type: "object", properties: Object.fromEntries(names.map((n) => [n, { type: "string" }])), required });

describe("the llama-server engine's schema limit", () => {
  it("counts the properties left out of required, in every nested object", () => {
    expect(optionalProperties(object(["a", "b", "c"], ["a"]))).toBe(2);
    const nested = { type: "object", properties: { list: { type: "array", items: object(["x", "y"]) }, pick: { oneOf: [object(["p"]), { type: "null" }] } }, required: ["list"], $defs: { d: object(["q"], ["q"]) } };
    expect(optionalProperties(nested)).toBe(1 + 2 + 1); // pick; x, y; p
  });

  it("refuses a schema past the limit with a 400 that says what to change, and takes one with them required", () => {
    const names = Array.from({ length: MAX_OPTIONAL_PROPERTIES + 1 }, (_, i) => `p${i}`);
    expect(() => checkSchemaForGrammar(object(names), "m")).toThrow(`The schema has ${MAX_OPTIONAL_PROPERTIES + 1} optional properties; the llama-server engine serving m compiles at most ${MAX_OPTIONAL_PROPERTIES}`);
    expect(() => checkSchemaForGrammar(object(names), "m")).toThrow(expect.objectContaining({ status: "INVALID_ARGUMENT" }));
    expect(() => checkSchemaForGrammar(object(names, names), "m")).not.toThrow();
  });
});
