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

/** A body wrong in 100,000 places gets the first few named, not a message of megabytes. */
const MAX_PROBLEMS = 20;

/** A value as quoted in a message: its first 100 characters of JSON. */
function preview(value: unknown): string | undefined {
  try {
    return JSON.stringify(typeof value === "string" ? value.slice(0, 100) : value)?.slice(0, 100);
  } catch {
    // Too deep for JSON.stringify's recursion: a body that skipped the depth guard (json-depth.ts).
    return Array.isArray(value) ? "[…]" : "{…}";
  }
}

function describe(issue: z.core.$ZodIssue, body: unknown): string[] {
  const path = fieldPath(issue.path);
  if (issue.code === "unrecognized_keys") {
    const at = path ? ` at '${path}'` : "";
    return issue.keys.slice(0, MAX_PROBLEMS).map((key) => `Invalid JSON payload received. Unknown name "${key.slice(0, 100)}"${at}: Cannot find field.`);
  }
  if (issue.code === "invalid_type") {
    const received = valueAt(body, issue.path);
    if (received === undefined) return [`* ${path || "request"}: required field is missing (expected ${issue.expected}).`];
    return [`Invalid value at '${path}' (${issue.expected}), ${preview(received)}`];
  }
  return [`Invalid value at '${path}': ${issue.message}`];
}

function problems(issues: readonly z.core.$ZodIssue[], body: unknown): string {
  const lines: string[] = [];
  let total = 0;
  for (const issue of issues) {
    total += issue.code === "unrecognized_keys" ? issue.keys.length : 1;
    if (lines.length < MAX_PROBLEMS) lines.push(...describe(issue, body).slice(0, MAX_PROBLEMS - lines.length));
  }
  if (total > lines.length) lines.push(`(and ${total - lines.length} more problems)`);
  return lines.join("\n");
}

/** Validates a request body against its wire schema; failures are 400s naming each field. */
export function parseBody<Schema extends z.ZodType>(schema: Schema, body: unknown): z.output<Schema> {
  if (body === undefined || body === null || typeof body !== "object" || Array.isArray(body)) {
    throw invalidArgument("Invalid JSON payload received. Expected a JSON object as the request body.");
  }
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  throw invalidArgument(problems(result.error.issues, body));
}
