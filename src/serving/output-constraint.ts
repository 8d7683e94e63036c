import { invalidArgument } from "../base/api-error.js";

import type { JsonSchema } from "../engines/engine.js";
export type { JsonSchema, OutputConstraint } from "../engines/engine.js";

const TYPES = new Set(["string", "number", "integer", "boolean", "null", "object", "array"]);
/** Keywords that only describe; they do not change what is valid. */
const DESCRIPTIVE = new Set(["description", "title", "example", "examples", "default", "propertyOrdering", "$schema", "$id", "$comment", "deprecated", "readOnly", "writeOnly"]);
/** Keywords the grammar enforces as they are. */
const KEPT = new Set(["enum", "const", "properties", "required", "items", "prefixItems", "minItems", "maxItems", "minLength", "maxLength", "additionalProperties", "minProperties", "maxProperties", "$defs", "$ref"]);
const STRING_FORMATS = new Set(["date-time", "date", "time"]);

export interface GrammarSchemaOptions {
  /**
   * Keywords the grammar cannot enforce (pattern, minimum, …) are left out instead of refused:
   * for function declarations, which Google accepts with any keyword of its schema and where
   * they only guide the model (the declaration as written is what the model reads).
   */
  advisory?: boolean;
}

function schemaList(value: unknown, path: string): unknown[] {
  if (!Array.isArray(value)) throw invalidArgument(`${path}: expected a list of schemas.`);
  return value;
}

/**
 * How many subschemas, enum values and required names one schema may hold in all: enough for any
 * real schema; a wider one (100,000 properties) would hold the model's runner for seconds while
 * its grammar compiles, so it is refused at once (OpenAI's structured outputs allow 5,000 properties).
 */
export const MAX_SCHEMA_SIZE = 5_000;

/**
 * A Gemini `responseSchema` (OpenAPI subset: upper-case types, `nullable`, `anyOf`) or a JSON
 * Schema → the JSON Schema subset node-llama-cpp compiles to a grammar. A keyword the grammar
 * cannot enforce (pattern, minimum, …) is refused with a 400 rather than silently ignored, so
 * output that "matches the schema" really does (unless `advisory`). It recurses once per schema
 * level: safe because every request body has passed the depth guard (base/json-depth.ts).
 */
export function toGrammarSchema(schema: unknown, path = "response_schema", options: GrammarSchemaOptions = {}): JsonSchema {
  return convert(schema, path, options, { path, left: MAX_SCHEMA_SIZE });
}

interface SizeBudget {
  readonly path: string;
  left: number;
}

function spend(budget: SizeBudget, count: number): void {
  budget.left -= count;
  if (budget.left < 0) {
    throw invalidArgument(`${budget.path}: the schema holds more than ${MAX_SCHEMA_SIZE} subschemas, enum values and required names, the most genai-local compiles into a grammar.`);
  }
}

function convert(schema: unknown, path: string, options: GrammarSchemaOptions, budget: SizeBudget): JsonSchema {
  spend(budget, 1);
  if (schema === true || (typeof schema === "object" && schema !== null && Object.keys(schema).length === 0)) return {};
  if (typeof schema !== "object" || schema === null || Array.isArray(schema)) {
    throw invalidArgument(`${path}: a schema must be an object.`);
  }
  const out: JsonSchema = {};
  let nullable = false;
  for (const [given, value] of Object.entries(schema as Record<string, unknown>)) {
    // Google's Schema is a proto: the Python SDK writes its fields in snake_case (max_length, any_of).
    const key = given.startsWith("$") ? given : given.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
    if (value === null || value === undefined || DESCRIPTIVE.has(key)) continue;
    if (key === "type") {
      const types = (Array.isArray(value) ? value : [value]).map((t) => String(t).toLowerCase());
      for (const t of types) if (!TYPES.has(t)) throw invalidArgument(`${path}.type: unknown type "${t}".`);
      out.type = types.length === 1 ? types[0] : types;
    } else if (key === "nullable") {
      nullable = value === true;
    } else if (key === "format") {
      if (STRING_FORMATS.has(String(value))) out.format = value;
      else if (!options.advisory && !["int32", "int64", "float", "double", "enum"].includes(String(value))) {
        throw invalidArgument(`${path}.format: "${String(value)}" cannot be enforced by genai-local's grammar.`);
      }
    } else if (key === "anyOf" || key === "oneOf") {
      out.oneOf = schemaList(value, `${path}.${key}`).map((s, i) => convert(s, `${path}.${key}[${i}]`, options, budget));
    } else if (key === "properties" || key === "$defs") {
      out[key] = Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([name, s]) => [name, convert(s, `${path}.${key}.${name}`, options, budget)]));
    } else if (key === "items" || key === "additionalProperties") {
      out[key] = typeof value === "boolean" ? value : convert(value, `${path}.${key}`, options, budget);
    } else if (key === "prefixItems") {
      out.prefixItems = schemaList(value, `${path}.prefixItems`).map((s, i) => convert(s, `${path}.prefixItems[${i}]`, options, budget));
    } else if (KEPT.has(key)) {
      if ((key === "enum" || key === "required") && Array.isArray(value)) spend(budget, value.length);
      out[key] = ["minItems", "maxItems", "minLength", "maxLength", "minProperties", "maxProperties"].includes(key) ? Number(value) : value;
    } else if (!options.advisory) {
      throw invalidArgument(`${path}.${key} is not supported by genai-local's structured output (it cannot be enforced).`);
    }
  }
  if (out.type === "object" && out.properties && !out.required) out.required = [];
  return nullable ? { oneOf: [out, { type: "null" }] } : out;
}
