import { z } from "zod";

/**
 * Wire JSON objects, validated at the edge. Google's JSON parser takes both lowerCamel and
 * snake_case field names and treats null as absent, so each object level normalises its own
 * keys before it is checked (nested user data is left alone).
 */
const snakeToCamel = (key: string): string => key.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

export function wireObject<Shape extends z.ZodRawShape>(shape: Shape) {
  return z.preprocess((value) => (isWireRecord(value) && needsNormalising(value) ? normalised(value) : value), z.strictObject(shape));
}

const isWireRecord = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === "object" && !Array.isArray(value);

/** Whether an object has a snake_case key or a null field (most bodies have neither: no copy then). */
function needsNormalising(value: Record<string, unknown>): boolean {
  for (const key in value) {
    if (value[key] === null || key.includes("_")) return true;
  }
  return false;
}

function normalised(value: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value)) {
    if (field !== null) out[snakeToCamel(key)] = field;
  }
  return out;
}
