import { FunctionCallingConfigMode, GoogleGenAI, Type, type CallableTool, type FunctionCall, type Part } from "@google/genai";
import { Ajv } from "ajv";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../../src/cli/serve.js";
import { CHAT_MODEL, CHAT_MODEL_ID, startTestServer } from "../support/server.js";

// The judges on a real instruction-tuned chat model (SmolLM2-135M-Instruct, ChatML): what only a
// chat model shows — its template applied, its end of turn read as STOP, history reaching it.
let server: RunningServer;
let ai: GoogleGenAI;
let openai: OpenAI;

beforeAll(async () => {
  server = await startTestServer({ models: [CHAT_MODEL], parallel: 2 });
  ai = new GoogleGenAI({ apiKey: "k", httpOptions: { baseUrl: server.url } });
  openai = new OpenAI({ apiKey: "k", baseURL: `${server.url}/v1` });
});
afterAll(async () => server?.close());

const MARKERS = /<\|im_(start|end)\|>|<\/?s>|<\|endoftext\|>/;
const greedy = { temperature: 0, seed: 1 };

describe("a real chat model through @google/genai", () => {
  it("ends a natural reply with STOP well under the limit, streamed and whole, with no template marker in the text", async () => {
    const whole = await ai.models.generateContent({ model: "gemini-2.5-flash", contents: "Say hello.", config: greedy });
    expect(whole.candidates?.[0]?.finishReason).toBe("STOP");
    expect(whole.usageMetadata?.candidatesTokenCount).toBeGreaterThan(0);
    expect(whole.usageMetadata?.candidatesTokenCount).toBeLessThan(200);
    expect(whole.text).not.toMatch(MARKERS);
    expect(whole.modelVersion).toBe(CHAT_MODEL_ID);

    const chunks = [];
    for await (const chunk of await ai.models.generateContentStream({ model: "gemini-3-flash-preview", contents: "Say hello.", config: greedy })) chunks.push(chunk);
    expect(chunks.at(-1)?.candidates?.[0]?.finishReason).toBe("STOP");
    expect(chunks.slice(0, -1).every((c) => c.candidates?.[0]?.finishReason === undefined)).toBe(true);
    const text = chunks.map((c) => c.text ?? "").join("");
    expect(text).toBe(whole.text);
    expect(text).not.toMatch(MARKERS);
  });

  it("ends with MAX_TOKENS after exactly maxOutputTokens tokens", async () => {
    const whole = await ai.models.generateContent({ model: "gemini-2.5-flash", contents: "Tell me a long story about a dragon.", config: { ...greedy, maxOutputTokens: 5 } });
    expect(whole.candidates?.[0]?.finishReason).toBe("MAX_TOKENS");
    expect(whole.usageMetadata?.candidatesTokenCount).toBe(5);
    const chunks = [];
    for await (const chunk of await ai.models.generateContentStream({ model: "gemini-2.5-flash", contents: "Tell me a long story about a dragon.", config: { ...greedy, maxOutputTokens: 5 } })) {
      chunks.push(chunk);
    }
    expect(chunks.at(-1)?.candidates?.[0]?.finishReason).toBe("MAX_TOKENS");
    expect(chunks.at(-1)?.usageMetadata?.candidatesTokenCount).toBe(5);
  });

  it("applies the chat template: countTokens equals the prompt tokens generation saw, more than the bare text", async () => {
    const contents = [{ role: "user", parts: [{ text: "What is the capital of France?" }] }];
    const counted = await ai.models.countTokens({ model: CHAT_MODEL_ID, contents });
    const generated = await ai.models.generateContent({ model: CHAT_MODEL_ID, contents, config: { ...greedy, maxOutputTokens: 3 } });
    expect(generated.usageMetadata?.promptTokenCount).toBe(counted.totalTokens);
    // The bare question is 7 tokens in SmolLM2's vocabulary; the template adds its turn markers.
    expect(counted.totalTokens).toBeGreaterThan(7 + 4);
  });

  it("a chat's history reaches the model, and the second turn reuses the first turn's KV prefix", async () => {
    const chat = ai.chats.create({ model: CHAT_MODEL_ID, config: { ...greedy, maxOutputTokens: 40 } });
    const first = await chat.sendMessage({ message: "My name is Ada. Say hi to me." });
    const second = await chat.sendMessage({ message: "What is my name?" });
    const firstUsage = first.usageMetadata!;
    const secondUsage = second.usageMetadata!;
    // Turn 2's prompt holds turn 1's question and answer.
    expect(secondUsage.promptTokenCount).toBeGreaterThan(firstUsage.promptTokenCount! + firstUsage.candidatesTokenCount!);
    expect(secondUsage.cachedContentTokenCount).toBeGreaterThan(firstUsage.promptTokenCount! - 2);
    expect(chat.getHistory(true)).toHaveLength(4);
    for (const content of chat.getHistory(true)) expect(content.parts?.map((p) => p.text ?? "").join("")).not.toMatch(MARKERS);
  });

  it("structured output: a responseSchema gives valid JSON and STOP", async () => {
    const schema = { type: Type.OBJECT, properties: { name: { type: Type.STRING, maxLength: 20 }, age: { type: Type.INTEGER } }, required: ["name", "age"] };
    const response = await ai.models.generateContent({
      model: CHAT_MODEL_ID,
      contents: "Make up a person. Reply in JSON.",
      config: { ...greedy, responseMimeType: "application/json", responseSchema: schema },
    });
    expect(response.candidates?.[0]?.finishReason).toBe("STOP");
    const value = JSON.parse(response.text!);
    expect(new Ajv().validate({ type: "object", properties: { name: { type: "string", maxLength: 20 }, age: { type: "integer" } }, required: ["name", "age"], additionalProperties: false }, value)).toBe(true);
  });

  it("cached contents: a request on a cache reuses its tokens and ends with STOP", async () => {
    const cache = await ai.caches.create({
      model: CHAT_MODEL_ID,
      config: {
        systemInstruction: "You are a helpful assistant who answers in one short sentence.",
        contents: [
          { role: "user", parts: [{ text: "Remember: the password is swordfish." }] },
          { role: "model", parts: [{ text: "I will remember it." }] },
        ],
      },
    });
    try {
      const response = await ai.models.generateContent({ model: CHAT_MODEL_ID, contents: "Say hello.", config: { ...greedy, cachedContent: cache.name, maxOutputTokens: 60 } });
      expect(response.usageMetadata?.cachedContentTokenCount).toBeGreaterThanOrEqual(cache.usageMetadata!.totalTokenCount! - 1);
      expect(["STOP", "MAX_TOKENS"]).toContain(response.candidates?.[0]?.finishReason);
      expect(response.text).not.toMatch(MARKERS);
    } finally {
      await ai.caches.delete({ name: cache.name! });
    }
  });
});

describe("function calling on the chat model, declarations with keywords a grammar cannot enforce", () => {
  const declaration = {
    name: "get_weather",
    description: "The weather forecast for a city.",
    parameters: {
      type: Type.OBJECT,
      title: "WeatherQuery",
      properties: {
        city: { type: Type.STRING, description: "The city", pattern: "^[A-Z].*", maxLength: 20 },
        days: { type: Type.INTEGER, minimum: 1, maximum: 7, default: 1 },
      },
      required: ["city", "days"],
    },
  };
  const validArgs = new Ajv().compile({ type: "object", properties: { city: { type: "string", maxLength: 20 }, days: { type: "integer" } }, required: ["city", "days"], additionalProperties: false });

  it("AUTO streams normally (no 400 for minimum, pattern, title, default)", async () => {
    const chunks = [];
    for await (const chunk of await ai.models.generateContentStream({
      model: CHAT_MODEL_ID,
      contents: "What is the weather in Paris?",
      config: { ...greedy, maxOutputTokens: 60, tools: [{ functionDeclarations: [declaration] }] },
    })) {
      chunks.push(chunk);
    }
    const last = chunks.at(-1)!;
    expect(["STOP", "MAX_TOKENS", "MALFORMED_FUNCTION_CALL"]).toContain(last.candidates?.[0]?.finishReason);
    const calls = chunks.flatMap((c) => c.functionCalls ?? []);
    for (const call of calls) expect(validArgs(call.args)).toBe(true);
  });

  it("ANY produces a valid call; the SDK's automatic function calling loop runs it and answers", async () => {
    const invoked: FunctionCall[] = [];
    const tool: CallableTool = {
      tool: async () => ({ functionDeclarations: [declaration] }),
      callTool: async (calls: FunctionCall[]): Promise<Part[]> => {
        invoked.push(...calls);
        return calls.map((call) => ({ functionResponse: { id: call.id, name: call.name!, response: { forecast: "sunny", degrees: 21 } } }));
      },
    };
    const forced = await ai.models.generateContent({
      model: CHAT_MODEL_ID,
      contents: "What is the weather in Paris?",
      config: { ...greedy, tools: [{ functionDeclarations: [declaration] }], toolConfig: { functionCallingConfig: { mode: FunctionCallingConfigMode.ANY } } },
    });
    expect(forced.functionCalls).toHaveLength(1);
    expect(validArgs(forced.functionCalls![0]!.args), JSON.stringify(forced.functionCalls![0]!.args)).toBe(true);

    const chat = ai.chats.create({
      model: CHAT_MODEL_ID,
      config: { ...greedy, maxOutputTokens: 60, tools: [tool], toolConfig: { functionCallingConfig: { mode: FunctionCallingConfigMode.ANY } }, automaticFunctionCalling: { maximumRemoteCalls: 1 } },
    });
    await chat.sendMessage({ message: "What is the weather in Paris?" });
    expect(invoked.length).toBeGreaterThanOrEqual(1);
    expect(validArgs(invoked[0]!.args)).toBe(true);
    const history = chat.getHistory(true);
    expect(history.some((c) => c.parts?.some((p) => p.functionResponse))).toBe(true);
  });
});

describe("a real chat model through the openai SDK", () => {
  it("finish_reason stop on a natural end, length at max_tokens", async () => {
    const natural = await openai.chat.completions.create({ model: CHAT_MODEL_ID, messages: [{ role: "user", content: "Say hello." }], temperature: 0, seed: 1 });
    expect(natural.choices[0]?.finish_reason).toBe("stop");
    expect(natural.usage?.completion_tokens).toBeLessThan(200);
    expect(natural.choices[0]?.message.content).not.toMatch(MARKERS);
    const cut = await openai.chat.completions.create({ model: CHAT_MODEL_ID, messages: [{ role: "user", content: "Tell me a long story." }], max_tokens: 5, temperature: 0 });
    expect(cut.choices[0]?.finish_reason).toBe("length");
    expect(cut.usage?.completion_tokens).toBe(5);

    const stream = await openai.chat.completions.create({ model: CHAT_MODEL_ID, messages: [{ role: "user", content: "Say hello." }], temperature: 0, seed: 1, stream: true });
    const reasons: (string | null | undefined)[] = [];
    for await (const chunk of stream) reasons.push(chunk.choices[0]?.finish_reason);
    expect(reasons.filter(Boolean)).toEqual(["stop"]);
  });
});
