import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../../src/cli/serve.js";
import { metricValue, startTestServer } from "../support/server.js";
import { postStream, readEvents, storyRequest } from "../support/sse.js";

let server: RunningServer;
const port = () => Number(new URL(server.url).port);

beforeAll(async () => {
  server = await startTestServer({
    limits: { maxBodyBytes: 64 * 1024, maxHeaderBytes: 8 * 1024, requestTimeoutMs: 1000 },
    corsOrigins: ["http://playground.example"],
  });
});
afterAll(async () => server?.close());

async function googleError(response: Response, code: number): Promise<string> {
  expect(response.status).toBe(code);
  const body = await response.json();
  expect(body.error.code).toBe(code);
  expect(typeof body.error.status).toBe("string");
  return body.error.message as string;
}

/** Sends raw bytes on a socket and returns everything the server answered before closing. */
function rawExchange(send: (socket: net.Socket) => void): Promise<{ text: string; ms: number }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const socket = net.connect(port(), "127.0.0.1", () => send(socket));
    let text = "";
    socket.on("data", (d) => (text += d.toString()));
    socket.on("close", () => resolve({ text, ms: performance.now() - started }));
    socket.on("error", reject);
  });
}

describe("limits, each with a clear Google-shaped error", () => {
  it("a body over --max-body → 400 naming the limit", async () => {
    const huge = { contents: [{ parts: [{ text: "a".repeat(100 * 1024) }] }] };
    const message = await googleError(await postStream(server.url, huge), 400);
    expect(message).toContain("Request payload size exceeds the limit");
  });

  it("a prompt longer than the context → 400 naming the context size", async () => {
    const long = { contents: [{ parts: [{ text: "the cat sat on the mat. ".repeat(500) }] }] };
    const message = await googleError(await postStream(server.url, long), 400);
    expect(message).toMatch(/more than this model's context of 2048 tokens/);
  });

  it("maxOutputTokens above the model's limit → 400 with the supported range", async () => {
    const message = await googleError(await postStream(server.url, storyRequest(100_000)), 400);
    expect(message).toContain("supported range is from 1 (inclusive) to 2049 (exclusive)");
  });

  it("too many parts in a content → 400 naming them", async () => {
    const many = { contents: [{ parts: Array.from({ length: 1_001 }, () => ({ text: "a" })) }] };
    const message = await googleError(await postStream(server.url, many), 400);
    expect(message).toContain("contents[0].parts");
  });

  it("headers over --max-header-size → 431 in Google's shape", async () => {
    const { text } = await rawExchange((socket) =>
      socket.write(`GET /v1beta/models HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(10_000)}\r\n\r\n`),
    );
    expect(text).toMatch(/^HTTP\/1.1 431/);
    expect(JSON.parse(text.slice(text.indexOf("\r\n\r\n") + 4)).error.message).toContain("8192 bytes");
  });

  it("a slowloris client is cut off after --request-timeout and holds no stream slot", async () => {
    const { text, ms } = await rawExchange((socket) => {
      socket.write("POST /v1beta/models/stories-260k:streamGenerateContent?alt=sse HTTP/1.1\r\nHost: x\r\n");
      const drip = setInterval(() => socket.writable && socket.write("X-Drip: 1\r\n"), 200);
      socket.on("close", () => clearInterval(drip));
    });
    expect(ms).toBeLessThan(4000);
    expect(text).toMatch(/^HTTP\/1.1 408/);
    expect(await metricValue(server.url, "genai_local_active_streams")).toBe(0);
  });

  it("a slow body is cut off the same way", async () => {
    const { text } = await rawExchange((socket) => {
      socket.write("POST /v1beta/models/stories-260k:generateContent HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{");
    });
    expect(text).toMatch(/^HTTP\/1.1 408/);
  });

  it("a reader that does not read gets backpressure, and the server still streams for others", async () => {
    const stalled = await postStream(server.url, storyRequest(1500));
    expect(stalled.status).toBe(200);
    const events = await readEvents(await postStream(server.url, storyRequest(20)));
    expect(events.at(-1)!.data.candidates[0].finishReason).toMatch(/STOP|MAX_TOKENS/);
    await stalled.body!.cancel();
  });
});

describe("CORS", () => {
  it("is off by default and allows only --cors-origin", async () => {
    const allowed = await fetch(`${server.url}/v1beta/models`, {
      method: "OPTIONS",
      headers: { Origin: "http://playground.example", "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "x-goog-api-key" },
    });
    expect(allowed.headers.get("access-control-allow-origin")).toBe("http://playground.example");
    const other = await fetch(`${server.url}/v1beta/models`, { headers: { Origin: "http://evil.example" } });
    expect(other.headers.get("access-control-allow-origin")).toBeNull();

    const plain = await startTestServer({});
    try {
      const response = await fetch(`${plain.url}/v1beta/models`, { headers: { Origin: "http://playground.example" } });
      expect(response.headers.get("access-control-allow-origin")).toBeNull();
    } finally {
      await plain.close();
    }
  });
});
