import OpenAI from "openai";
import { GoogleGenAI } from "@google/genai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../../src/cli/serve.js";
import { metricValue, startTestServer, waitFor } from "../support/server.js";

const KEY = "openai-key";
let server: RunningServer;
let client: OpenAI;

beforeAll(async () => {
  server = await startTestServer({ apiKeys: [KEY] });
  client = new OpenAI({ apiKey: KEY, baseURL: `${server.url}/v1` });
});
afterAll(async () => server?.close());

describe("the openai SDK against genai-local", () => {
  it("streams a chat completion with usage", async () => {
    const stream = await client.chat.completions.create({
      model: "stories-260k",
      messages: [{ role: "user", content: "Once upon a time" }],
      max_tokens: 60,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = "";
    let deltas = 0;
    let finish: string | null = null;
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const chunk of stream) {
      const choice = chunk.choices[0];
      if (choice?.delta.content) {
        text += choice.delta.content;
        deltas++;
      }
      finish = choice?.finish_reason ?? finish;
      usage = chunk.usage ?? usage;
    }
    expect(deltas).toBeGreaterThanOrEqual(2);
    expect(text.length).toBeGreaterThan(10);
    expect(["stop", "length"]).toContain(finish);
    expect(usage!.completion_tokens).toBeGreaterThan(0);
    expect(usage!.completion_tokens).toBeLessThanOrEqual(60);
    expect(usage!.total_tokens).toBe(usage!.prompt_tokens + usage!.completion_tokens);
  });

  it("answers a non-streaming chat completion and a legacy completion", async () => {
    const chat = await client.chat.completions.create({
      model: "gemini-2.5-flash",
      messages: [
        { role: "system", content: "A story." },
        { role: "user", content: "Once upon a time" },
      ],
      max_completion_tokens: 20,
      seed: 3,
      temperature: 0,
    });
    expect(chat.object).toBe("chat.completion");
    expect(chat.choices[0]!.message.content!.length).toBeGreaterThan(0);
    expect(chat.usage!.completion_tokens).toBeLessThanOrEqual(20);

    const completion = await client.completions.create({ model: "stories-260k", prompt: "The little dog", max_tokens: 12 });
    expect(completion.choices[0]!.text.length).toBeGreaterThan(0);
    expect(completion.usage!.completion_tokens).toBeLessThanOrEqual(12);
  });

  it("lists models on the shared /v1/models path, while Gemini clients still get Gemini's list", async () => {
    const ids = [];
    for await (const model of client.models.list()) ids.push(model.id);
    expect(ids).toContain("stories-260k");
    const gemini = new GoogleGenAI({ apiKey: KEY, httpOptions: { baseUrl: server.url } });
    const names = [];
    for await (const model of await gemini.models.list()) names.push(model.name);
    expect(names).toContain("models/stories-260k");
  });

  it("reports errors in OpenAI's shape: bad key, unknown model, bad request", async () => {
    const wrong = new OpenAI({ apiKey: "nope", baseURL: `${server.url}/v1` });
    const auth = await wrong.chat.completions.create({ model: "stories-260k", messages: [{ role: "user", content: "hi" }] }).catch((e) => e);
    expect(auth).toBeInstanceOf(OpenAI.AuthenticationError);
    expect(auth.status).toBe(401);
    expect(auth.code).toBe("invalid_api_key");

    const missing = await client.chat.completions.create({ model: "gpt-9", messages: [{ role: "user", content: "hi" }] }).catch((e) => e);
    expect(missing).toBeInstanceOf(OpenAI.NotFoundError);
    expect(missing.code).toBe("model_not_found");

    const bad = await client.chat.completions.create({ model: "stories-260k", messages: [{ role: "user", content: "hi" }], temperature: 7 }).catch((e) => e);
    expect(bad).toBeInstanceOf(OpenAI.BadRequestError);
    expect(bad.message).toContain("temperature");

    const unsupported = await client.chat.completions.create({ model: "stories-260k", messages: [{ role: "user", content: "hi" }], logit_bias: { "5": 3 } }).catch((e) => e);
    expect(unsupported).toBeInstanceOf(OpenAI.BadRequestError);
    expect(unsupported.message).toContain("logit_bias");
  });

  it("stops generating when the client aborts the stream", async () => {
    const controller = new AbortController();
    const stream = await client.chat.completions.create(
      { model: "stories-260k", messages: [{ role: "user", content: "Once upon a time" }], max_tokens: 1900, stream: true },
      { signal: controller.signal },
    );
    let seen = 0;
    try {
      for await (const _chunk of stream) if (++seen === 5) controller.abort();
    } catch {
      // the SDK may end the loop quietly or throw an abort error; either way it stopped reading
    }
    expect(seen).toBeLessThan(50);
    await waitFor(async () => (await metricValue(server.url, "genai_local_active_streams")) === 0, 1000);
  });

  it("ends the SSE stream with data: [DONE] on the OpenAI surface only", async () => {
    const response = await fetch(`${server.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "Content-Type": "application/json", authorization: `Bearer ${KEY}` },
      body: JSON.stringify({ model: "stories-260k", messages: [{ role: "user", content: "Once" }], max_tokens: 5, stream: true }),
    });
    const raw = await response.text();
    expect(raw.endsWith("data: [DONE]\r\n\r\n")).toBe(true);
    expect(JSON.parse(raw.split("\r\n\r\n")[0]!.slice(6)).choices[0].delta.role).toBe("assistant");
  });
});
