import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../../src/cli/serve.js";
import { metricValue, startTestServer, waitFor } from "../support/server.js";

const KEY = "wire-key";
let server: RunningServer;

beforeAll(async () => {
  server = await startTestServer({ apiKeys: [KEY] });
});
afterAll(async () => server?.close());

const story = { contents: [{ role: "user", parts: [{ text: "Once upon a time" }] }], generationConfig: { maxOutputTokens: 60 } };

function post(path: string, body: unknown, headers: Record<string, string> = { "x-goog-api-key": KEY }): Promise<Response> {
  return fetch(`${server.url}${path}`, {
    method: "POST",
    headers: { "Content-Type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

describe("SSE bytes (curl's view)", () => {
  it("frames each chunk as one data line ended by CRLF CRLF, and just ends", async () => {
    const response = await post("/v1beta/models/stories-260k:streamGenerateContent?alt=sse", story);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/event-stream");
    expect(response.headers.get("cache-control")).toBe("no-cache");
    expect(response.headers.get("x-accel-buffering")).toBe("no");
    const raw = await response.text();
    expect(raw.endsWith("\r\n\r\n")).toBe(true);
    const events = raw.slice(0, -4).split("\r\n\r\n");
    expect(events.length).toBeGreaterThanOrEqual(2);
    for (const event of events) {
      expect(event.startsWith("data: ")).toBe(true);
      expect(event.slice(6)).not.toMatch(/[\r\n\u2028\u2029\u0085]/);
    }
    expect(raw).not.toMatch(/^(:|event:)/m);
    expect(raw).not.toContain("[DONE]");
    const chunks = events.map((e) => JSON.parse(e.slice(6)));
    expect(chunks.at(-1).candidates[0].finishReason).toMatch(/STOP|MAX_TOKENS/);
    expect(chunks.at(-1).candidates[0].content.parts[0].text.length).toBeGreaterThan(0);
  });

  it("accepts the key as ?key= as the REST docs' curl lines do", async () => {
    const response = await post(`/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse&key=${KEY}`, story, {});
    expect(response.status).toBe(200);
    await response.text();
  });
});

describe("JSON-array mode (no alt=sse)", () => {
  it("streams one JSON array element by element", async () => {
    const response = await post("/v1beta/models/stories-260k:streamGenerateContent", {
      ...story,
      generationConfig: { maxOutputTokens: 400 },
    });
    expect(response.headers.get("content-type")).toMatch(/^application\/json/);
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let raw = "";
    let reads = 0;
    for (let part = await reader.read(); !part.done; part = await reader.read()) {
      raw += decoder.decode(part.value, { stream: true });
      reads++;
    }
    expect(reads).toBeGreaterThan(1); // arrived in pieces, not as one buffered body
    const array = JSON.parse(raw);
    expect(Array.isArray(array)).toBe(true);
    expect(array.length).toBeGreaterThanOrEqual(2);
    expect(array.at(-1).candidates[0].finishReason).toMatch(/STOP|MAX_TOKENS/);
  });
});

describe("errors in Google's shape", () => {
  it("no key → 403 PERMISSION_DENIED, wrong key → 400 API_KEY_INVALID", async () => {
    const none = await post("/v1beta/models/stories-260k:generateContent", story, {});
    expect(none.status).toBe(403);
    expect((await none.json()).error).toMatchObject({ code: 403, status: "PERMISSION_DENIED" });
    const wrong = await post("/v1beta/models/stories-260k:generateContent", story, { "x-goog-api-key": "wrong" });
    expect(wrong.status).toBe(400);
    const body = await wrong.json();
    expect(body.error).toMatchObject({ code: 400, status: "INVALID_ARGUMENT", message: "API key not valid. Please pass a valid API key." });
    expect(body.error.details[0].reason).toBe("API_KEY_INVALID");
    const list = await fetch(`${server.url}/v1beta/models`);
    expect(list.status).toBe(403);
  });

  it("malformed JSON, empty contents and wrong types → 400 INVALID_ARGUMENT naming the problem", async () => {
    const cases: [unknown, string][] = [
      ['{"contents": [', "Invalid JSON payload"],
      [{ contents: [] }, "contents is not specified"],
      [{ contents: "hello" }, "contents"],
      [{ contents: [{ parts: [{ text: 5 }] }] }, "contents[0].parts[0].text"],
      [{ ...story, generationConfig: { maxOutputTokens: "many" } }, "generation_config.max_output_tokens"],
    ];
    for (const [body, expected] of cases) {
      const response = await post("/v1beta/models/stories-260k:streamGenerateContent?alt=sse", body);
      expect(response.status).toBe(400);
      const json = await response.json();
      expect(json.error.status).toBe("INVALID_ARGUMENT");
      expect(json.error.message).toContain(expected);
    }
  });

  it("unknown model → 404 NOT_FOUND in Google's wording", async () => {
    const response = await post("/v1beta/models/no-such-model:streamGenerateContent?alt=sse", story);
    expect(response.status).toBe(404);
    expect((await response.json()).error).toEqual({
      code: 404,
      status: "NOT_FOUND",
      message:
        "models/no-such-model is not found for API version v1beta, or is not supported for streamGenerateContent. Call ListModels to see the list of available models and their supported methods.",
    });
  });
});

describe("a client that goes away", () => {
  it("stops its generation at once", async () => {
    const response = await post("/v1/models/stories-260k:streamGenerateContent?alt=sse", {
      ...story,
      generationConfig: { maxOutputTokens: 1900 },
    });
    const reader = response.body!.getReader();
    await reader.read();
    expect(await metricValue(server.url, "genai_local_active_streams")).toBe(1);
    await reader.cancel();
    // 1,900 tokens take ~2 s on this model; stopping within half a second means it stopped at once.
    await waitFor(async () => (await metricValue(server.url, "genai_local_active_streams")) === 0, 500);
  });
});
