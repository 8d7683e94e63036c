import { ApiError } from "../../base/api-error.js";
import type { JsonSchema } from "../engine.js";

/**
 * Optional properties (not in `required`) a JSON schema may hold in all on this engine: llama.cpp's
 * schema-to-grammar step grows with about the cube of one object's optional properties (measured on
 * this project's VM: 400 in 0.2 s, 800 in 1.1 s; the 5,000 the serving layer allows in minutes),
 * while it holds a core.
 */
export const MAX_OPTIONAL_PROPERTIES = 1_000;

const SUBSCHEMA_LISTS = ["oneOf", "anyOf", "allOf", "prefixItems"];
const SUBSCHEMAS = ["items", "additionalProperties", "not"];

/** The optional properties of every object in `schema`, nested ones included. */
export function optionalProperties(schema: unknown): number {
  if (typeof schema !== "object" || schema === null || Array.isArray(schema)) return 0;
  const node = schema as JsonSchema;
  let count = 0;
  for (const group of ["properties", "$defs"]) {
    const members = node[group];
    if (typeof members !== "object" || members === null) continue;
    const required = group === "properties" && Array.isArray(node.required) ? new Set(node.required) : undefined;
    for (const [name, member] of Object.entries(members)) {
      if (required && !required.has(name)) count++;
      count += optionalProperties(member);
    }
  }
  for (const key of SUBSCHEMA_LISTS) if (Array.isArray(node[key])) for (const member of node[key] as unknown[]) count += optionalProperties(member);
  for (const key of SUBSCHEMAS) count += optionalProperties(node[key]);
  return count;
}

/** Refuses, with a 400 saying what to change, a schema llama.cpp would take minutes to compile. */
export function checkSchemaForGrammar(schema: JsonSchema, model: string): void {
  const optional = optionalProperties(schema);
  if (optional > MAX_OPTIONAL_PROPERTIES) {
    throw new ApiError(
      "INVALID_ARGUMENT",
      `The schema has ${optional} optional properties; the llama-server engine serving ${model} compiles at most ${MAX_OPTIONAL_PROPERTIES} into a grammar (llama.cpp's compiler slows with their cube). List more of them in "required".`,
    );
  }
}
