import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { GenerateRequest, GenerationEvent, ThinkingOptions, TokenUsage } from "../../src/engines/engine.js";
import { LlamaEngine } from "../../src/engines/llama/llama-engine.js";
import { modelsDir } from "../support/server.js";

/**
 * Thinking on real local generation. No reasoning GGUF is small enough to ship with the tests, so
 * the real chat model (SmolLM2, ChatML) is driven through node-llama-cpp's own Qwen 3.5 wrapper
 * (ChatML too, its thought opened at the response start): the engine writes `<think>\n` after the
 * prompt and the model, which never closes a thought by itself, thinks until the budget is spent.
 */
let engine: LlamaEngine;
beforeAll(async () => {
  engine = await LlamaEngine.load({
    id: "smol-thinking",
    modelPath: path.join(modelsDir(), "SmolLM2-135M-Instruct.Q4_1.gguf"),
    threads: 1,
    parallel: 1,
    contextSize: 1024,
    chatWrapper: "qwen3.5",
  });
});
afterAll(async () => engine?.close());

const ask = (thinking: ThinkingOptions, maxOutputTokens = 40, extra: Partial<GenerateRequest> = {}): GenerateRequest => ({
  prompt: { turns: [{ role: "user", text: "Write a short story about a cat." }] },
  sampling: { temperature: 0, maxOutputTokens },
  thinking,
  ...extra,
});

async function run(request: GenerateRequest): Promise<{ events: GenerationEvent[]; thought: string; answer: string; usage: TokenUsage }> {
  const events: GenerationEvent[] = [];
  for await (const event of engine.generate(request)) events.push(event);
  const text = (type: "thought" | "text") => events.flatMap((e) => (e.type === type ? [e.text] : [])).join("");
  const end = events.at(-1)!;
  expect(end.type).toBe("end");
  return { events, thought: text("thought"), answer: text("text"), usage: end.usage };
}

describe("a local model's thought budget", () => {
  it("closes the thought when N tokens are spent, and the model answers after it; usage counts them apart", async () => {
    const { events, thought, answer, usage } = await run(ask({ includeThoughts: true, budget: 4 }));
    expect(thought.length).toBeGreaterThan(0);
    expect(answer.trim().length).toBeGreaterThan(0);
    // Thoughts first, then the answer.
    const kinds = events.filter((e) => e.type === "thought" || e.type === "text").map((e) => e.type);
    expect(kinds.indexOf("text")).toBeGreaterThan(kinds.lastIndexOf("thought"));
    expect(usage.thoughtTokens).toBe(4);
    // The closing suffix the engine wrote is not output: what is counted is what the model generated.
    expect(usage.outputTokens + usage.thoughtTokens!).toBe(40);
    expect(answer).not.toContain("</think>");

    // Without a budget the thought runs on (this model never closes one), and after the same first
    // tokens it goes on otherwise: the answer above came after the model read the closing suffix.
    const unlimited = await run(ask({ includeThoughts: true, budget: -1 }));
    expect(unlimited.answer).toBe("");
    expect(unlimited.usage.thoughtTokens).toBe(40);
    expect(unlimited.usage.outputTokens).toBe(0);
    expect(unlimited.thought.startsWith(thought)).toBe(true);
    const firstWord = answer.trim().split(/\s+/)[0]!;
    expect(unlimited.thought.slice(thought.length).trimStart().startsWith(firstWord)).toBe(false);
  });

  it("a budget of 0 writes an empty thought: all output is answer", async () => {
    const { thought, answer, usage } = await run(ask({ includeThoughts: false, budget: 0 }, 16));
    expect(thought).toBe("");
    expect(answer.trim().length).toBeGreaterThan(0);
    expect(usage.thoughtTokens).toBeUndefined();
  });

  it("output under a grammar (structured output) leaves no room for a thought: the engine writes the empty one", async () => {
    const { thought, answer, usage } = await run(ask({ includeThoughts: true, budget: -1 }, 24, { sampling: { temperature: 0, maxOutputTokens: 24, constraint: { kind: "json" } } }));
    expect(thought).toBe("");
    expect(usage.thoughtTokens).toBeUndefined();
    expect(answer.trimStart()).toMatch(/^[[{"\d]/);
  });

  it("a prompt that ends in a model turn is continued where it stops: no thought is opened or closed after it", async () => {
    const prompt = { turns: [{ role: "user" as const, text: "Write a short story about a cat." }, { role: "model" as const, text: "Once upon a time," }] };
    const size = await engine.countTokens(prompt);
    for (const budget of [0, -1, 4]) {
      const { events } = await run({ prompt, sampling: { temperature: 0, maxOutputTokens: 4 }, thinking: { includeThoughts: true, budget } });
      expect(events[0]!.usage.promptTokens).toBe(size);
    }
  });
});
