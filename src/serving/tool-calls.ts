import { randomId } from "./random-id.js";
import type { FunctionCall, GenerateRequest, GenerationEvent, ToolUse } from "../engines/engine.js";
import { invalidArgument } from "../http/errors.js";
import type { JsonSchema } from "./output-constraint.js";

/**
 * Function calling for engines without their own tool support (local GGUF models): the
 * declarations are described in the system instruction, a call is a JSON object
 * `{"name": …, "args": {…}}` (or an array of them) written as the whole reply, and in mode ANY
 * a grammar built from the declarations forces exactly such a call with valid arguments.
 * Both wire surfaces use this one format, in prompts and in replayed history.
 */

/** The arguments schema of a function declared without parameters: it takes none. */
export const NO_PARAMETERS: JsonSchema = { type: "object", properties: {}, additionalProperties: false };

/** An id for a function call that came without one. */
export const newCallId = (): string => `call_${randomId(9)}`;

/** The functions the model may call now. */
export function callableFunctions(tools: ToolUse) {
  if (tools.mode === "NONE") return [];
  const allowed = tools.allowed;
  return allowed?.length ? tools.functions.filter((f) => allowed.includes(f.name)) : tools.functions;
}

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
  const listing = functions.map((f) => JSON.stringify({ name: f.name, description: f.description ?? "", parameters: f.parameters })).join("\n");
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

/** What a local engine is asked: the declarations in the system instruction, and in mode ANY the call grammar. */
export function withToolPrompt(request: GenerateRequest): GenerateRequest {
  const tools = request.tools;
  if (!tools || callableFunctions(tools).length === 0) return request;
  const system = [request.prompt.systemInstruction, toolInstruction(tools)].filter(Boolean).join("\n\n");
  const sampling = tools.mode === "ANY" ? { ...request.sampling, constraint: { kind: "json-schema" as const, schema: callSchema(tools) } } : request.sampling;
  return { ...request, prompt: { ...request.prompt, systemInstruction: system }, sampling };
}

/** The reply as calls, when it is exactly a call (or an array of calls) of callable functions. */
export function parseCalls(text: string, tools: ToolUse): FunctionCall[] | undefined {
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

/**
 * Whether a reply that is no valid call set out to be one: it begins as the instruction's
 * `{"name": …` (or an array of such), and is either not JSON at all or JSON whose objects hold
 * nothing but `name` and `args`. JSON of another shape (`{"name": "Ada", "age": 36}` asked for
 * as data) is an answer, not a call.
 */
export function isMalformedCall(text: string): boolean {
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
export async function* extractCalls(events: AsyncIterable<GenerationEvent>, tools: ToolUse, malformedCallsEnd = false): AsyncGenerator<GenerationEvent> {
  const held: Extract<GenerationEvent, { type: "text" }>[] = [];
  let holding = true;
  let seen = "";
  for await (const event of events) {
    if (event.type === "text" && holding) {
      held.push(event);
      seen += event.text;
      const start = seen.trimStart();
      if (start.length > 0 && tools.mode !== "ANY" && start[0] !== "{" && start[0] !== "[") {
        holding = false;
        yield* held.splice(0);
      }
      continue;
    }
    if (event.type === "end" && holding) {
      const calls = parseCalls(seen, tools);
      if (calls) {
        yield { type: "calls", calls, usage: event.usage };
      } else if (malformedCallsEnd && event.finishReason === "STOP" && isMalformedCall(seen)) {
        yield { type: "end", finishReason: "MALFORMED_FUNCTION_CALL", finishMessage: `Malformed function call: ${seen.trim()}`, usage: event.usage };
        return;
      } else {
        yield* held;
      }
    }
    yield event;
  }
}
