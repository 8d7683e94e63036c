import type { z } from "zod";
import { invalidArgument } from "./errors.js";

const camelToSnake = (key: string): string => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

function fieldPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const segment of path) {
    if (typeof segment === "number") out += `[${segment}]`;
    else out += `${out ? "." : ""}${camelToSnake(String(segment))}`;
  }
  return out;
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let value = root;
  for (const segment of path) {
    if (value === null || typeof value !== "object") return undefined;
    const record = value as Record<string, unknown>;
    value = record[String(segment)] ?? record[camelToSnake(String(segment))];
  }
  return value;
}

function describe(issue: z.core.$ZodIssue, body: unknown): string {
  const path = fieldPath(issue.path);
  if (issue.code === "unrecognized_keys") {
    const at = path ? ` at '${path}'` : "";
    return issue.keys.map((key) => `Invalid JSON payload received. Unknown name "${key}"${at}: Cannot find field.`).join("\n");
  }
  if (issue.code === "invalid_type") {
    const received = valueAt(body, issue.path);
    if (received === undefined) return `* ${path || "request"}: required field is missing (expected ${issue.expected}).`;
    return `Invalid value at '${path}' (${issue.expected}), ${JSON.stringify(received)?.slice(0, 100)}`;
  }
  return `Invalid value at '${path}': ${issue.message}`;
}

/** Validates a request body against its wire schema; failures are 400s naming each field. */
export function parseBody<Schema extends z.ZodType>(schema: Schema, body: unknown): z.output<Schema> {
  if (body === undefined || body === null || typeof body !== "object" || Array.isArray(body)) {
    throw invalidArgument("Invalid JSON payload received. Expected a JSON object as the request body.");
  }
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  throw invalidArgument(result.error.issues.map((issue) => describe(issue, body)).join("\n"));
}
