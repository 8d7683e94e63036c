import { FunctionCallingConfigMode, GoogleGenAI, Type, type ApiError as SdkApiError } from "@google/genai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../../src/cli/serve.js";
import { metricValue, startTestServer, waitFor } from "../support/server.js";

// A second genai-local fronts the first through its OpenAI surface, as it would front vLLM.
let engine: RunningServer;
let busyEngine: RunningServer;
let front: RunningServer;

beforeAll(async () => {
  process.env.TEST_UPSTREAM_KEY = "upstream-secret";
  engine = await startTestServer({ apiKeys: ["upstream-secret"] });
  busyEngine = await startTestServer({ parallel: 1, queueSize: 0 });
  front = await startTestServer({
    upstreams: [
      `fronted=openai:${engine.url}/v1,model=stories-260k,key=TEST_UPSTREAM_KEY`,
      `busy=openai:${busyEngine.url}/v1,model=stories-260k`,
      "dead=openai:http://127.0.0.1:9/v1",
    ],
  });
});
afterAll(async () => {
  await front?.close();
  await engine?.close();
  await busyEngine?.close();
});

const sdk = () => new GoogleGenAI({ apiKey: "any", httpOptions: { baseUrl: front.url } });

describe("an OpenAI-compatible engine as upstream", () => {
  it("serves generateContentStream through the front: chunks, finishReason, usage", async () => {
    const chunks = [];
    for await (const chunk of await sdk().models.generateContentStream({
      model: "gemini-2.5-flash",
      contents: "Once upon a time",
      config: { maxOutputTokens: 50 },
    })) {
      chunks.push(chunk);
    }
    expect(chunks.length).toBeGreaterThanOrEqual(2);
    const last = chunks.at(-1)!;
    expect(["STOP", "MAX_TOKENS"]).toContain(last.candidates?.[0]?.finishReason);
    expect(last.text?.length).toBeGreaterThan(0);
    expect(last.usageMetadata?.promptTokenCount).toBeGreaterThan(0);
    expect(last.usageMetadata?.candidatesTokenCount).toBeLessThanOrEqual(50);
    expect(chunks.every((c) => c.modelVersion === "fronted")).toBe(true);
    // The fronted genai-local lists its context as max_model_len, as vLLM does; the front takes it.
    const local = await new GoogleGenAI({ apiKey: "upstream-secret", httpOptions: { baseUrl: engine.url } }).models.get({ model: "stories-260k" });
    expect((await sdk().models.get({ model: "fronted" })).inputTokenLimit).toBe(local.inputTokenLimit);
    expect(local.inputTokenLimit).not.toBe(32_768);
  });

  it("passes function declarations as OpenAI tools and brings tool calls back as functionCall parts; logprobs too", async () => {
    const response = await sdk().models.generateContent({
      model: "fronted",
      contents: "Weather in Oslo?",
      config: {
        tools: [{ functionDeclarations: [{ name: "get_weather", parameters: { type: Type.OBJECT, properties: { city: { type: Type.STRING, maxLength: 12 } }, required: ["city"] } }] }],
        toolConfig: { functionCallingConfig: { mode: FunctionCallingConfigMode.ANY } },
      },
    });
    const call = response.functionCalls?.[0];
    expect(call?.name).toBe("get_weather");
    expect(typeof call?.args?.city).toBe("string");
    expect(response.candidates?.[0]?.finishReason).toBe("STOP");

    const scored = await sdk().models.generateContent({
      model: "fronted",
      contents: "Once upon a time",
      config: { responseLogprobs: true, logprobs: 2, temperature: 0, maxOutputTokens: 6 },
    });
    const result = scored.candidates?.[0]?.logprobsResult;
    expect(result?.chosenCandidates?.map((c) => c.token).join("")).toBe(scored.text);
    expect(result?.topCandidates?.[0]?.candidates).toHaveLength(2);
  });

  it("propagates an abort: the upstream's active streams go back to 0", async () => {
    const controller = new AbortController();
    let seen = 0;
    try {
      for await (const _chunk of await sdk().models.generateContentStream({
        model: "fronted",
        contents: "Once upon a time",
        config: { maxOutputTokens: 1900, abortSignal: controller.signal },
      })) {
        if (++seen === 3) {
          expect(await metricValue(engine.url, "genai_local_active_streams")).toBe(1);
          controller.abort();
        }
      }
    } catch {
      // aborted by design
    }
    await waitFor(async () => (await metricValue(engine.url, "genai_local_active_streams")) === 0, 1000);
    await waitFor(async () => (await metricValue(front.url, "genai_local_active_streams")) === 0, 1000);
  });

  it("maps a dead upstream to 503 UNAVAILABLE and an overloaded one to 429, in Google's shape", async () => {
    const dead = await sdk().models.generateContent({ model: "dead", contents: "hi" }).catch((e: unknown) => e);
    expect((dead as SdkApiError).status).toBe(503);
    expect((dead as Error).message).toContain("UNAVAILABLE");

    const blocker = fetch(`${busyEngine.url}/v1beta/models/stories-260k:streamGenerateContent?alt=sse`, {
      method: "POST",
      body: JSON.stringify({ contents: [{ parts: [{ text: "Once" }] }], generationConfig: { maxOutputTokens: 1500 } }),
    });
    const blocking = await blocker;
    await waitFor(async () => (await metricValue(busyEngine.url, "genai_local_active_streams")) === 1);
    const busy = await sdk().models.generateContent({ model: "busy", contents: "hi" }).catch((e: unknown) => e);
    expect((busy as SdkApiError).status).toBe(429);
    expect((busy as Error).message).toContain("RESOURCE_EXHAUSTED");
    await blocking.body?.cancel();
  });
});
