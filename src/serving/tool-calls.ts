import { callableFunctions, newCallId } from "../engines/tool-use.js";
import type { FunctionCall, GenerateRequest, GenerationEvent, ToolCallFormat, ToolUse } from "../engines/engine.js";
import { invalidArgument } from "../base/api-error.js";
import type { JsonSchema } from "../engines/engine.js";


/**
 * Function calling for engines without their own tool support (local GGUF models): the
 * declarations are described in the system instruction, a call is a JSON object
 * `{"name": …, "args": {…}}` (or an array of them) written as the whole reply, and in mode ANY
 * a grammar built from the declarations forces exactly such a call with valid arguments.
 * Both wire surfaces use this one format, in prompts and in replayed history.
 */

/** The arguments schema of a function declared without parameters: it takes none. */
export const NO_PARAMETERS: JsonSchema = { type: "object", properties: {}, additionalProperties: false };



/** Checks a tool set once, at the edge: unique names, allowed names that exist. */
export function checkToolUse(tools: ToolUse, where: string): ToolUse {
  const names = new Set<string>();
  for (const f of tools.functions) {
    if (!/^[A-Za-z_][A-Za-z0-9_.:-]{0,63}$/.test(f.name)) {
      throw invalidArgument(`${where}: function name "${f.name}" must start with a letter or an underscore and hold only a-z, A-Z, 0-9, _, ., : and - (at most 64).`);
    }
    if (names.has(f.name)) throw invalidArgument(`${where}: function "${f.name}" is declared twice.`);
    names.add(f.name);
  }
  for (const name of tools.allowed ?? []) {
    if (!names.has(name)) throw invalidArgument(`${where}: allowed function "${name}" is not declared.`);
  }
  if (tools.mode === "ANY" && names.size === 0) throw invalidArgument(`${where}: mode ANY needs at least one function declaration.`);
  return tools;
}

/** The JSON text a call is written as, by the model and in replayed history. */
export const callText = (calls: Pick<FunctionCall, "name" | "args">[]): string =>
  JSON.stringify(calls.length === 1 ? { name: calls[0]!.name, args: calls[0]!.args } : calls.map(({ name, args }) => ({ name, args })));

/** A function's result as replayed to the model (OpenAI's tool messages hold it as text already). */
export const resultText = (name: string, response: unknown): string =>
  `Result of ${name}: ${typeof response === "string" ? response : JSON.stringify(response ?? null)}`;

function toolInstruction(tools: ToolUse): string {
  const functions = callableFunctions(tools);
  const listing = functions.map((f) => JSON.stringify({ name: f.name, description: f.description ?? "", parameters: f.declaredParameters ?? f.parameters })).join("\n");
  const how = 'To call a function, reply with only a JSON object {"name": FUNCTION_NAME, "args": ARGUMENTS} (or a JSON array of such objects to call several).';
  const when = tools.mode === "ANY" ? "You must call one of these functions now." : "Call a function when it helps; otherwise answer in plain text.";
  return `You can call these functions:\n${listing}\n${how}\n${when}`;
}

/** The grammar's schema in mode ANY: one call of an allowed function with arguments matching its declaration. */
export function callSchema(tools: ToolUse): JsonSchema {
  return {
    oneOf: callableFunctions(tools).map((f) => ({
      type: "object",
      properties: { name: { const: f.name }, args: f.parameters },
      required: ["name", "args"],
      additionalProperties: false,
    })),
  };
}

/**
 * What a local engine is asked: the declarations in the system instruction, and in mode ANY the
 * call grammar; for a model with its own call format (`format`), the declarations for the engine
 * to render in that format, and in mode ANY a call in it.
 */
export function withToolPrompt(request: GenerateRequest, format?: ToolCallFormat): GenerateRequest {
  const tools = request.tools;
  const functions = tools ? callableFunctions(tools) : [];
  if (!tools || functions.length === 0) return request;
  if (format) {
    const sampling = tools.mode === "ANY" ? { ...request.sampling, constraint: { kind: "function-call" as const, functions } } : request.sampling;
    return { ...request, prompt: { ...request.prompt, functions }, sampling };
  }
  const system = [request.prompt.systemInstruction, toolInstruction(tools)].filter(Boolean).join("\n\n");
  const sampling = tools.mode === "ANY" ? { ...request.sampling, constraint: { kind: "json-schema" as const, schema: callSchema(tools) } } : request.sampling;
  return { ...request, prompt: { ...request.prompt, systemInstruction: system }, sampling };
}

/** The reply as calls, when it is exactly a call (or several) of callable functions, in `format` or as the fallback's JSON. */
export function parseCalls(text: string, tools: ToolUse, format?: ToolCallFormat): FunctionCall[] | undefined {
  if (format) return parseFormattedCalls(text, tools, format);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  const names = new Set(callableFunctions(tools).map((f) => f.name));
  const items = Array.isArray(value) ? value : [value];
  if (items.length === 0) return undefined;
  const calls: FunctionCall[] = [];
  for (const item of items) {
    const { name, args } = (item ?? {}) as { name?: unknown; args?: unknown };
    if (typeof name !== "string" || !names.has(name)) return undefined;
    if (args !== undefined && (typeof args !== "object" || args === null || Array.isArray(args))) return undefined;
    calls.push({ id: newCallId(), name, args: (args ?? {}) as Record<string, unknown> });
  }
  return calls;
}

/** Where a reply in `format` that is a call begins. */
const callOpening = (format: ToolCallFormat): string => ((format.sectionPrefix ?? "") + format.prefix).trimStart();

/**
 * `text` with `expected` read off its start; a text that ends part-way through `expected` ends
 * there (generation stopped on the special token the model's suffix ends with). Undefined: no match.
 */
function readOff(text: string, expected: string): string | undefined {
  if (text.startsWith(expected)) return text.slice(expected.length);
  return expected.startsWith(text) ? "" : undefined;
}

/** The length of the JSON object at the start of `text`, or -1 when it is not one. */
function jsonObjectLength(text: string): number {
  if (text[0] !== "{") return -1;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === "\\") i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === "{" || c === "[") depth++;
    else if (c === "}" || c === "]") {
      if (--depth === 0) return i + 1;
    }
  }
  return -1;
}

/** Calls written in a model's own format (see ToolCallFormat): prefix NAME paramsPrefix {ARGS} suffix, repeated. */
function parseFormattedCalls(text: string, tools: ToolUse, format: ToolCallFormat): FunctionCall[] | undefined {
  const names = new Set(callableFunctions(tools).map((f) => f.name));
  let rest: string | undefined = text.trim();
  if (format.sectionPrefix && rest.startsWith(format.sectionPrefix)) rest = rest.slice(format.sectionPrefix.length);
  const calls: FunctionCall[] = [];
  while (rest !== undefined && rest.trim() !== "") {
    rest = readOff(rest.trimStart(), format.prefix.trimStart());
    if (!rest) return undefined;
    const nameEnd = rest.indexOf(format.paramsPrefix);
    if (nameEnd < 0) return undefined;
    const name = rest.slice(0, nameEnd).trim();
    if (!names.has(name)) return undefined;
    rest = rest.slice(nameEnd + format.paramsPrefix.length).trimStart();
    const length = jsonObjectLength(rest);
    if (length < 0) return undefined;
    let args: unknown;
    try {
      args = JSON.parse(rest.slice(0, length));
    } catch {
      return undefined;
    }
    calls.push({ id: newCallId(), name, args: args as Record<string, unknown> });
    rest = readOff(rest.slice(length).trimStart(), format.suffix.trim());
    if (rest !== undefined && format.betweenCalls?.trim()) rest = rest.trimStart().startsWith(format.betweenCalls.trim()) ? rest.trimStart().slice(format.betweenCalls.trim().length) : rest;
    if (rest !== undefined && format.sectionSuffix?.trim()) rest = readOff(rest.trim(), format.sectionSuffix.trim()) ?? rest;
  }
  return rest === undefined || calls.length === 0 ? undefined : calls;
}

/**
 * Whether a reply that is no valid call set out to be one: it begins as the instruction's
 * `{"name": …` (or an array of such), and is either not JSON at all or JSON whose objects hold
 * nothing but `name` and `args`. JSON of another shape (`{"name": "Ada", "age": 36}` asked for
 * as data) is an answer, not a call.
 */
export function isMalformedCall(text: string, format?: ToolCallFormat): boolean {
  if (format) return text.trimStart().startsWith(callOpening(format));
  if (!/^\s*\[?\s*\{\s*"name"\s*:/.test(text)) return false;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return true;
  }
  const items = Array.isArray(value) ? value : [value];
  return items.every((item) => typeof item === "object" && item !== null && !Array.isArray(item) && Object.keys(item).every((key) => key === "name" || key === "args"));
}

/**
 * Turns a reply that is a function call into a `calls` event. Text that starts like JSON is
 * held until the end (it may be a call); any other text streams as it comes. In mode ANY the
 * grammar makes the whole reply a call. A reply that ended by itself as a failed call (an
 * undeclared function, arguments that are no object, broken JSON: see isMalformedCall) is text
 * again, or with `malformedCallsEnd` an end with MALFORMED_FUNCTION_CALL and no text, its
 * `finishMessage` quoting what the model wrote, as Gemini answers. One cut short by the token
 * limit stays text with MAX_TOKENS.
 */
export async function* extractCalls(events: AsyncIterable<GenerationEvent>, tools: ToolUse, malformedCallsEnd = false, format?: ToolCallFormat): AsyncGenerator<GenerationEvent> {
  // A reply that cannot be the start of a call any more streams as text.
  const opening = format ? callOpening(format) : undefined;
  const cannotBeCall = (start: string): boolean =>
    opening === undefined ? start[0] !== "{" && start[0] !== "[" : !opening.startsWith(start) && !start.startsWith(opening);
  const held: Extract<GenerationEvent, { type: "text" }>[] = [];
  let holding = true;
  let seen = "";
  for await (const event of events) {
    if (event.type === "text" && holding) {
      held.push(event);
      seen += event.text;
      const start = seen.trimStart();
      if (start.length > 0 && tools.mode !== "ANY" && cannotBeCall(start)) {
        holding = false;
        yield* held.splice(0);
      }
      continue;
    }
    if (event.type === "end" && holding) {
      const calls = parseCalls(seen, tools, format);
      if (calls) {
        yield { type: "calls", calls, usage: event.usage };
      } else if (malformedCallsEnd && event.finishReason === "STOP" && isMalformedCall(seen, format)) {
        yield { type: "end", finishReason: "MALFORMED_FUNCTION_CALL", finishMessage: `Malformed function call: ${seen.trim()}`, usage: event.usage };
        return;
      } else {
        yield* held;
      }
    }
    yield event;
  }
}
