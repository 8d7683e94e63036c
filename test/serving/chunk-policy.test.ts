import { describe, expect, it } from "vitest";
import type { GenerationEvent } from "../../src/engines/engine.js";
import { coalesceText } from "../../src/serving/chunk-policy.js";

const usage = (outputTokens: number) => ({ promptTokens: 3, cachedPromptTokens: 0, outputTokens });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A later event-loop turn (a timer), as the next message from a runner arrives. */
const nextTurn = () => sleep(0);

/** Tokens arriving `gapMs` apart (0: each in a later turn; "burst": all in one turn), then the end. */
async function* tokens(count: number, gapMs: number | "burst"): AsyncGenerator<GenerationEvent> {
  yield { type: "start", usage: usage(0) };
  for (let i = 1; i <= count; i++) {
    if (gapMs === 0) await nextTurn();
    else if (gapMs !== "burst") await sleep(gapMs);
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
  it("merges fast tokens, sends the first at once, and loses nothing", async () => {
    const out = await collect(coalesceText(tokens(100, 0), 10));
    const texts = out.filter((o) => o.event.type === "text");
    expect(texts.length).toBeLessThan(50);
    expect(texts[0]!.event).toMatchObject({ text: "t1 " });
    expect(texts.map((o) => (o.event as { text: string }).text).join("")).toBe(Array.from({ length: 100 }, (_, i) => `t${i + 1} `).join(""));
    expect(texts.at(-1)!.event.usage.outputTokens).toBe(100);
    expect(out.at(-1)!.event.type).toBe("end");
  });

  it("makes texts that arrive in one turn (a runner's batch) one chunk", async () => {
    const out = await collect(coalesceText(tokens(50, "burst"), 10));
    const texts = out.filter((o) => o.event.type === "text");
    expect(texts).toHaveLength(1);
    expect(texts[0]!.event).toMatchObject({ text: Array.from({ length: 50 }, (_, i) => `t${i + 1} `).join(""), usage: usage(50) });
    expect(out.map((o) => o.event.type)).toEqual(["start", "text", "end"]);
  });

  it("sends each token at once when tokens come slower than the window", async () => {
    const out = await collect(coalesceText(tokens(5, 25), 10));
    expect(out.filter((o) => o.event.type === "text")).toHaveLength(5);
  });

  it("flushes held text when the window ends, even if no new token comes", async () => {
    async function* stall(): AsyncGenerator<GenerationEvent> {
      yield { type: "text", text: "a", usage: usage(1) };
      await nextTurn();
      yield { type: "text", text: "b", usage: usage(2) };
      await nextTurn();
      yield { type: "text", text: "c", usage: usage(3) };
      await sleep(200);
      yield { type: "end", finishReason: "STOP", usage: usage(3) };
    }
    const out = await collect(coalesceText(stall(), 10));
    expect(out.map((o) => o.event.type)).toEqual(["text", "text", "text", "end"]);
    expect(out[2]!.at).toBeLessThan(100);
  });

  it("passes everything through unchanged with a window of 0", async () => {
    const out = await collect(coalesceText(tokens(30, "burst"), 0));
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

describe("coalesceText with a reasoning model", () => {
  it("merges thoughts arriving together as it merges text, never a thought with the answer", async () => {
    async function* events(): AsyncGenerator<GenerationEvent> {
      yield { type: "start", usage: usage(0) };
      for (const [type, text] of [["thought", "a"], ["thought", "b"], ["thought", "c"], ["text", "x"], ["text", "y"], ["text", "z"]] as const) {
        yield { type, text, usage: usage(1) };
      }
      yield { type: "end", finishReason: "STOP", usage: usage(6) };
    }
    const out = (await collect(coalesceText(events(), 50))).map(({ event }) => (event.type === "thought" || event.type === "text" ? `${event.type}:${event.text}` : event.type));
    expect(out).toEqual(["start", "thought:abc", "text:xyz", "end"]);
  });
});
