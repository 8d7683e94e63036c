import { describe, expect, it } from "vitest";
import type { GenerationEvent, TokenUsage, ToolUse } from "../../src/engines/engine.js";
import { GenerateContentRequestSchema } from "../../src/gemini/protocol.js";
import { toGenerateRequest } from "../../src/gemini/translate.js";
import { parseBody } from "../../src/route-kit/validate.js";
import { ChatCompletionRequestSchema } from "../../src/openai/protocol.js";
import { chatToGenerateRequest } from "../../src/openai/translate.js";
import { callSchema, extractCalls, isMalformedCall, parseCalls, withToolPrompt } from "../../src/serving/tool-calls.js";

const tools: ToolUse = {
  mode: "AUTO",
  functions: [
    { name: "get_weather", description: "Weather", parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } },
    { name: "get_time", parameters: { type: "object", properties: {}, additionalProperties: false } },
  ],
};
const usage: TokenUsage = { promptTokens: 3, cachedPromptTokens: 0, outputTokens: 1 };
const text = (t: string): GenerationEvent => ({ type: "text", text: t, usage });
const end: GenerationEvent = { type: "end", finishReason: "STOP", usage };

async function run(events: GenerationEvent[], use: ToolUse = tools, malformedCallsEnd = false): Promise<GenerationEvent[]> {
  const out: GenerationEvent[] = [];
  for await (const event of extractCalls((async function* () { yield* events; })(), use, malformedCallsEnd)) out.push(event);
  return out;
}

describe("function calls from a local model's text", () => {
  it("parses one call or an array of calls of declared functions, and nothing else", () => {
    expect(parseCalls('{"name":"get_weather","args":{"city":"Oslo"}}', tools)).toMatchObject([{ name: "get_weather", args: { city: "Oslo" } }]);
    expect(parseCalls('[{"name":"get_time","args":{}},{"name":"get_weather","args":{"city":"A"}}]', tools)?.map((c) => c.name)).toEqual(["get_time", "get_weather"]);
    expect(parseCalls('{"name":"rm_rf","args":{}}', tools)).toBeUndefined();
    expect(parseCalls('{"name":"get_time","args":[1]}', tools)).toBeUndefined();
    expect(parseCalls("{not json", tools)).toBeUndefined();
    expect(parseCalls("[]", tools)).toBeUndefined();
    expect(parseCalls('{"name":"get_time"}', { ...tools, mode: "NONE" })).toBeUndefined();
  });

  it("streams plain text at once and turns a reply that is a call into one calls event", async () => {
    expect((await run([text("Once"), text(" upon"), end])).map((e) => e.type)).toEqual(["text", "text", "end"]);
    const called = await run([text(' {"name": "get_'), text('time", "args": {}}'), end]);
    expect(called.map((e) => e.type)).toEqual(["calls", "end"]);
    // JSON that is not a call is text after all, with nothing lost.
    const notCall = await run([text('{"a":'), text(" 1}"), end]);
    expect(notCall.filter((e) => e.type === "text").map((e) => (e as { text: string }).text).join("")).toBe('{"a": 1}');
  });

  it("tells a failed call (the instruction's shape, broken or naming no declared function) from JSON asked for as data", () => {
    expect(isMalformedCall('{"name": "rm_rf", "args": {}}')).toBe(true);
    expect(isMalformedCall(' [{"name": "get_time", "args": {}}, {"name": "nope"}]')).toBe(true);
    expect(isMalformedCall('{"name": "get_weather", "args": {"city": "Oslo"}')).toBe(true); // a brace short
    expect(isMalformedCall('{"name": "get_time", "args": [1]}')).toBe(true);
    expect(isMalformedCall('{"name": "Ada", "age": 36}')).toBe(false);
    expect(isMalformedCall('{"city": "Oslo"}')).toBe(false);
    expect(isMalformedCall("The name is Ada.")).toBe(false);
  });

  it("with malformedCallsEnd (the Gemini surface), a failed call ends MALFORMED_FUNCTION_CALL with no text; otherwise it is text", async () => {
    const failed = [text('{"name": "rm'), text('_rf", "args": {}}'), end];
    const gemini = await run(failed, tools, true);
    expect(gemini).toEqual([{ type: "end", finishReason: "MALFORMED_FUNCTION_CALL", finishMessage: 'Malformed function call: {"name": "rm_rf", "args": {}}', usage }]);
    const openai = await run(failed, tools, false);
    expect(openai.map((e) => e.type)).toEqual(["text", "text", "end"]);
    expect(openai.at(-1)).toEqual(end);
    // Cut short by the token limit: what was written so far, with MAX_TOKENS.
    const cut = await run([text('{"name": "get_weather", "args": {"ci'), { ...end, finishReason: "MAX_TOKENS" }], tools, true);
    expect(cut.map((e) => e.type)).toEqual(["text", "end"]);
    expect(cut.at(-1)).toMatchObject({ finishReason: "MAX_TOKENS" });
    // Data that happens to have a name, and a valid call, are untouched.
    expect((await run([text('{"name": "Ada", "age": 36}'), end], tools, true)).map((e) => e.type)).toEqual(["text", "end"]);
    expect((await run([text('{"name": "get_time", "args": {}}'), end], tools, true)).map((e) => e.type)).toEqual(["calls", "end"]);
  });

  it("describes callable functions in the system instruction; mode ANY adds the call grammar for the allowed ones", () => {
    const request = { prompt: { systemInstruction: "Be kind.", turns: [{ role: "user" as const, text: "hi" }] }, sampling: {} };
    const auto = withToolPrompt({ ...request, tools });
    expect(auto.prompt.systemInstruction).toMatch(/^Be kind\.\n\nYou can call these functions:\n.*"get_weather"/s);
    expect(auto.sampling.constraint).toBeUndefined();
    const any = withToolPrompt({ ...request, tools: { ...tools, mode: "ANY", allowed: ["get_time"] } });
    expect(any.sampling.constraint).toEqual({ kind: "json-schema", schema: callSchema({ ...tools, allowed: ["get_time"] }) });
    expect(JSON.stringify(any.sampling.constraint)).not.toContain("get_weather");
    expect(withToolPrompt({ ...request, tools: { ...tools, mode: "NONE" } })).toEqual({ ...request, tools: { ...tools, mode: "NONE" } });
  });
});

describe("tools on both wires become one ToolUse", () => {
  it("Gemini: functionDeclarations + toolConfig, and function parts replayed as text", () => {
    const body = parseBody(GenerateContentRequestSchema, {
      contents: [
        { role: "user", parts: [{ text: "Weather?" }] },
        { role: "model", parts: [{ function_call: { name: "get_weather", args: { city: "Oslo" } } }] },
        { role: "function", parts: [{ functionResponse: { name: "get_weather", response: { t: 3 } } }] },
      ],
      tools: [{ function_declarations: [{ name: "get_weather", parameters: { type: "OBJECT", properties: { city: { type: "STRING" } } } }] }],
      tool_config: { function_calling_config: { mode: "ANY", allowed_function_names: ["get_weather"] } },
    });
    const request = toGenerateRequest(body);
    expect(request.tools).toEqual({
      mode: "ANY",
      allowed: ["get_weather"],
      functions: [
        {
          name: "get_weather",
          description: undefined,
          parameters: { type: "object", properties: { city: { type: "string" } }, required: [] },
          declaredParameters: { type: "OBJECT", properties: { city: { type: "STRING" } } },
        },
      ],
    });
    // The text engines without structured calls read; the call and its result also as parts, paired by id.
    expect(request.prompt.turns.map(({ role, text }) => ({ role, text }))).toEqual([
      { role: "user", text: "Weather?" },
      { role: "model", text: '{"name":"get_weather","args":{"city":"Oslo"}}' },
      { role: "user", text: 'Result of get_weather: {"t":3}' },
    ]);
    const [, call, result] = request.prompt.turns;
    expect(call?.parts).toEqual([{ type: "call", id: "call_000000001", name: "get_weather", args: { city: "Oslo" } }]);
    expect(result?.parts).toEqual([{ type: "result", id: "call_000000001", name: "get_weather", response: { t: 3 } }]);
  });

  it("OpenAI: tools + tool_choice, assistant tool_calls and tool results", () => {
    const body = parseBody(ChatCompletionRequestSchema, {
      model: "m",
      messages: [
        { role: "user", content: "Weather?" },
        { role: "assistant", content: null, tool_calls: [{ id: "c1", type: "function", function: { name: "get_weather", arguments: '{"city":"Oslo"}' } }] },
        { role: "tool", tool_call_id: "c1", content: '{"t":3}' },
      ],
      tools: [{ type: "function", function: { name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" } } } } }],
      tool_choice: "required",
      n: 2,
    });
    const request = chatToGenerateRequest(body);
    expect(request.tools?.mode).toBe("ANY");
    expect(request.candidateCount).toBe(2);
    expect(request.prompt.turns.map((t) => t.text)).toEqual(["Weather?", '{"name":"get_weather","args":{"city":"Oslo"}}', 'Result of get_weather: {"t":3}']);
  });
});
