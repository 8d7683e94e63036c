import fc from "fast-check";
import { MAX_JSON_DEPTH } from "../../src/base/json-depth.js";

/**
 * Generators of structure for the fuzz suite: values nested past the depth guard's limit (or just
 * under it, so the walks behind the guard run at their deepest), values 100,000 wide, and both at
 * once, each put in a place of a request where a walk recurses. Built as text: JSON.stringify
 * would itself overflow at these depths, and fast-check would take minutes over 100,000 keys.
 */

/** Per level: the text that opens it, the text that closes it, and the JSON levels it adds. */
const LEVELS: Record<string, [string, string, number]> = {
  array: ["[", "]", 1],
  object: ['{"k":', "}", 1],
  items: ['{"type":"ARRAY","items":', "}", 1],
  itemsLower: ['{"type":"array","items":', "}", 1],
  properties: ['{"type":"OBJECT","properties":{"a":', "}}", 2],
  propertiesLower: ['{"type":"object","properties":{"a":', "}}", 2],
  anyOf: ['{"anyOf":[', "]}", 2],
  parts: ['[{"parts":', "}]", 2],
};
const SHAPES = [...Object.keys(LEVELS), "mixed"] as const;
const LEAVES = ['{"type":"STRING"}', "1", '"x"', "null", "{}", "[]"];

/** Nested text `levels` JSON levels deep (give or take one), no longer than maxChars. */
function nested(levels: number, shape: (typeof SHAPES)[number], seed: number, maxChars: number): string {
  const names = Object.keys(LEVELS);
  let random = seed | 1;
  const next = (): number => {
    // xorshift: a reproducible choice per level for "mixed" without generating one per level
    random ^= random << 13;
    random ^= random >>> 17;
    random ^= random << 5;
    return random >>> 0;
  };
  const open: string[] = [];
  const close: string[] = [];
  let depth = 0;
  let chars = 0;
  while (depth < levels) {
    const [opener, closer, adds] = LEVELS[shape === "mixed" ? names[next() % names.length]! : shape]!;
    if (chars + opener.length + closer.length > maxChars) break;
    open.push(opener);
    close.push(closer);
    chars += opener.length + closer.length;
    depth += adds;
  }
  return open.join("") + LEAVES[next() % LEAVES.length] + close.reverse().join("");
}

/**
 * Depths past the limit (to 30,000), and one in ten just around it: those pass the guard, and a
 * valid schema among them is compiled into a grammar (a tenth of a second each), so they are rarer.
 */
const depth = fc.oneof({ weight: 9, arbitrary: fc.integer({ min: MAX_JSON_DEPTH + 1, max: 30_000 }) }, { weight: 1, arbitrary: fc.integer({ min: MAX_JSON_DEPTH - 10, max: MAX_JSON_DEPTH + 3 }) });

/** A deep value as JSON text, at most `maxChars` long (the body limit stays out of the way). */
export const deepValue = (maxChars = 120_000): fc.Arbitrary<string> =>
  fc.tuple(depth, fc.constantFrom(...SHAPES), fc.integer()).map(([levels, shape, seed]) => nested(levels, shape, seed, maxChars));

export const WIDTH = 100_000;
let wideCache: Record<string, string> | undefined;
/** 100,000 keys, or 100,000 elements of a few kinds; each under 1 MiB. Made once. */
function wideValues(): Record<string, string> {
  wideCache ??= {
    keys: `{${Array.from({ length: WIDTH }, (_, i) => `"${i.toString(36)}":0`).join(",")}}`,
    zeros: `[${"0,".repeat(WIDTH - 1)}0]`,
    objects: `[${"{},".repeat(WIDTH - 1)}{}]`,
    strings: `[${'"a",'.repeat(WIDTH - 1)}"a"]`,
    schemas: `{${Array.from({ length: WIDTH }, (_, i) => `"${i.toString(36)}":{}`).join(",")}}`,
  };
  return wideCache;
}

/** A value 100,000 wide; in one of three, one of its elements is a deep value (width and depth at once). */
export const wideValue: fc.Arbitrary<string> = fc
  .tuple(fc.constantFrom("keys", "zeros", "objects", "strings", "schemas"), fc.option(fc.tuple(fc.nat(WIDTH - 1), deepValue(20_000)), { freq: 2 }))
  .map(([kind, deep]) => {
    if (!deep) return wideValues()[kind]!;
    const [at, inner] = deep;
    return `[${"0,".repeat(at)}${inner}${",0".repeat(WIDTH - at - 1)}]`;
  });

const HI = '[{"role":"user","parts":[{"text":"Once"}]}]';
const SAY = '"messages":[{"role":"user","content":"Once"}]';

/** Gemini request bodies with a hole ($) in each place a walk recurses or a field takes any value. */
export const GEMINI_PLACES = [
  "$",
  '{"contents":$}',
  '{"contents":[$]}',
  '{"contents":[{"role":"user","parts":$}]}',
  '{"contents":[{"role":"user","parts":[$]}]}',
  '{"contents":[{"role":"model","parts":[{"functionCall":{"name":"f","args":{"a":$}}}]},{"role":"user","parts":[{"text":"x"}]}]}',
  '{"contents":[{"role":"user","parts":[{"functionResponse":{"name":"f","response":$}}]}]}',
  '{"contents":[{"role":"user","parts":[{"inlineData":$}]}]}',
  `{"contents":${HI},"systemInstruction":{"parts":$}}`,
  `{"contents":${HI},"generationConfig":{"maxOutputTokens":2,"responseMimeType":"application/json","responseSchema":$}}`,
  `{"contents":${HI},"generationConfig":{"maxOutputTokens":2,"responseMimeType":"application/json","responseJsonSchema":$}}`,
  `{"contents":${HI},"generationConfig":{"maxOutputTokens":2,"responseMimeType":"text/x.enum","responseSchema":{"type":"STRING","enum":$}}}`,
  `{"contents":${HI},"generationConfig":{"maxOutputTokens":2},"tools":[{"functionDeclarations":[{"name":"f","parameters":$}]}]}`,
  `{"contents":${HI},"generationConfig":{"maxOutputTokens":2},"tools":[{"functionDeclarations":[{"name":"f","parametersJsonSchema":{"type":"object","properties":$}}]}]}`,
  `{"contents":${HI},"tools":$}`,
  `{"contents":${HI},"toolConfig":{"functionCallingConfig":$}}`,
  `{"contents":${HI},"safetySettings":$}`,
  `{"contents":${HI},"labels":$}`,
  `{"contents":${HI},"generationConfig":{"maxOutputTokens":2,"thinkingConfig":$}}`,
  `{"contents":${HI},"notAField":$}`,
];

/** The same for OpenAI's chat completions. */
export const CHAT_PLACES = [
  "$",
  '{"model":"stories-260k","messages":$}',
  '{"model":"stories-260k","messages":[$]}',
  '{"model":"stories-260k","max_tokens":2,"messages":[{"role":"user","content":$}]}',
  `{"model":"stories-260k","max_tokens":2,${SAY},"response_format":{"type":"json_schema","json_schema":{"name":"x","schema":$}}}`,
  `{"model":"stories-260k","max_tokens":2,${SAY},"response_format":$}`,
  `{"model":"stories-260k","max_tokens":2,${SAY},"tools":[{"type":"function","function":{"name":"f","parameters":$}}]}`,
  `{"model":"stories-260k","max_tokens":2,${SAY},"tools":$}`,
  `{"model":"stories-260k","max_tokens":2,${SAY},"tool_choice":$}`,
  `{"model":"stories-260k","max_tokens":2,${SAY},"stop":$}`,
  `{"model":"stories-260k","max_tokens":2,${SAY},"logit_bias":$}`,
  `{"model":"stories-260k","max_tokens":2,${SAY},"metadata":$}`,
  '{"model":"stories-260k","max_tokens":2,"messages":[{"role":"user","content":"hi"},{"role":"assistant","tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"$S"}}]},{"role":"tool","tool_call_id":"c","content":"ok"}]}',
];

/** Cached contents create bodies, files metadata (also read by the upload route itself), and the other OpenAI routes'. */
export const OTHER_PLACES: [string, string, Record<string, string>?][] = [
  ["/v1beta/files", '{"file":$}'],
  ["/upload/v1beta/files", '{"file":{"displayName":$}}', { "x-goog-upload-protocol": "resumable", "x-goog-upload-command": "start", "x-goog-upload-header-content-length": "5", "x-goog-upload-header-content-type": "text/plain" }],
  ["/v1beta/cachedContents", '{"model":"models/stories-260k","contents":$}'],
  ["/v1beta/cachedContents", `{"model":"models/stories-260k","contents":${HI},"tools":[{"functionDeclarations":[{"name":"f","parameters":$}]}]}`],
  ["/v1beta/cachedContents", `{"model":"models/stories-260k","contents":${HI},"systemInstruction":$}`],
  ["/v1beta/models/stories-260k:countTokens", '{"contents":$}'],
  ["/v1beta/models/stories-260k:countTokens", '{"generateContentRequest":{"model":"models/stories-260k","contents":[$]}}'],
  ["/v1beta/models/stories-260k:embedContent", '{"content":{"parts":$}}'],
  ["/v1beta/models/stories-260k:batchEmbedContents", '{"requests":$}'],
  ["/v1/completions", '{"model":"stories-260k","max_tokens":2,"prompt":$}'],
  ["/v1/embeddings", '{"model":"stories-260k","input":$}'],
];

/** A place's body with a value in its hole ($S: as a JSON string's content, for tool call arguments). */
export function fill(place: string, value: string): string {
  return place.includes("$S") ? place.replace("$S", JSON.stringify(value).slice(1, -1)) : place.replace("$", () => value);
}
