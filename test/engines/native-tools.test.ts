import path from "node:path";
import {
  ChatMLChatWrapper,
  DeepSeekChatWrapper,
  FunctionaryChatWrapper,
  Gemma4ChatWrapper,
  GemmaChatWrapper,
  GeneralChatWrapper,
  getLlama,
  Llama2ChatWrapper,
  Llama3_1ChatWrapper,
  Llama3_2LightweightChatWrapper,
  Llama3ChatWrapper,
  LlamaCompletion,
  LlamaText,
  MistralChatWrapper,
  QwenChatWrapper,
  SeedChatWrapper,
  type ChatWrapper,
} from "node-llama-cpp";
import { describe, expect, it } from "vitest";
import type { FunctionDeclaration, ToolUse } from "../../src/engines/engine.js";
import { GrammarCache } from "../../src/engines/llama/grammar-cache.js";
import { chatModelFunctions, nativeToolCallFormat, prefixRules } from "../../src/engines/llama/native-tools.js";
import { toGrammarSchema } from "../../src/serving/output-constraint.js";
import { extractCalls, parseCalls } from "../../src/serving/tool-calls.js";
import { modelsDir } from "../support/server.js";

const weather: FunctionDeclaration = {
  name: "get_weather",
  description: "The weather forecast for a city.",
  parameters: toGrammarSchema(
    {
      type: "OBJECT",
      properties: { city: { type: "STRING", maxLength: 16, pattern: "^[A-Z]" }, days: { type: "INTEGER", minimum: 1, maximum: 7 } },
      required: ["city", "days"],
    },
    "parameters",
    { advisory: true },
  ),
};
const time: FunctionDeclaration = { name: "get_time", parameters: { type: "object", properties: {}, additionalProperties: false } };
const tools: ToolUse = { functions: [weather, time], mode: "AUTO" };

/** Wrappers of models trained for tools: each has a call syntax of its own. */
const native: [string, () => ChatWrapper][] = [
  ["Llama 3.1", () => new Llama3_1ChatWrapper()],
  ["Llama 3.2 lightweight", () => new Llama3_2LightweightChatWrapper()],
  ["Qwen", () => new QwenChatWrapper()],
  ["Mistral", () => new MistralChatWrapper()],
  ["Functionary", () => new FunctionaryChatWrapper()],
  ["DeepSeek", () => new DeepSeekChatWrapper()],
  ["Seed", () => new SeedChatWrapper()],
  ["Gemma 4", () => new Gemma4ChatWrapper()],
];
/** Wrappers whose models were never trained on a call syntax: the JSON fallback. */
const fallback: [string, () => ChatWrapper][] = [
  ["ChatML", () => new ChatMLChatWrapper()],
  ["Gemma", () => new GemmaChatWrapper()],
  ["Llama 3", () => new Llama3ChatWrapper()],
  ["Llama 2", () => new Llama2ChatWrapper()],
  ["General", () => new GeneralChatWrapper()],
];

/** What a model writes when it calls: the wrapper's own call text, up to the special token that ends generation there. */
function generatedCall(wrapper: ChatWrapper, name: string, params: unknown): string {
  const values = [...LlamaText(wrapper.generateFunctionCall(name, params)).values];
  while (values.length > 0 && typeof values.at(-1) !== "string") values.pop();
  return LlamaText(values).toString();
}

describe("native function calling through node-llama-cpp's chat wrappers", () => {
  it.each(fallback)("%s has no call format of its own: the JSON fallback", (_, make) => {
    expect(nativeToolCallFormat(make())).toBeUndefined();
  });

  it.each(native)("%s: declarations render in the model's prompt, and its own call syntax reads back as calls", (_, make) => {
    const wrapper = make();
    const format = nativeToolCallFormat(wrapper);
    expect(format).toBeDefined();
    const state = wrapper.generateContextState({
      chatHistory: [{ type: "user", text: "What is the weather in Paris?" }, { type: "model", response: [] }],
      availableFunctions: chatModelFunctions([weather, time]),
      documentFunctionParams: true,
    });
    const prompt = state.contextText.toString();
    expect(prompt).toContain("get_weather");
    expect(prompt).toContain("city");

    const one = generatedCall(wrapper, "get_weather", { city: "Paris", days: 2 });
    expect(parseCalls(one, tools, format)).toMatchObject([{ name: "get_weather", args: { city: "Paris", days: 2 } }]);
    // Not a call: prose, an undeclared function, broken arguments.
    expect(parseCalls("It is sunny in Paris.", tools, format)).toBeUndefined();
    expect(parseCalls(generatedCall(wrapper, "delete_everything", {}), tools, format)).toBeUndefined();
    expect(parseCalls(one.replace('"Paris"', '"Paris'), tools, format)).toBeUndefined();
  });

  it("a streamed reply in the model's format becomes one calls event; prose streams as text", async () => {
    const format = nativeToolCallFormat(new QwenChatWrapper())!;
    const reply = generatedCall(new QwenChatWrapper(), "get_weather", { city: "Oslo", days: 1 });
    async function* events(text: string) {
      const usage = { cachedPromptTokens: 0, outputTokens: 1 };
      yield { type: "start" as const, usage };
      for (let i = 0; i < text.length; i += 3) yield { type: "text" as const, text: text.slice(i, i + 3), usage };
      yield { type: "end" as const, finishReason: "STOP" as const, usage };
    }
    const out = [];
    for await (const event of extractCalls(events(reply), tools, true, format)) out.push(event);
    expect(out.map((e) => e.type)).toEqual(["start", "calls", "end"]);
    const prose = [];
    for await (const event of extractCalls(events("Sunny."), tools, true, format)) prose.push(event);
    expect(prose.filter((e) => e.type === "text").map((e) => (e as { text: string }).text).join("")).toBe("Sunny.");
  });

  it("prefixRules renames rules where defined and used, never inside literals or classes", () => {
    const gbnf = 'root ::= "{" ws "\\"root\\"" [a-z ws] rule0\nws ::= [ ]?\nrule0 ::= "x" | ws';
    expect(prefixRules(gbnf, "f0-")).toBe('f0-root ::=  "{" f0-ws "\\"root\\"" [a-z ws] f0-rule0\nf0-ws ::=  [ ]?\nf0-rule0 ::=  "x" | f0-ws');
  });

  it("mode ANY: the call grammar in the model's own format forces a valid call, whatever the model", async () => {
    // stories260K writes stories, never calls; under the grammar (Qwen's and Llama 3.1's formats) it must write one.
    const llama = await getLlama({ gpu: false, build: "never", maxThreads: 1 });
    const model = await llama.loadModel({ modelPath: path.join(modelsDir(), "stories260K.gguf") });
    const context = await model.createContext({ contextSize: 512, threads: 1 });
    try {
      for (const make of [() => new QwenChatWrapper(), () => new Llama3_1ChatWrapper()]) {
        const format = nativeToolCallFormat(make())!;
        const grammars = new GrammarCache(llama, model, format);
        const grammar = await grammars.grammarFor({ kind: "function-call", functions: [weather, time] });
        for (let seed = 0; seed < 3; seed++) {
          const sequence = context.getSequence();
          const completion = new LlamaCompletion({ contextSequence: sequence });
          const text = await completion.generateCompletion("Once upon a time", { grammar, maxTokens: 120, seed, temperature: 1 });
          sequence.dispose();
          const calls = parseCalls(text, tools, format);
          expect(calls, `${format.name}: ${JSON.stringify(text)}`).toHaveLength(1);
          if (calls![0]!.name === "get_weather") {
            expect(typeof calls![0]!.args.city).toBe("string");
            expect((calls![0]!.args.city as string).length).toBeLessThanOrEqual(16);
            expect(Number.isInteger(calls![0]!.args.days)).toBe(true);
          } else {
            expect(calls![0]!.args).toEqual({});
          }
        }
      }
    } finally {
      await context.dispose();
      await model.dispose();
    }
  }, 60_000);
});
