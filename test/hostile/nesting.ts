/**
 * Deeply nested request parts, built as text: JSON.stringify would itself overflow at the depths
 * a hostile client sends. Each names its depth in JSON levels, the unit of the server's guard.
 */

/** Arrays and objects alternating, `levels` deep around `inner`. */
export function nestedText(levels: number, inner = "1"): string {
  let open = "";
  let close = "";
  for (let i = 0; i < levels; i++) {
    open += i % 2 === 0 ? "[" : '{"k":';
    close = (i % 2 === 0 ? "]" : "}") + close;
  }
  return open + inner + close;
}

/** `levels` arrays inside each other. */
export const nestedArrays = (levels: number, inner = ""): string => "[".repeat(levels) + inner + "]".repeat(levels);

/** A schema of `arrays` ARRAY levels, each one JSON level, around a string: arrays + 1 levels deep. */
export function itemsSchema(arrays: number, type = (t: string) => t.toUpperCase()): string {
  let schema = `{"type":"${type("string")}"}`;
  for (let i = 0; i < arrays; i++) schema = `{"type":"${type("array")}","items":${schema}}`;
  return schema;
}

/** A schema of `objects` OBJECT levels, each two JSON levels (the schema and its properties): 2 × objects + 1 deep. */
export function propertiesSchema(objects: number, type = (t: string) => t.toUpperCase()): string {
  let schema = `{"type":"${type("string")}"}`;
  for (let i = 0; i < objects; i++) schema = `{"type":"${type("object")}","properties":{"a":${schema}}}`;
  return schema;
}

export const lowerCase = (t: string): string => t;

/** The same shapes as values, for SDKs that take objects (fine at a few hundred levels). */
export const parsed = (text: string): any => JSON.parse(text);
