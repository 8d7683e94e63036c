import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { GenerationEvent } from "../../src/engines/engine.js";
import { RunnerEngine } from "../../src/engines/llama/runner-engine.js";
import { modelsDir } from "../support/server.js";

/** Each event and when it arrived here. */
async function arrivals(engine: RunnerEngine, maxOutputTokens: number): Promise<{ event: GenerationEvent; at: number }[]> {
  const out: { event: GenerationEvent; at: number }[] = [];
  const request = { prompt: { turns: [{ role: "user" as const, text: "Once upon a time" }] }, sampling: { temperature: 0, maxOutputTokens } };
  for await (const event of engine.generate(request)) out.push({ event, at: performance.timeOrigin + performance.now() });
  return out;
}

/** Arrivals less than 0.3 ms apart came in one message. */
const messages = (times: number[]): number => times.filter((t, i) => i === 0 || t - times[i - 1]! > 0.3).length;

describe("runner → server messages", () => {
  let engine: RunnerEngine;
  beforeAll(async () => {
    engine = await RunnerEngine.start({ id: "m", modelPath: path.join(modelsDir(), "stories260K.gguf"), threads: 1, parallel: 1 }, { batchMs: 40 });
  });
  afterAll(() => engine.close());

  it("hold text for the batch window, sending the first two texts and the end at once, each text stamped when it was made", async () => {
    const events = await arrivals(engine, 200);
    const texts = events.filter((e) => e.event.type === "text");
    expect(texts.length).toBeGreaterThan(50);
    const made = texts.map((e) => (e.event as { at?: number }).at!);
    expect(made.every((at, i) => at !== undefined && (i === 0 || at >= made[i - 1]!))).toBe(true);
    for (const [i, text] of texts.entries()) expect(text.at).toBeGreaterThanOrEqual(made[i]!);
    // The first two were sent as they were made, not held for the 40 ms window — the first one too,
    // though this prompt's first piece is "," (one character).
    expect((texts[0]!.event as { text: string }).text).toBe(",");
    expect(texts[0]!.at - made[0]!).toBeLessThan(20);
    expect(texts[1]!.at - made[1]!).toBeLessThan(20);
    // The rest travelled in a few messages, one per 40 ms window, not one per token.
    const generationMs = made.at(-1)! - made[0]!;
    expect(messages(texts.slice(2).map((e) => e.at))).toBeLessThanOrEqual(Math.ceil(generationMs / 40) + 2);
    expect(messages(texts.slice(2).map((e) => e.at))).toBeLessThan(texts.length / 4);
    expect(events.at(-1)!.event.type).toBe("end");
  });
});
