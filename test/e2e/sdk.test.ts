import { GoogleGenAI, ApiError as SdkApiError } from "@google/genai";
import { GoogleGenAI as GoogleGenAIv2 } from "google-genai-v2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../../src/cli/serve.js";
import { metricValue, startTestServer, waitFor } from "../support/server.js";

const KEY = "test-key-1";
const PROMPT = "Tell me a story in 300 words.";
let server: RunningServer;

beforeAll(async () => {
  server = await startTestServer({ apiKeys: [KEY, "test-key-2"] });
});
afterAll(async () => server?.close());

// @google/genai 3.x calls /v1 by default, 2.x and the Python SDK call /v1beta: both are served.
const clients = {
  "v1 (@google/genai 3)": () => new GoogleGenAI({ apiKey: KEY, httpOptions: { baseUrl: server.url } }),
  "v1beta (@google/genai 2)": () =>
    new GoogleGenAIv2({ apiKey: KEY, httpOptions: { baseUrl: server.url } }) as unknown as GoogleGenAI,
};

describe.each(Object.entries(clients))("%s", (_name, makeClient) => {
  it("streams chunks whose texts join to the whole reply, finishReason and usage on the last", async () => {
    const ai = makeClient();
    const stream = await ai.models.generateContentStream({
      model: "gemini-2.5-flash",
      contents: PROMPT,
      config: { maxOutputTokens: 120, seed: 7 },
    });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks.length).toBeGreaterThanOrEqual(2);
    const text = chunks.map((c) => c.text ?? "").join("");
    expect(text.length).toBeGreaterThan(20);
    const last = chunks.at(-1)!;
    expect(["STOP", "MAX_TOKENS"]).toContain(last.candidates?.[0]?.finishReason);
    expect(last.text?.length).toBeGreaterThan(0);
    for (const chunk of chunks.slice(0, -1)) expect(chunk.candidates?.[0]?.finishReason).toBeUndefined();
    const usage = last.usageMetadata!;
    expect(usage.totalTokenCount).toBe(usage.promptTokenCount! + usage.candidatesTokenCount!);
    expect(usage.candidatesTokenCount).toBeGreaterThanOrEqual(chunks.length);
    expect(usage.candidatesTokenCount).toBeLessThanOrEqual(120);
    const ids = new Set(chunks.map((c) => c.responseId));
    expect(ids.size).toBe(1);
    expect(chunks.every((c) => c.modelVersion === "stories-260k")).toBe(true);
    const counts = chunks.map((c) => c.usageMetadata!.candidatesTokenCount!);
    expect(counts).toEqual([...counts].sort((a, b) => a - b));
  });

  it("answers generateContent with one whole response", async () => {
    const response = await makeClient().models.generateContent({
      model: "gemini-3-flash-preview",
      contents: PROMPT,
      config: { maxOutputTokens: 40 },
    });
    expect(response.text?.length).toBeGreaterThan(10);
    expect(["STOP", "MAX_TOKENS"]).toContain(response.candidates?.[0]?.finishReason);
    expect(response.usageMetadata?.candidatesTokenCount).toBeLessThanOrEqual(40);
  });

  it("counts tokens exactly as generation does", async () => {
    const ai = makeClient();
    const contents = [
      { role: "user", parts: [{ text: "Once upon a time there was a cat." }] },
      { role: "model", parts: [{ text: "The cat was happy." }] },
      { role: "user", parts: [{ text: "What did the cat do?" }] },
    ];
    const counted = await ai.models.countTokens({ model: "stories-260k", contents });
    const generated = await ai.models.generateContent({ model: "stories-260k", contents, config: { maxOutputTokens: 5 } });
    expect(counted.totalTokens).toBeGreaterThan(10);
    expect(counted.totalTokens).toBe(generated.usageMetadata?.promptTokenCount);
  });

  it("carries chat history into the second turn", async () => {
    const chat = makeClient().chats.create({ model: "gemini-2.5-flash", config: { maxOutputTokens: 30 } });
    let first = "";
    let firstPrompt = 0;
    for await (const chunk of await chat.sendMessageStream({ message: "Once upon a time" })) {
      first += chunk.text ?? "";
      firstPrompt = chunk.usageMetadata?.promptTokenCount ?? firstPrompt;
    }
    let secondPrompt = 0;
    for await (const chunk of await chat.sendMessageStream({ message: "Then what happened?" })) {
      secondPrompt = chunk.usageMetadata?.promptTokenCount ?? secondPrompt;
    }
    expect(first.length).toBeGreaterThan(0);
    expect(secondPrompt).toBeGreaterThan(firstPrompt + 5);
    // The SDK records each streamed chunk as its own model content; an invalid (empty) chunk
    // would make it drop the turn, so the curated history must still hold both turns.
    const history = chat.getHistory(true);
    const roles = history.map((c) => c.role).filter((role, i, all) => role !== all[i - 1]);
    expect(roles).toEqual(["user", "model", "user", "model"]);
    const firstReply = history.slice(1, history.findIndex((c, i) => i > 0 && c.role === "user"));
    expect(firstReply.flatMap((c) => c.parts ?? []).map((p) => p.text).join("")).toBe(first);
  });

  it("lists and gets models", async () => {
    const ai = makeClient();
    const names: string[] = [];
    for await (const model of await ai.models.list()) names.push(model.name ?? "");
    expect(names).toContain("models/stories-260k");
    const model = await ai.models.get({ model: "stories-260k" });
    expect(model.inputTokenLimit).toBe(2048);
    expect(model.supportedActions ?? (model as { supportedGenerationMethods?: string[] }).supportedGenerationMethods).toContain(
      "streamGenerateContent",
    );
    const alias = await ai.models.get({ model: "models/gemini-2.5-pro" });
    expect(alias.name).toBe("models/gemini-2.5-pro");
  });

  it("stops generation on the server when the client aborts mid-stream", async () => {
    const controller = new AbortController();
    const stream = await makeClient().models.generateContentStream({
      model: "gemini-2.5-flash",
      contents: PROMPT,
      config: { maxOutputTokens: 2000, abortSignal: controller.signal, temperature: 1.5 },
    });
    let seen = 0;
    await expect(
      (async () => {
        for await (const _chunk of stream) {
          if (++seen === 3) controller.abort();
        }
      })(),
    ).rejects.toThrow();
    await waitFor(async () => (await metricValue(server.url, "genai_local_active_streams")) === 0);
  });

  it("rejects a wrong key with 400 API_KEY_INVALID and an unknown model with 404", async () => {
    const wrong = new GoogleGenAI({ apiKey: "nope", httpOptions: { baseUrl: server.url } });
    const keyError = await wrong.models.generateContent({ model: "stories-260k", contents: "hi" }).catch((e: unknown) => e);
    expect(keyError).toBeInstanceOf(Error);
    expect((keyError as SdkApiError).status).toBe(400);
    expect((keyError as Error).message).toContain("API key not valid");
    const missing = await makeClient().models.generateContent({ model: "llama-9000", contents: "hi" }).catch((e: unknown) => e);
    expect((missing as SdkApiError).status).toBe(404);
    expect((missing as Error).message).toContain("models/llama-9000 is not found");
  });

  it("rejects a bad body with 400 naming the field", async () => {
    const error = await makeClient()
      .models.generateContent({ model: "stories-260k", contents: "hi", config: { temperature: 9 } })
      .catch((e: unknown) => e);
    expect((error as SdkApiError).status).toBe(400);
    expect((error as Error).message).toContain("temperature");
  });
});
