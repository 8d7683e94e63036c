import path from "node:path";
import { GoogleGenAI } from "@google/genai";
import { describe, expect, it } from "vitest";
import type { GenerationEvent } from "../../src/engines/engine.js";
import { collectResponse, toResponseChunks } from "../../src/gemini/response-stream.js";
import { modelsDir, useGeminiServer } from "../support/server.js";

/**
 * Our streamed chunks against real ones Google sent. Each real chunk below is quoted as captured
 * (text shortened; the key paths are what is compared):
 *  - a gemini-2.5-flash-lite stream without thinking, in Drunk-Dream/gemini-balance, record.md
 *    (responseId P5LPaI6_LYbhz7IPkcnKwA4): promptTokensDetails on every chunk, no
 *    candidatesTokensDetails (gemini-2.0-flash sent that on its last chunk only; 2.5 models do not);
 *  - a gemini-2.5-flash stream with thinking, recorded as a fixture of a Go upstream's test
 *    (responseId jHIPaZKcEoOR0-kPxMfy0Ag, found through the code index): thought chunks carry
 *    thoughtsTokenCount and no candidatesTokenCount, the answer chunk both, and the total is
 *    prompt + candidates + thoughts (2 + 7 + 344 = 353).
 */
const REAL_PLAIN_CHUNK = `{"candidates": [{"content": {"parts": [{"text": "AI is like a smart computer"}],"role": "model"},"index": 0}],"usageMetadata": {"promptTokenCount": 11,"candidatesTokenCount": 17,"totalTokenCount": 28,"promptTokensDetails": [{"modality": "TEXT","tokenCount": 11}]},"modelVersion": "gemini-2.5-flash-lite","responseId": "P5LPaI6_LYbhz7IPkcnKwA4"}`;
const REAL_THOUGHT_CHUNK = `{"candidates": [{"content": {"parts": [{"text": "**Considering First Interactions**\\n\\n","thought": true}],"role": "model"},"index": 0}],"usageMetadata": {"promptTokenCount": 2,"totalTokenCount": 73,"promptTokensDetails": [{"modality": "TEXT","tokenCount": 2}],"thoughtsTokenCount": 71},"modelVersion": "gemini-2.5-flash","responseId": "jHIPaZKcEoOR0-kPxMfy0Ag"}`;
const REAL_ANSWER_CHUNK = `{"candidates": [{"content": {"parts": [{"text": "Hi there! How can I help you today?"}],"role": "model"},"finishReason": "STOP","index": 0}],"usageMetadata": {"promptTokenCount": 2,"candidatesTokenCount": 7,"totalTokenCount": 353,"promptTokensDetails": [{"modality": "TEXT","tokenCount": 2}],"thoughtsTokenCount": 344},"modelVersion": "gemini-2.5-flash","responseId": "jHIPaZKcEoOR0-kPxMfy0Ag"}`;

/** Every path to a leaf, arrays as [] ("usageMetadata.promptTokensDetails[].modality"). */
function keyPaths(value: unknown, prefix = ""): string[] {
  if (Array.isArray(value)) return [...new Set(value.flatMap((item) => keyPaths(item, `${prefix}[]`)))].sort();
  if (value !== null && typeof value === "object") {
    return Object.entries(value).flatMap(([key, item]) => keyPaths(item, prefix ? `${prefix}.${key}` : key)).sort();
  }
  return [prefix];
}

const usage = (outputTokens: number, thoughtTokens?: number) => ({ promptTokens: 2, cachedPromptTokens: 0, outputTokens, ...(thoughtTokens === undefined ? {} : { thoughtTokens }) });

async function* events(list: GenerationEvent[]): AsyncGenerator<GenerationEvent> {
  for (const event of list) yield event;
}

const identity = { modelVersion: "m", responseId: "r" };

async function chunksOf(list: GenerationEvent[], includeThoughts: boolean) {
  const out = [];
  for await (const chunk of toResponseChunks(events(list), identity, 0, { includeThoughts })) out.push(JSON.parse(JSON.stringify(chunk)));
  return out;
}

const thinkingReply: GenerationEvent[] = [
  { type: "start", usage: usage(0) },
  { type: "thought", text: "Considering", usage: usage(0, 1) },
  { type: "thought", text: " a greeting", usage: usage(0, 3) },
  { type: "text", text: "Hi there!", usage: usage(3, 3) },
  { type: "text", text: " How can I help?", usage: usage(7, 3) },
  { type: "end", finishReason: "STOP", usage: usage(7, 3) },
];

describe("usageMetadata against real Gemini chunks", () => {
  it("a chunk without thinking has the key paths of Google's", async () => {
    const plain = thinkingReply.filter((e) => e.type !== "thought").map((e) => ({ ...e, usage: { ...e.usage, thoughtTokens: undefined } })) as GenerationEvent[];
    const chunks = await chunksOf(plain, false);
    expect(keyPaths(chunks[0])).toEqual(keyPaths(JSON.parse(REAL_PLAIN_CHUNK)));
  });

  it("a thought chunk and an answer chunk have the key paths of Google's; the answer's last part adds the signature", async () => {
    const chunks = await chunksOf(thinkingReply, true);
    const thought = chunks.find((c) => c.candidates[0].content.parts[0].thought);
    expect(keyPaths(thought)).toEqual(keyPaths(JSON.parse(REAL_THOUGHT_CHUNK)));
    const last = chunks.at(-1);
    // Google's 2.5 streams leave the signature out of a turn without calls; Gemini 3 puts it on the last part, as we do.
    expect(keyPaths(last)).toEqual([...keyPaths(JSON.parse(REAL_ANSWER_CHUNK)), "candidates[].content.parts[].thoughtSignature"].sort());
    expect(last.usageMetadata).toEqual({ promptTokenCount: 2, candidatesTokenCount: 7, totalTokenCount: 12, promptTokensDetails: [{ modality: "TEXT", tokenCount: 2 }], thoughtsTokenCount: 3 });
  });

  it("thoughtsTokenCount is on every chunk once thoughts started, whether or not they are shown", async () => {
    for (const includeThoughts of [true, false]) {
      const chunks = await chunksOf(thinkingReply, includeThoughts);
      for (const chunk of chunks) {
        expect(chunk.usageMetadata.thoughtsTokenCount).toBeGreaterThan(0);
        expect(chunk.usageMetadata.totalTokenCount).toBe(2 + (chunk.usageMetadata.candidatesTokenCount ?? 0) + chunk.usageMetadata.thoughtsTokenCount);
      }
      expect(chunks.some((c) => c.candidates[0].content.parts.some((p: { thought?: boolean }) => p.thought))).toBe(includeThoughts);
    }
  });

  it("the whole response counts the same way", async () => {
    const whole = JSON.parse(JSON.stringify(await collectResponse([events(thinkingReply)], identity, { includeThoughts: true })));
    expect(whole.usageMetadata).toEqual({ promptTokenCount: 2, candidatesTokenCount: 7, totalTokenCount: 12, promptTokensDetails: [{ modality: "TEXT", tokenCount: 2 }], thoughtsTokenCount: 3 });
    expect(whole.candidates[0].content.parts.map((p: { thought?: boolean }) => Boolean(p.thought))).toEqual([true, false]);
  });
});

describe("a local model's stream", () => {
  const live = useGeminiServer({ models: [`stories=${path.join(modelsDir(), "stories260K.gguf")}`, `smol=${path.join(modelsDir(), "SmolLM2-135M-Instruct.Q4_1.gguf")}`] });
  it.each(["stories", "smol"])("%s: promptTokensDetails on every chunk, and no thought fields from a model that does not think", async (model) => {
    const ai: GoogleGenAI = live.ai;
    const chunks = [];
    const stream = await ai.models.generateContentStream({ model, contents: "Once upon a time", config: { maxOutputTokens: 12, thinkingConfig: { includeThoughts: true, thinkingBudget: 128 } } });
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks.length).toBeGreaterThan(1);
    for (const chunk of chunks) {
      expect(chunk.usageMetadata?.promptTokensDetails).toEqual([{ modality: "TEXT", tokenCount: chunk.usageMetadata?.promptTokenCount }]);
      expect(chunk.usageMetadata?.thoughtsTokenCount).toBeUndefined();
      expect(chunk.candidates?.[0]?.content?.parts?.some((p) => p.thought || p.thoughtSignature)).toBeFalsy();
    }
  });
});
