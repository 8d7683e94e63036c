import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ApiError } from "../../src/route-kit/errors.js";
import { exceedsJsonDepth, MAX_JSON_DEPTH, parseJsonText } from "../../src/base/json-depth.js";
import { nestedText } from "./nesting.js";

// The depth guard without sockets: one scan, no recursion, brackets inside strings ignored.

/** The nesting depth of a parsed value, by recursion (fine for the small values generated here). */
function depthOf(value: unknown): number {
  if (value === null || typeof value !== "object") return 0;
  const children = Array.isArray(value) ? value : Object.values(value);
  return 1 + Math.max(0, ...children.map(depthOf));
}

describe("exceedsJsonDepth", () => {
  it("passes exactly the limit and refuses one level more, for arrays, objects and both", () => {
    for (const text of [nestedText(MAX_JSON_DEPTH), "[".repeat(MAX_JSON_DEPTH) + "]".repeat(MAX_JSON_DEPTH), '{"a":'.repeat(MAX_JSON_DEPTH - 1) + "{}" + "}".repeat(MAX_JSON_DEPTH - 1)]) {
      expect(depthOf(JSON.parse(text))).toBe(MAX_JSON_DEPTH);
      expect(exceedsJsonDepth(text)).toBe(false);
      expect(exceedsJsonDepth(`[${text}]`)).toBe(true);
      expect(exceedsJsonDepth(`{"x": ${text}}`)).toBe(true);
    }
    expect(exceedsJsonDepth("[[[]]]", 2)).toBe(true);
    expect(exceedsJsonDepth("[[],[],[1],{}]", 2)).toBe(false);
  });

  it("does not count brackets inside strings, escaped quotes included", () => {
    const brackets = "[{".repeat(5_000);
    expect(exceedsJsonDepth(JSON.stringify({ text: brackets, more: [brackets, { k: brackets }] }))).toBe(false);
    // \" does not end the string; \\" does (the backslash is itself escaped).
    expect(exceedsJsonDepth(`["a\\"${"[".repeat(200)}"]`)).toBe(false);
    expect(exceedsJsonDepth(`["a\\\\", ${"[".repeat(200)}${"]".repeat(200)}]`)).toBe(true);
    expect(exceedsJsonDepth(`["${"\\\\".repeat(1_000)}\\"${"{".repeat(200)}"]`)).toBe(false);
    // A key is a string too.
    expect(exceedsJsonDepth(`{"${"[".repeat(200)}": 1}`)).toBe(false);
  });

  it("agrees with the parsed value's depth on generated JSON full of quotes, backslashes and brackets", () => {
    const tricky = fc.string({ unit: fc.constantFrom("[", "]", "{", "}", '"', "\\", "a", ":", ",", " ", "\u2028", "é") });
    const value = fc.letrec((tie) => ({
      node: fc.oneof({ depthSize: "small" }, tricky, fc.integer(), fc.constant(null), fc.array(tie("node"), { maxLength: 3 }), fc.dictionary(tricky, tie("node"), { maxKeys: 3 })),
    })).node;
    fc.assert(
      fc.property(value, fc.integer({ min: 0, max: 8 }), fc.boolean(), (v, limit, pretty) => {
        const text = JSON.stringify(v, null, pretty ? 2 : undefined);
        expect(exceedsJsonDepth(text, limit)).toBe(depthOf(v) > limit);
      }),
      { numRuns: 2_000 },
    );
  });

  it("scans a million levels, unbalanced text and a 20 MiB string without recursion or a long pause", () => {
    expect(exceedsJsonDepth("[".repeat(1_000_000))).toBe(true);
    expect(exceedsJsonDepth("{".repeat(1_000_000))).toBe(true);
    expect(exceedsJsonDepth(nestedText(1_000_000))).toBe(true);
    // Closers first do not buy openers credit.
    expect(exceedsJsonDepth("]".repeat(500) + "[".repeat(MAX_JSON_DEPTH + 1))).toBe(true);
    // Unterminated strings and text that is no JSON at all: JSON.parse refuses them afterwards.
    expect(exceedsJsonDepth(`["${"[".repeat(500)}`)).toBe(false);
    expect(exceedsJsonDepth(JSON.stringify({ text: 'a\\"[{'.repeat(100_000) }))).toBe(false);
    // A 20 MiB inlineData-like string is searched, not walked.
    const large = JSON.stringify({ contents: [{ parts: [{ inlineData: { data: "QUJD".repeat(5 * 1024 * 1024) } }] }] });
    const started = performance.now();
    expect(exceedsJsonDepth(large)).toBe(false);
    expect(performance.now() - started).toBeLessThan(1_000); // a few ms when the machine is idle
  });
});

describe("parseJsonText", () => {
  it("refuses a too-deep text with a 400 naming the limit, before parsing; bad JSON stays a SyntaxError", () => {
    let error: unknown;
    try {
      parseJsonText(nestedText(20_000));
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).code).toBe(400);
    expect((error as ApiError).status).toBe("INVALID_ARGUMENT");
    expect((error as ApiError).message).toContain(`${MAX_JSON_DEPTH} levels`);
    expect(() => parseJsonText("[".repeat(50))).toThrow(SyntaxError);
    expect(parseJsonText(nestedText(MAX_JSON_DEPTH, '"deep"'))).toBeTruthy();
  });
});
