import { FunctionCallingConfigMode, type Content, type GenerateContentResponse, type Part } from "@google/genai";
import OpenAI from "openai";
import { describe, expect, it } from "vitest";
import { useGeminiServer } from "../support/server.js";

/**
 * Thinking through @google/genai against a local model: the real chat model (SmolLM2) run through
 * node-llama-cpp's Qwen 3.5 wrapper (`chat-wrapper=qwen3.5`), whose thought opens at the response
 * start, since no reasoning GGUF is small enough for these machines. The model never closes a
 * thought by itself, so every answer here comes after the budget closed it.
 */
const MODEL = "smol-think";
const test = useGeminiServer({ models: [`${MODEL}=SmolLM2-135M-Instruct.Q4_1.gguf,chat-wrapper=qwen3.5`] });

const partsOf = (chunk: GenerateContentResponse): Part[] => chunk.candidates?.[0]?.content?.parts ?? [];
const ASK = "Write a short story about a cat.";

async function stream(thinkingConfig: { includeThoughts: boolean; thinkingBudget: number }) {
  const chunks: GenerateContentResponse[] = [];
  const response = await test.ai.models.generateContentStream({
    model: MODEL,
    contents: ASK,
    config: { thinkingConfig, temperature: 0, maxOutputTokens: 40 },
  });
  for await (const chunk of response) chunks.push(chunk);
  return chunks;
}

describe("a local thinking model through @google/genai", () => {
  it("streams the thought as thought parts until the budget closes it, then the answer; counts them as Google does", async () => {
    const chunks = await stream({ includeThoughts: true, thinkingBudget: 4 });
    const kinds = chunks.flatMap((chunk) => partsOf(chunk).filter((p) => p.text).map((p) => (p.thought ? "thought" : "answer")));
    expect(kinds[0]).toBe("thought");
    expect(kinds.indexOf("answer")).toBeGreaterThan(kinds.lastIndexOf("thought"));
    const answer = chunks.map((chunk) => chunk.text ?? "").join("");
    expect(answer.trim().length).toBeGreaterThan(0);
    expect(answer).not.toMatch(/<\/?think>/);
    const usage = chunks.at(-1)!.usageMetadata!;
    expect(usage.thoughtsTokenCount).toBe(4);
    expect(usage.candidatesTokenCount).toBe(36);
    expect(usage.totalTokenCount).toBe(usage.promptTokenCount! + usage.candidatesTokenCount! + usage.thoughtsTokenCount!);
    expect(chunks.at(-1)!.candidates?.[0]?.finishReason).toBe("MAX_TOKENS");
  });

  it("keeps thoughts off the wire without includeThoughts, and still counts them", async () => {
    const chunks = await stream({ includeThoughts: false, thinkingBudget: 4 });
    expect(chunks.flatMap(partsOf).some((p) => p.thought)).toBe(false);
    expect(chunks.map((chunk) => chunk.text ?? "").join("").trim().length).toBeGreaterThan(0);
    expect(chunks.at(-1)!.usageMetadata!.thoughtsTokenCount).toBe(4);
  });

  it("gives a function-calling step's thoughts back to the model from the turn's thoughtSignature", async () => {
    const tools = [{ functionDeclarations: [{ name: "get_weather", description: "The weather in a city.", parametersJsonSchema: { type: "object", properties: { city: { type: "string" } } } }] }];
    const config = { tools, thinkingConfig: { includeThoughts: true, thinkingBudget: 6 }, temperature: 0, maxOutputTokens: 12, toolConfig: { functionCallingConfig: { mode: FunctionCallingConfigMode.NONE } } };
    const first = await test.ai.models.generateContent({ model: MODEL, contents: "What is the weather in Paris?", config });
    const parts = partsOf(first);
    const thought = parts.filter((p) => p.thought).map((p) => p.text).join("");
    expect(thought.length).toBeGreaterThan(0);
    const signature = parts.at(-1)!.thoughtSignature;
    expect(signature).toBeTruthy();

    // The model's step as a function call carrying that turn's signature, then the call's result.
    const step = (sig?: string): Content[] => [
      { role: "user", parts: [{ text: "What is the weather in Paris?" }] },
      { role: "model", parts: [{ functionCall: { name: "get_weather", args: { city: "Paris" } }, ...(sig ? { thoughtSignature: sig } : {}) }] },
      { role: "user", parts: [{ functionResponse: { name: "get_weather", response: { sky: "sunny" } } }] },
    ];
    const withThoughts = await test.ai.models.generateContent({ model: MODEL, contents: step(signature), config });
    const without = await test.ai.models.generateContent({ model: MODEL, contents: step(), config });
    const foreign = await test.ai.models.generateContent({ model: MODEL, contents: step(Buffer.from("not ours").toString("base64")), config });
    // The thought went into the prompt as the wrapper's thought segment: the prompt grew by at least its tokens.
    const grew = withThoughts.usageMetadata!.promptTokenCount! - without.usageMetadata!.promptTokenCount!;
    expect(grew).toBeGreaterThanOrEqual(first.usageMetadata!.thoughtsTokenCount! - 1);
    // A signature that is not ours is accepted and carries nothing.
    expect(foreign.usageMetadata!.promptTokenCount).toBe(without.usageMetadata!.promptTokenCount);
  });

  it("on the OpenAI surface: reasoning_effort none answers without thinking, and an assistant's reasoning_content reaches the model", async () => {
    const openai = new OpenAI({ apiKey: "k", baseURL: `${test.server.url}/v1` });
    const none = await openai.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: ASK }], reasoning_effort: "none", temperature: 0, max_tokens: 12 });
    expect((none.choices[0]!.message as { reasoning_content?: string }).reasoning_content).toBeUndefined();
    expect(none.choices[0]!.message.content?.trim().length).toBeGreaterThan(0);
    expect(none.usage?.completion_tokens_details?.reasoning_tokens ?? 0).toBe(0);

    // A thought of its own, streamed as reasoning_content (nothing closes it: it is all reasoning up to max_tokens).
    const stream = await openai.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: ASK }], reasoning_effort: "low", temperature: 0, max_tokens: 8, stream: true });
    let reasoning = "";
    for await (const chunk of stream) reasoning += (chunk.choices[0]?.delta as { reasoning_content?: string } | undefined)?.reasoning_content ?? "";
    expect(reasoning.trim().length).toBeGreaterThan(0);

    const history = (reasoning_content?: string) =>
      [
        { role: "user", content: ASK },
        { role: "assistant", content: "Once upon a time,", ...(reasoning_content ? { reasoning_content } : {}) },
      ] as OpenAI.ChatCompletionMessageParam[];
    const withReasoning = await openai.chat.completions.create({ model: MODEL, messages: history(reasoning), reasoning_effort: "none", max_tokens: 1 });
    const without = await openai.chat.completions.create({ model: MODEL, messages: history(), reasoning_effort: "none", max_tokens: 1 });
    expect(withReasoning.usage!.prompt_tokens).toBeGreaterThan(without.usage!.prompt_tokens);
  });
});
