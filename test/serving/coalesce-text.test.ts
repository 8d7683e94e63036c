import { describe, expect, it } from "vitest";
import type { GenerationEvent } from "../../src/engines/engine.js";
import { coalesceText } from "../../src/serving/coalesce-text.js";

const usage = (outputTokens: number) => ({ promptTokens: 3, cachedPromptTokens: 0, outputTokens });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Tokens arriving `gapMs` apart, then the end. */
async function* tokens(count: number, gapMs: number): AsyncGenerator<GenerationEvent> {
  yield { type: "start", usage: usage(0) };
  for (let i = 1; i <= count; i++) {
    if (gapMs) await sleep(gapMs);
    yield { type: "text", text: `t${i} `, usage: usage(i) };
  }
  yield { type: "end", finishReason: "STOP", usage: usage(count) };
}

async function collect(events: AsyncIterable<GenerationEvent>) {
  const out: { event: GenerationEvent; at: number }[] = [];
  const t0 = performance.now();
  for await (const event of events) out.push({ event, at: performance.now() - t0 });
  return out;
}

describe("coalesceText", () => {
  it("merges a burst of tokens, sends the first at once, and loses nothing", async () => {
    const out = await collect(coalesceText(tokens(200, 0), 10));
    const texts = out.filter((o) => o.event.type === "text");
    expect(texts.length).toBeLessThan(20);
    expect(texts[0]!.event).toMatchObject({ text: "t1 " });
    expect(texts.map((o) => (o.event as { text: string }).text).join("")).toBe(Array.from({ length: 200 }, (_, i) => `t${i + 1} `).join(""));
    expect(texts.at(-1)!.event.usage.outputTokens).toBe(200);
    expect(out.at(-1)!.event.type).toBe("end");
  });

  it("sends each token at once when tokens come slower than the window", async () => {
    const out = await collect(coalesceText(tokens(5, 25), 10));
    expect(out.filter((o) => o.event.type === "text")).toHaveLength(5);
  });

  it("flushes held text when the window ends, even if no new token comes", async () => {
    async function* stall(): AsyncGenerator<GenerationEvent> {
      yield { type: "text", text: "a", usage: usage(1) };
      yield { type: "text", text: "b", usage: usage(2) };
      await sleep(200);
      yield { type: "end", finishReason: "STOP", usage: usage(2) };
    }
    const out = await collect(coalesceText(stall(), 10));
    expect(out.map((o) => o.event.type)).toEqual(["text", "text", "end"]);
    expect(out[1]!.at).toBeLessThan(100);
  });

  it("passes everything through unchanged with a window of 0", async () => {
    const out = await collect(coalesceText(tokens(30, 0), 0));
    expect(out.filter((o) => o.event.type === "text")).toHaveLength(30);
  });
});

describe("coalesceText and time to first token", () => {
  it("sends the first two texts at once, so the Gemini surface's first chunk is not held for a window", async () => {
    const out = await collect(coalesceText(tokens(3, 15), 50));
    const texts = out.filter((o) => o.event.type === "text");
    expect(texts.map((o) => (o.event as { text: string }).text).slice(0, 2)).toEqual(["t1 ", "t2 "]);
    expect(texts[1]!.at).toBeLessThan(texts[0]!.at + 40);
  });
});
