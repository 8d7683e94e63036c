import { GoogleGenAI, type GenerateContentResponse, type Part } from "@google/genai";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../../src/cli/serve.js";
import { ANSWER, startReasoningUpstream, THINKING_MODELS, THOUGHT, type ReasoningUpstream } from "../support/reasoning-upstream.js";
import { startTestServer } from "../support/server.js";

/**
 * Thinking through @google/genai against an upstream that streams reasoning in each dialect
 * (vLLM's and llama-server's `reasoning_content`, the newer `reasoning`): thought parts first and
 * as they are generated, chunk.text only the answer, thoughts counted as Google counts them, and
 * thoughtSignatures that carry a function-calling turn's thoughts to the model's next step.
 */
const DIALECT: Record<(typeof THINKING_MODELS)[number], string> = { "think-vllm": "vllm", "think-llama": "llama-server", "think-reasoning": "openrouter" };
const PACE_MS = 60;

let upstream: ReasoningUpstream;
let front: RunningServer;
let ai: GoogleGenAI;

beforeAll(async () => {
  upstream = await startReasoningUpstream(PACE_MS);
  front = await startTestServer({ upstreams: THINKING_MODELS.map((m) => `${m}=openai:${upstream.url},model=${m},reasoning=${DIALECT[m]}`) });
  ai = new GoogleGenAI({ apiKey: "k", httpOptions: { baseUrl: front.url } });
});
afterAll(async () => {
  await front?.close();
  await upstream?.close();
});

const partsOf = (chunk: GenerateContentResponse): Part[] => chunk.candidates?.[0]?.content?.parts ?? [];

async function stream(model: string, includeThoughts: boolean) {
  const chunks: { chunk: GenerateContentResponse; at: number }[] = [];
  const response = await ai.models.generateContentStream({ model, contents: "What is two and two?", config: { thinkingConfig: { includeThoughts } } });
  for await (const chunk of response) chunks.push({ chunk, at: performance.now() });
  return chunks;
}

describe.each(THINKING_MODELS)("thinking through %s", (model) => {
  it("streams thought parts first and as generated; chunk.text holds only the answer; the total adds up", async () => {
    const chunks = await stream(model, true);
    const kinds = chunks.flatMap(({ chunk }) => partsOf(chunk).filter((p) => p.text).map((p) => (p.thought ? "thought" : "answer")));
    expect(kinds.indexOf("answer")).toBeGreaterThan(kinds.lastIndexOf("thought"));
    const thoughtChunks = chunks.filter(({ chunk }) => partsOf(chunk).some((p) => p.thought));
    expect(thoughtChunks.length).toBeGreaterThan(1); // one per delta, not one at the end
    expect(thoughtChunks.map(({ chunk }) => partsOf(chunk).map((p) => p.text).join("")).join("")).toBe(THOUGHT.join(""));
    expect(chunks.map(({ chunk }) => chunk.text ?? "").join("")).toBe(ANSWER.join(""));
    // As generated: the first thought reached the client before the upstream wrote its first answer token.
    const firstAnswerWritten = upstream.written.find((w) => w.kind === "answer")!.at;
    expect(thoughtChunks[0]!.at).toBeLessThan(firstAnswerWritten);

    const usage = chunks.at(-1)!.chunk.usageMetadata!;
    expect(usage.thoughtsTokenCount).toBe(THOUGHT.length);
    expect(usage.candidatesTokenCount).toBe(ANSWER.length);
    expect(usage.totalTokenCount).toBe(usage.promptTokenCount! + usage.candidatesTokenCount! + usage.thoughtsTokenCount!);
    expect(usage.promptTokensDetails).toEqual([{ modality: "TEXT", tokenCount: usage.promptTokenCount }]);
    // Once thoughts started, every chunk counts them.
    const firstThought = chunks.indexOf(thoughtChunks[0]!);
    for (const { chunk } of chunks.slice(firstThought)) expect(chunk.usageMetadata?.thoughtsTokenCount).toBeGreaterThan(0);
    // A turn without calls has its signature on its last part.
    expect(partsOf(chunks.at(-1)!.chunk).at(-1)?.thoughtSignature).toMatch(/^[A-Za-z0-9+/]+=*$/);
  });

  it("keeps thoughts off the wire without includeThoughts, and still counts them", async () => {
    const chunks = await stream(model, false);
    expect(chunks.flatMap(({ chunk }) => partsOf(chunk)).some((p) => p.thought)).toBe(false);
    expect(chunks.map(({ chunk }) => chunk.text ?? "").join("")).toBe(ANSWER.join(""));
    expect(chunks.at(-1)!.chunk.usageMetadata?.thoughtsTokenCount).toBe(THOUGHT.length);
  });

  it("answers whole with the thought part before the text", async () => {
    const response = await ai.models.generateContent({ model, contents: "What is two and two?", config: { thinkingConfig: { includeThoughts: true } } });
    const parts = partsOf(response);
    expect(parts[0]).toMatchObject({ text: THOUGHT.join(""), thought: true });
    expect(response.text).toBe(ANSWER.join(""));
    expect(parts.at(-1)?.thoughtSignature).toBeTruthy();
    const usage = response.usageMetadata!;
    expect(usage.totalTokenCount).toBe(usage.promptTokenCount! + usage.candidatesTokenCount! + usage.thoughtsTokenCount!);
  });
});

describe("thinking config", () => {
  it("every chunk carries promptTokensDetails when the upstream reports usage as it goes (vLLM's continuous usage)", async () => {
    const chunks = await stream("think-vllm", true);
    for (const { chunk } of chunks) expect(chunk.usageMetadata?.promptTokensDetails?.[0]?.modality).toBe("TEXT");
  });

  it("maps thinkingBudget and thinkingLevel to each dialect's fields", async () => {
    await ai.models.generateContent({ model: "think-vllm", contents: "Hi", config: { thinkingConfig: { thinkingBudget: 0 } } });
    expect(upstream.requests.at(-1)).toMatchObject({ chat_template_kwargs: { enable_thinking: false } });
    await ai.models.generateContent({ model: "think-vllm", contents: "Hi", config: { thinkingConfig: { thinkingBudget: 4096 } } });
    expect(upstream.requests.at(-1)).toMatchObject({ reasoning_effort: "medium", thinking_token_budget: 4096 });
    await ai.models.generateContent({ model: "think-reasoning", contents: "Hi", config: { thinkingConfig: { thinkingLevel: "HIGH" as never } } });
    expect(upstream.requests.at(-1)).toMatchObject({ reasoning: { effort: "high" } });
    await ai.models.generateContent({ model: "think-llama", contents: "Hi" });
    expect(upstream.requests.at(-1)).not.toHaveProperty("reasoning_effort");
  });

  it("thinking off: no thought parts, no thoughtsTokenCount, no signature", async () => {
    const response = await ai.models.generateContent({ model: "think-vllm", contents: "Hi", config: { thinkingConfig: { thinkingBudget: 0, includeThoughts: true } } });
    expect(partsOf(response).some((p) => p.thought || p.thoughtSignature)).toBe(false);
    expect(response.usageMetadata?.thoughtsTokenCount).toBeUndefined();
  });

  it("refuses a budget and a level together, in Google's error shape", async () => {
    const reply = await fetch(`${front.url}/v1beta/models/think-vllm:generateContent`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ contents: [{ parts: [{ text: "Hi" }] }], generationConfig: { thinkingConfig: { thinkingBudget: 10, thinkingLevel: "low" } } }),
    });
    expect(reply.status).toBe(400);
    expect(((await reply.json()) as { error: { status: string } }).error.status).toBe("INVALID_ARGUMENT");
  });
});

describe("signatures", () => {
  const tools = [{ functionDeclarations: [{ name: "get_weather", description: "Weather in a city", parametersJsonSchema: { type: "object", properties: { city: { type: "string" } } } }] }];

  it.each(["stream", "whole"])("survive an SDK chat with function calling (%s): the call's thoughts reach the model's next step", async (mode) => {
    const chat = ai.chats.create({ model: "think-vllm", config: { tools, thinkingConfig: { includeThoughts: true } } });
    const send = async (message: string | Part[]) => {
      if (mode === "whole") return chat.sendMessage({ message });
      let last: GenerateContentResponse | undefined;
      const parts: Part[] = [];
      for await (const chunk of await chat.sendMessageStream({ message })) {
        parts.push(...partsOf(chunk));
        last = chunk;
      }
      return { last: last!, parts };
    };
    const first = await send("What is the weather in Paris?");
    const firstParts = "parts" in first ? first.parts : partsOf(first);
    const call = firstParts.find((p) => p.functionCall);
    expect(call?.functionCall?.name).toBe("get_weather");
    expect(call?.thoughtSignature).toBeTruthy(); // on the first functionCall part, as Google puts it
    expect(firstParts.filter((p) => p.thoughtSignature)).toHaveLength(1);

    const second = await send([{ functionResponse: { name: "get_weather", response: { forecast: "sunny" } } }]);
    const secondParts = "parts" in second ? second.parts : partsOf(second);
    expect(secondParts.filter((p) => !p.thought).map((p) => p.text ?? "").join("")).toBe(ANSWER.join(""));
    // The model's next step got the call's thoughts back, from the signature alone.
    const messages = upstream.requests.at(-1)!.messages as { role: string; reasoning_content?: string }[];
    expect(messages.find((m) => m.role === "assistant")?.reasoning_content).toBe(THOUGHT.join(""));

    // A third step: a new question; the history's earlier thoughts are not given back any more.
    await send("And in Rome?");
    const third = upstream.requests.at(-1)!.messages as { role: string; reasoning_content?: string }[];
    expect(third.some((m) => m.reasoning_content)).toBe(false);
    expect(chat.getHistory().length).toBeGreaterThanOrEqual(6);
  });

  it("accepts foreign and altered signatures without error and gives nothing back for them", async () => {
    const contents = [
      { role: "user", parts: [{ text: "What is the weather in Paris?" }] },
      { role: "model", parts: [{ functionCall: { name: "get_weather", args: { city: "Paris" } }, thoughtSignature: "CiQB0e2Kb6TkudQsDxtD31FVR08uogP/Bg0v09ujrGIhrx9VQ1IK" }] },
      { role: "user", parts: [{ functionResponse: { name: "get_weather", response: { forecast: "sunny" } } }] },
    ];
    const response = await ai.models.generateContent({ model: "think-vllm", contents, config: { tools } });
    expect(response.text).toBe(ANSWER.join(""));
    const messages = upstream.requests.at(-1)!.messages as { reasoning_content?: string }[];
    expect(messages.some((m) => m.reasoning_content)).toBe(false);
  });
});

describe("the OpenAI surface", () => {
  it("streams reasoning as reasoning_content, takes reasoning_effort, and counts reasoning tokens", async () => {
    const openai = new OpenAI({ apiKey: "k", baseURL: `${front.url}/v1` });
    const stream = await openai.chat.completions.create({
      model: "think-reasoning",
      messages: [{ role: "user", content: "What is two and two?" }],
      reasoning_effort: "low",
      stream: true,
      stream_options: { include_usage: true },
    });
    let reasoning = "";
    let content = "";
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const chunk of stream) {
      const delta = chunk.choices[0]?.delta as { content?: string; reasoning_content?: string } | undefined;
      if (delta?.reasoning_content) {
        expect(content).toBe(""); // reasoning first
        reasoning += delta.reasoning_content;
      }
      content += delta?.content ?? "";
      usage = chunk.usage ?? usage;
    }
    expect(reasoning).toBe(THOUGHT.join(""));
    expect(content).toBe(ANSWER.join(""));
    expect(upstream.requests.at(-1)).toMatchObject({ reasoning: { effort: "low" } });
    expect(usage?.completion_tokens).toBe(THOUGHT.length + ANSWER.length);
    expect(usage?.completion_tokens_details?.reasoning_tokens).toBe(THOUGHT.length);

    const whole = await openai.chat.completions.create({ model: "think-llama", messages: [{ role: "user", content: "Hi" }] });
    expect((whole.choices[0]?.message as { reasoning_content?: string }).reasoning_content).toBe(THOUGHT.join(""));
    expect(whole.choices[0]?.message.content).toBe(ANSWER.join(""));
  });
});
