import { describe, expect, it } from "vitest";
import type { GenerationEvent } from "../../src/engines/engine.js";
import { ServerMetrics } from "../../src/serving/metrics.js";
import type { ModelRegistry } from "../../src/models/registry.js";
import { meteredEvents } from "../../src/serving/metered-events.js";

const usage = (outputTokens: number) => ({ promptTokens: 3, cachedPromptTokens: 2, outputTokens });
const metricsText = (metrics: ServerMetrics) => metrics.registry.metrics();
const value = (text: string, line: string) => Number(new RegExp(`^${line.replace(/[{}"]/g, "\\$&")} (\\S+)$`, "m").exec(text)?.[1]);

describe("meteredEvents", () => {
  it("records reuse, time to first token, inter-token gaps and tokens", async () => {
    const metrics = new ServerMetrics({ loaded: [] } as unknown as ModelRegistry);
    const startedAt = performance.now();
    async function* stream(): AsyncGenerator<GenerationEvent> {
      yield { type: "start", usage: usage(0) };
      for (let n = 1; n <= 3; n++) {
        await new Promise((resolve) => setTimeout(resolve, 5));
        yield { type: "text", text: `t${n}`, usage: usage(n) };
      }
      yield { type: "end", finishReason: "STOP", usage: usage(3) };
    }
    const seen: GenerationEvent[] = [];
    for await (const event of meteredEvents(stream(), metrics, "m", startedAt)) seen.push(event);
    expect(seen).toHaveLength(5);
    const text = await metricsText(metrics);
    expect(value(text, 'genai_local_inter_token_latency_seconds_count{model="m"}')).toBe(2);
    expect(value(text, 'genai_local_inter_token_latency_seconds_sum{model="m"}')).toBeGreaterThan(0.008);
    expect(value(text, 'genai_local_time_to_first_token_seconds_count{model="m"}')).toBe(1);
    expect(value(text, 'genai_local_time_to_first_token_seconds_sum{model="m"}')).toBeGreaterThan(0.004);
    expect(value(text, 'genai_local_generated_tokens_total{model="m"}')).toBe(3);
    expect(value(text, 'genai_local_prefix_tokens_reused_total{model="m"}')).toBe(2);
  });

  it("counts a thinking model's thought tokens as generated tokens, and its first thought as the first token", async () => {
    const metrics = new ServerMetrics({ loaded: [] } as unknown as ModelRegistry);
    async function* stream(): AsyncGenerator<GenerationEvent> {
      yield { type: "start", usage: usage(0) };
      yield { type: "thought", text: "hm", usage: { ...usage(0), thoughtTokens: 4 } };
      yield { type: "text", text: "ok", usage: { ...usage(1), thoughtTokens: 4 } };
      yield { type: "end", finishReason: "STOP", usage: { ...usage(1), thoughtTokens: 4 } };
    }
    for await (const _ of meteredEvents(stream(), metrics, "m")) void _;
    const text = await metricsText(metrics);
    expect(value(text, 'genai_local_generated_tokens_total{model="m"}')).toBe(5);
    expect(value(text, 'genai_local_time_to_first_token_seconds_count{model="m"}')).toBe(1);
    expect(value(text, 'genai_local_inter_token_latency_seconds_count{model="m"}')).toBe(1);
  });

  it("measures inter-token gaps by when the engine made each text (`at`), not when a batch of them arrived", async () => {
    const metrics = new ServerMetrics({ loaded: [] } as unknown as ModelRegistry);
    const made = performance.timeOrigin + performance.now() - 100;
    async function* batched(): AsyncGenerator<GenerationEvent> {
      // Five texts made 20 ms apart, delivered together.
      for (let n = 0; n < 5; n++) yield { type: "text", text: "b", usage: usage(1 + n), at: made + 20 * n };
      yield { type: "end", finishReason: "STOP", usage: usage(5) };
    }
    for await (const event of meteredEvents(batched(), metrics, "m")) void event;
    const text = await metricsText(metrics);
    expect(value(text, 'genai_local_inter_token_latency_seconds_count{model="m"}')).toBe(4);
    expect(value(text, 'genai_local_inter_token_latency_seconds_bucket{le="0.01",model="m"}')).toBe(0);
    expect(value(text, 'genai_local_inter_token_latency_seconds_bucket{le="0.025",model="m"}')).toBe(4);
  });

  it("counts the tokens of a stream that is left early", async () => {
    const metrics = new ServerMetrics({ loaded: [] } as unknown as ModelRegistry);
    async function* endless(): AsyncGenerator<GenerationEvent> {
      for (let n = 1; ; n++) yield { type: "text", text: "x", usage: usage(n) };
    }
    let n = 0;
    for await (const event of meteredEvents(endless(), metrics, "m")) if (event.type === "text" && ++n === 7) break;
    expect(value(await metricsText(metrics), 'genai_local_generated_tokens_total{model="m"}')).toBe(7);
  });
});
