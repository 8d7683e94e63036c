import http from "node:http";
import type { AddressInfo } from "node:net";
import { GoogleGenAI, type ApiError as SdkApiError } from "@google/genai";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../../src/cli/serve.js";
import { startTestServer } from "../support/server.js";

/**
 * Upstreams that speak OpenAI's streaming API the way real engines differ on it: llama-cpp-python
 * sends no usage, OpenAI ends a refused answer with content_filter and puts a string in an error's
 * code, vLLM lists its context as max_model_len. A scripted HTTP server plays each one.
 */
const sse = (data: unknown): string => `data: ${JSON.stringify(data)}\n\n`;
const delta = (content: string, finish: string | null = null) =>
  sse({ id: "c", object: "chat.completion.chunk", created: 0, model: "m", choices: [{ index: 0, delta: { content }, finish_reason: finish }] });

const scripts: Record<string, string[]> = {
  "no-usage": [delta("Once"), delta(" upon"), delta(" a"), delta("", "stop"), "data: [DONE]\n\n"],
  filtered: [delta("I can"), delta("", "content_filter"), sse({ id: "c", object: "chat.completion.chunk", created: 0, model: "m", choices: [], usage: { prompt_tokens: 7, completion_tokens: 2, total_tokens: 9 } }), "data: [DONE]\n\n"],
  "string-code": [sse({ error: { message: "This model's maximum context length is 4096 tokens.", type: "invalid_request_error", param: "messages", code: "context_length_exceeded" } })],
  "rate-limited": [sse({ error: { message: "Slow down.", type: "rate_limit_exceeded", code: null } })],
};

let upstream: http.Server;
let front: RunningServer;

beforeAll(async () => {
  upstream = http.createServer((req, res) => {
    if (req.method === "GET" && req.url === "/v1/models") {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ object: "list", data: [{ id: "no-usage", object: "model", max_model_len: 4096 }, { id: "filtered", object: "model" }] }));
      return;
    }
    let body = "";
    req.on("data", (piece: Buffer) => (body += piece));
    req.on("end", () => {
      const script = scripts[(JSON.parse(body) as { model: string }).model] ?? [];
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.end(script.join(""));
    });
  });
  await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
  const base = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/v1`;
  front = await startTestServer({
    upstreams: Object.keys(scripts).map((model) => `${model}=openai:${base},model=${model}`),
  });
});
afterAll(async () => {
  await front?.close();
  await new Promise((resolve) => upstream?.close(resolve));
});

const gemini = () => new GoogleGenAI({ apiKey: "any", httpOptions: { baseUrl: front.url } });

describe("upstream dialects", () => {
  it("leaves promptTokenCount out when the upstream reports no usage, instead of saying 0", async () => {
    const chunks = [];
    for await (const chunk of await gemini().models.generateContentStream({ model: "no-usage", contents: "Tell me a story" })) chunks.push(chunk);
    expect(chunks.map((c) => c.text).join("")).toBe("Once upon a");
    const usage = chunks.at(-1)?.usageMetadata;
    expect(usage?.promptTokenCount).toBeUndefined();
    expect(usage?.candidatesTokenCount).toBe(3);
    expect(usage?.totalTokenCount).toBe(3);
    // OpenAI's usage must hold a number.
    const openai = new OpenAI({ apiKey: "any", baseURL: `${front.url}/v1` });
    const reply = await openai.chat.completions.create({ model: "no-usage", messages: [{ role: "user", content: "Tell me a story" }] });
    expect(reply.usage).toMatchObject({ prompt_tokens: 0, completion_tokens: 3, total_tokens: 3 });
  });

  it("maps content_filter to SAFETY (and back to content_filter on the OpenAI surface)", async () => {
    const response = await gemini().models.generateContent({ model: "filtered", contents: "Something" });
    expect(response.candidates?.[0]?.finishReason).toBe("SAFETY");
    expect(response.text).toBe("I can");
    expect(response.usageMetadata).toMatchObject({ promptTokenCount: 7, candidatesTokenCount: 2, totalTokenCount: 9 });
    const openai = new OpenAI({ apiKey: "any", baseURL: `${front.url}/v1` });
    const reply = await openai.chat.completions.create({ model: "filtered", messages: [{ role: "user", content: "Something" }] });
    expect(reply.choices[0]?.finish_reason).toBe("content_filter");
  });

  it("reads an error's kind from its type when its code is a string: 400 and 429, not 503", async () => {
    const tooLong = (await gemini().models.generateContent({ model: "string-code", contents: "x" }).catch((e: unknown) => e)) as SdkApiError;
    expect(tooLong.status).toBe(400);
    expect(tooLong.message).toContain("INVALID_ARGUMENT");
    expect(tooLong.message).toContain("maximum context length is 4096");
    const limited = (await gemini().models.generateContent({ model: "rate-limited", contents: "x" }).catch((e: unknown) => e)) as SdkApiError;
    expect(limited.status).toBe(429);
    expect(limited.message).toContain("RESOURCE_EXHAUSTED");
  });

  it("takes the model's context from the upstream's max_model_len, and keeps the default where it gives none", async () => {
    const listed = await gemini().models.get({ model: "no-usage" });
    expect(listed.inputTokenLimit).toBe(4096);
    expect(listed.outputTokenLimit).toBe(4096);
    expect((await gemini().models.get({ model: "filtered" })).inputTokenLimit).toBe(32_768);
  });
});
