import { rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { ApiError as GenAiApiError, GoogleGenAI } from "@google/genai";
import type { FastifyInstance } from "fastify";
import OpenAI from "openai";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EngineError, RequestRejectedError, type Engine, type GenerateRequest, type GenerationEvent, type ModelInfo } from "../../src/engines/engine.js";
import { ApiError, INTERNAL_MESSAGE, OPENAI_INTERNAL_MESSAGE, openAiErrorBody, toApiError } from "../../src/route-kit/errors.js";
import { MAX_JSON_DEPTH } from "../../src/base/json-depth.js";
import { ServerMetrics } from "../../src/serving/metrics.js";
import { buildServer } from "../../src/http/server.js";
import { StreamTracker } from "../../src/serving/stream-tracker.js";
import { ModelRegistry } from "../../src/models/registry.js";
import { nestedArrays } from "./nesting.js";

// A fault the server did not describe for the client (a TypeError, a RangeError from a library)
// answers the surface's generic message, whole or as the last event of a stream, and is logged
// with its message, stack and request id. The engine below fails on purpose, in the ways a bug
// would; everything between it and the client (routes, translation, framer, error handler,
// logger) is the real server's, and the clients are the real SDKs.
const SECRET = "secret-internal-detail-7f3a";
const CRASH = "The model runner for faulty crashed (SIGSEGV); it is being restarted.";
const usage = { promptTokens: 3, cachedPromptTokens: 0, outputTokens: 1 };

class FaultyEngine implements Engine {
  readonly info: ModelInfo = {
    id: "faulty",
    displayName: "Faulty",
    description: "fails in the ways a bug would",
    inputTokenLimit: 4096,
    outputTokenLimit: 256,
    hasChatTemplate: true,
    canEmbed: true,
  };

  /** The last user turn says how to fail: "at once", "mid-stream" or "engine error". */
  async *generate(request: GenerateRequest): AsyncIterable<GenerationEvent> {
    const how = request.prompt.turns.at(-1)?.text ?? "";
    yield { type: "start", usage };
    if (how === "at once") throw new TypeError(`${SECRET}: cannot read properties of undefined`);
    yield { type: "text", text: "Once upon a time", usage };
    await sleep(50); // the first chunk has left: what follows is a mid-stream failure
    if (how === "engine error") throw new EngineError(CRASH);
    throw new RangeError(`${SECRET}: Maximum call stack size exceeded`);
  }
  async countTokens(): Promise<number> {
    throw new TypeError(`${SECRET} while counting`);
  }
  async embed(): Promise<never> {
    throw new SyntaxError(`${SECRET}: Unexpected token < in JSON`);
  }
  occupancy() {
    return { active: 0, queued: 0 };
  }
  async close(): Promise<void> {}
}

const logLines: string[] = [];
const dataDir = path.join(os.tmpdir(), `genai-local-test-faults-${process.pid}`);
let app: FastifyInstance;
let url: string;

beforeAll(async () => {
  const models = new ModelRegistry([{ id: "faulty", source: "test" }]);
  await models.loadAll(async () => new FaultyEngine());
  const logger = pino({ level: "info" }, { write: (line: string) => void logLines.push(line) });
  app = await buildServer({ models, metrics: new ServerMetrics(models), streams: new StreamTracker(), logger, chunkWindowMs: 0, files: { dataDir } });
  // A route added after the surfaces, in a plugin of its own: it gets the same body parser and guard.
  await app.register(async (later) => {
    later.post("/v1beta/later", async (request) => ({ received: typeof request.body }));
    later.post("/v1beta/later-fails", async () => {
      throw new Error(`${SECRET} in a later route`);
    });
  });
  await app.listen({ host: "127.0.0.1", port: 0 });
  const address = app.server.address();
  url = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
});
afterAll(async () => {
  await app?.close();
  await rm(dataDir, { recursive: true, force: true });
});

async function send(path: string, body: unknown, requestId: string): Promise<{ status: number; text: string }> {
  const response = await fetch(`${url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-request-id": requestId },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: response.status, text: await response.text() };
}

/** The error log line for a request: level error, the request's id, the thrown error's message and stack. */
function expectLogged(requestId: string, errorType: string): void {
  const entries = logLines.map((line) => JSON.parse(line)).filter((entry) => entry.reqId === requestId && entry.level === 50);
  expect(entries, `no error logged for ${requestId}`).toHaveLength(1);
  expect(entries[0].err.type).toBe(errorType);
  expect(entries[0].err.message).toContain(SECRET);
  expect(entries[0].err.stack).toContain(`${errorType}: ${SECRET}`);
  expect(entries[0].err.stack).toMatch(/\n\s+at /);
}

const gemini = (how: string) => ({ contents: [{ role: "user", parts: [{ text: how }] }] });
const chat = (how: string, stream = false) => ({ model: "faulty", messages: [{ role: "user", content: how }], stream });
const GOOGLE_500 = { error: { code: 500, message: INTERNAL_MESSAGE, status: "INTERNAL" } };
const OPENAI_500 = { error: { message: OPENAI_INTERNAL_MESSAGE, type: "server_error", param: null, code: "internal" } };

describe("an unexpected error, answered whole", () => {
  it("Gemini generate, countTokens and embed: Google's generic 500, the exception only in the log", async () => {
    const cases: [string, unknown, string][] = [
      ["/v1beta/models/faulty:generateContent", gemini("at once"), "TypeError"],
      ["/v1beta/models/faulty:streamGenerateContent?alt=sse", gemini("at once"), "TypeError"],
      ["/v1/models/faulty:countTokens", gemini("x"), "TypeError"],
      ["/v1beta/models/faulty:embedContent", { content: { parts: [{ text: "x" }] } }, "SyntaxError"],
      ["/v1beta/later-fails", {}, "Error"],
    ];
    for (const [index, [path, body, errorType]] of cases.entries()) {
      const answer = await send(path, body, `whole-g-${index}`);
      expect(answer.status, path).toBe(500);
      expect(JSON.parse(answer.text), path).toEqual(GOOGLE_500);
      expect(answer.text).not.toContain(SECRET);
      expectLogged(`whole-g-${index}`, errorType);
    }
  });

  it("OpenAI chat and embeddings: OpenAI's generic 500", async () => {
    const cases: [string, unknown, string][] = [
      ["/v1/chat/completions", chat("at once"), "TypeError"],
      ["/v1/embeddings", { model: "faulty", input: "x" }, "SyntaxError"],
    ];
    for (const [index, [path, body, errorType]] of cases.entries()) {
      const answer = await send(path, body, `whole-o-${index}`);
      expect(answer.status, path).toBe(500);
      expect(JSON.parse(answer.text), path).toEqual(OPENAI_500);
      expectLogged(`whole-o-${index}`, errorType);
    }
  });

  it("through @google/genai (ApiError 500) and openai (InternalServerError)", async () => {
    const ai = new GoogleGenAI({ apiKey: "k", httpOptions: { baseUrl: url } });
    const googleError = await ai.models.generateContent({ model: "faulty", contents: "at once" }).catch((error: unknown) => error);
    expect(googleError).toBeInstanceOf(GenAiApiError);
    expect((googleError as GenAiApiError).status).toBe(500);
    expect((googleError as GenAiApiError).message).toContain(INTERNAL_MESSAGE);
    expect((googleError as GenAiApiError).message).not.toContain(SECRET);

    const client = new OpenAI({ apiKey: "k", baseURL: `${url}/v1`, maxRetries: 0 });
    const openAiError = await client.chat.completions.create({ model: "faulty", messages: [{ role: "user", content: "at once" }] }).catch((error: unknown) => error);
    expect(openAiError).toBeInstanceOf(OpenAI.InternalServerError);
    expect((openAiError as Error).message).toContain(OPENAI_INTERNAL_MESSAGE);
    expect((openAiError as Error).message).not.toContain(SECRET);
  });
});

describe("an unexpected error mid-stream", () => {
  it("Gemini SSE and JSON-array streams end with Google's generic error as their last item", async () => {
    const sse = await send("/v1beta/models/faulty:streamGenerateContent?alt=sse", gemini("mid-stream"), "mid-g-sse");
    expect(sse.status).toBe(200);
    const events = sse.text.split("\r\n\r\n").filter(Boolean).map((event) => JSON.parse(event.slice("data: ".length)));
    expect(events[0].candidates[0].content.parts[0].text).toMatch(/^Once/);
    expect(events.at(-1)).toEqual(GOOGLE_500);
    expect(sse.text).not.toContain(SECRET);
    expectLogged("mid-g-sse", "RangeError");

    const array = await send("/v1/models/faulty:streamGenerateContent", gemini("mid-stream"), "mid-g-array");
    const items = JSON.parse(array.text);
    expect(items.length).toBeGreaterThanOrEqual(2);
    expect(items.at(-1)).toEqual(GOOGLE_500);
    expectLogged("mid-g-array", "RangeError");
  });

  it("OpenAI's stream ends with OpenAI's generic error event", async () => {
    const sse = await send("/v1/chat/completions", chat("mid-stream", true), "mid-o");
    expect(sse.status).toBe(200);
    const data = sse.text.split("\r\n\r\n").filter(Boolean).map((event) => event.slice("data: ".length)).filter((d) => d !== "[DONE]").map((d) => JSON.parse(d));
    expect(data[0].choices[0].delta).toBeDefined();
    expect(data.at(-1)).toEqual(OPENAI_500);
    expect(sse.text).not.toContain(SECRET);
    expectLogged("mid-o", "RangeError");
  });

  it("the SDKs raise the generic message mid-stream, after the first chunk", async () => {
    const ai = new GoogleGenAI({ apiKey: "k", httpOptions: { baseUrl: url } });
    const texts: string[] = [];
    const googleError = await (async () => {
      for await (const chunk of await ai.models.generateContentStream({ model: "faulty", contents: "mid-stream" })) texts.push(chunk.text ?? "");
    })().catch((error: unknown) => error);
    expect(texts[0]).toMatch(/^Once/);
    expect(googleError).toBeInstanceOf(GenAiApiError);
    expect((googleError as GenAiApiError).status).toBe(500);
    expect((googleError as GenAiApiError).message).toContain(INTERNAL_MESSAGE);

    const client = new OpenAI({ apiKey: "k", baseURL: `${url}/v1`, maxRetries: 0 });
    const deltas: string[] = [];
    const openAiError = await (async () => {
      const stream = await client.chat.completions.create({ model: "faulty", messages: [{ role: "user", content: "mid-stream" }], stream: true });
      for await (const chunk of stream) deltas.push(chunk.choices[0]?.delta.content ?? "");
    })().catch((error: unknown) => error);
    expect(deltas.join("")).toMatch(/^Once/);
    expect(openAiError).toBeInstanceOf(OpenAI.APIError);
    expect((openAiError as Error).message).toContain(OPENAI_INTERNAL_MESSAGE);
  });

  it("an engine's own account of its failure (EngineError) is told as it is", async () => {
    const sse = await send("/v1beta/models/faulty:streamGenerateContent?alt=sse", gemini("engine error"), "mid-engine");
    const last = JSON.parse(sse.text.trim().split("\r\n\r\n").at(-1)!.slice("data: ".length));
    expect(last).toEqual({ error: { code: 500, message: CRASH, status: "INTERNAL" } });
  });
});

describe("a route added later", () => {
  it("gets the body parser and its depth guard", async () => {
    expect(JSON.parse((await send("/v1beta/later", { a: [1] }, "later-ok")).text)).toEqual({ received: "object" });
    const deep = await send("/v1beta/later", nestedArrays(5_000), "later-deep");
    expect(deep.status).toBe(400);
    expect(JSON.parse(deep.text).error).toMatchObject({ code: 400, status: "INVALID_ARGUMENT" });
    expect(JSON.parse(deep.text).error.message).toContain(`more than ${MAX_JSON_DEPTH} levels deep`);
  });
});

describe("toApiError", () => {
  it("passes only messages written for the client", () => {
    expect(toApiError(new TypeError(SECRET))).toMatchObject({ code: 500, status: "INTERNAL", message: INTERNAL_MESSAGE });
    expect(toApiError(new RangeError("Maximum call stack size exceeded")).message).toBe(INTERNAL_MESSAGE);
    // A SyntaxError from anywhere but the body parser is a bug too, not "invalid JSON payload".
    expect(toApiError(new SyntaxError("Unexpected token")).message).toBe(INTERNAL_MESSAGE);
    expect(toApiError("a string")).toMatchObject({ code: 500, message: INTERNAL_MESSAGE });
    expect(toApiError(new RequestRejectedError("The prompt is too long."))).toMatchObject({ code: 400, message: "The prompt is too long." });
    expect(toApiError(new EngineError(CRASH))).toMatchObject({ code: 500, message: CRASH });
    const tooLarge = Object.assign(new Error("Request body is too large"), { code: "FST_ERR_CTP_BODY_TOO_LARGE", statusCode: 413 });
    expect(toApiError(tooLarge)).toMatchObject({ code: 400, message: "Request payload size exceeds the limit: Request body is too large" });
    const ours = new ApiError("UNAVAILABLE", "The server is shutting down.");
    expect(toApiError(ours)).toBe(ours);
  });

  it("OpenAI's shape says OpenAI's generic words for the generic error only", () => {
    expect(openAiErrorBody(toApiError(new TypeError(SECRET)))).toEqual(OPENAI_500);
    expect(openAiErrorBody(new ApiError("INTERNAL", CRASH)).error.message).toBe(CRASH);
  });
});
