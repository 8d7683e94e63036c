import { GoogleGenAI } from "@google/genai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../../src/cli/serve.js";
import { metricValue, startTestServer, waitFor } from "../support/server.js";
import { postStream, readEvents, storyRequest } from "../support/sse.js";

describe("many streams on one model", () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startTestServer({ parallel: 8, queueSize: 200 });
  });
  afterAll(async () => server?.close());

  it("runs 8 SDK streams at once: all complete and their token timelines overlap", async () => {
    const ai = new GoogleGenAI({ apiKey: "k", httpOptions: { baseUrl: server.url } });
    const t0 = performance.now();
    const timelines = await Promise.all(
      Array.from({ length: 8 }, async (_, i) => {
        const times: number[] = [];
        let finish: string | undefined;
        const stream = await ai.models.generateContentStream({
          model: "gemini-2.5-flash",
          contents: `Once upon a time there was a ${["cat", "dog", "bird", "fish", "frog", "bear", "girl", "boy"][i]}`,
          config: { maxOutputTokens: 150 },
        });
        for await (const chunk of stream) {
          times.push(performance.now() - t0);
          finish = chunk.candidates?.[0]?.finishReason ?? finish;
        }
        return { first: times[0]!, last: times.at(-1)!, finish };
      }),
    );
    for (const t of timelines) expect(["STOP", "MAX_TOKENS"]).toContain(t.finish);
    // Batching, not turns: every stream had started before any stream finished.
    const latestStart = Math.max(...timelines.map((t) => t.first));
    const earliestEnd = Math.min(...timelines.map((t) => t.last));
    expect(latestStart).toBeLessThan(earliestEnd);
  });

  it("a new request joins the running batch at once, even on a sequence it must first trim", async () => {
    // Dirty every sequence, so the late request has to erase a stale tail before it can start.
    await Promise.all(Array.from({ length: 8 }, () => postStream(server.url, storyRequest(20)).then(readEvents)));
    const t0 = performance.now();
    const long = [postStream(server.url, storyRequest(1500)), postStream(server.url, storyRequest(1500))].map((r) => r.then((res) => readEvents(res, t0)));
    await waitFor(async () => (await metricValue(server.url, "genai_local_active_streams")) === 2);
    const late = await readEvents(await postStream(server.url, storyRequest(10, "The big dog")), t0);
    const lateFirst = late[0]!.at;
    const longEnds = (await Promise.all(long)).map((events) => events.at(-1)!.at);
    expect(lateFirst).toBeLessThan(Math.min(...longEnds) / 2);
  });

  it("reuses a chat's KV-cache prefix on the next turn: cachedContentTokenCount and a faster first token", async () => {
    const ai = new GoogleGenAI({ apiKey: "k", httpOptions: { baseUrl: server.url } });
    const longStory = Array.from({ length: 60 }, (_, i) => `On day ${i} the little cat went to the park and played.`).join(" ");
    const chat = ai.chats.create({ model: "stories-260k", config: { maxOutputTokens: 8, temperature: 0 } });
    const turn = async (message: string) => {
      const t0 = performance.now();
      let firstAt = 0;
      let cached: number | undefined;
      let prompt = 0;
      for await (const chunk of await chat.sendMessageStream({ message })) {
        firstAt ||= performance.now() - t0;
        cached = chunk.usageMetadata?.cachedContentTokenCount ?? cached;
        prompt = chunk.usageMetadata?.promptTokenCount ?? prompt;
      }
      return { firstAt, cached, prompt };
    };
    const first = await turn(longStory);
    const second = await turn("And then?");
    expect(first.prompt).toBeGreaterThan(600);
    expect(second.cached).toBeGreaterThan(first.prompt - 10);
    expect(second.firstAt).toBeLessThan(first.firstAt);
    expect(await metricValue(server.url, "genai_local_active_streams")).toBe(0);
  });

  it("200 clients that disconnect mid-stream leave no active or queued streams behind", async () => {
    await Promise.all(
      Array.from({ length: 200 }, async (_, i) => {
        const controller = new AbortController();
        setTimeout(() => controller.abort(), 5 + (i % 40) * 2);
        try {
          const response = await postStream(server.url, storyRequest(1500), { signal: controller.signal });
          await readEvents(response);
        } catch {
          // aborted by design
        }
      }),
    );
    // The server may still be reading requests whose clients already left (each briefly active,
    // then cancelled) when the clients are done: "behind" means once those have settled, so both
    // gauges must read 0 twice, 250 ms apart, rather than at one instant.
    const idle = async () =>
      (await metricValue(server.url, "genai_local_active_streams")) === 0 && (await metricValue(server.url, "genai_local_queued_requests")) === 0;
    const settled = async () => (await idle()) && (await new Promise((resolve) => setTimeout(resolve, 250))) === undefined && (await idle());
    await waitFor(settled, 10_000);
    const events = await readEvents(await postStream(server.url, storyRequest(30)));
    expect(events.at(-1)!.data.candidates[0].finishReason).toMatch(/STOP|MAX_TOKENS/);
  });
});

describe("admission control", () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startTestServer({ parallel: 2, queueSize: 2, queueTimeoutMs: 60_000 });
  });
  afterAll(async () => server?.close());

  it("over capacity: the extra requests get 429 with Retry-After at once, the rest complete", async () => {
    const t0 = performance.now();
    const responses = await Promise.all(Array.from({ length: 7 }, () => postStream(server.url, storyRequest(400))));
    const refused = responses.filter((r) => r.status === 429);
    expect(refused).toHaveLength(3);
    for (const response of refused) {
      expect(response.headers.get("retry-after")).toBe("1");
      expect((await response.json()).error.status).toBe("RESOURCE_EXHAUSTED");
    }
    const admitted = responses.filter((r) => r.status === 200);
    const results = await Promise.all(admitted.map((r) => readEvents(r, t0)));
    for (const events of results) expect(events.at(-1)!.data.candidates[0].finishReason).toMatch(/STOP|MAX_TOKENS/);
  });

  it("a deadline (X-Server-Timeout) ends a stream with a final 504 event, or answers 504 while queued", async () => {
    const running = await postStream(server.url, storyRequest(1900), { headers: { "X-Server-Timeout": "0.4" } });
    expect(running.status).toBe(200);
    const events = await readEvents(running);
    expect(events.at(-1)!.data.error).toMatchObject({ code: 504, status: "DEADLINE_EXCEEDED" });

    const blockers = await Promise.all([postStream(server.url, storyRequest(1500)), postStream(server.url, storyRequest(1500))]);
    const queued = await postStream(server.url, storyRequest(10), { headers: { "X-Server-Timeout": "0.3" } });
    expect(queued.status).toBe(504);
    expect((await queued.json()).error.status).toBe("DEADLINE_EXCEEDED");
    await Promise.all(blockers.map((b) => b.body!.cancel()));
  });
});

describe("queue timeout", () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startTestServer({ parallel: 1, queueSize: 4, queueTimeoutMs: 300 });
  });
  afterAll(async () => server?.close());

  it("a request that waits longer than --queue-timeout gets 429", async () => {
    const blocker = await postStream(server.url, storyRequest(1500));
    const t0 = performance.now();
    const waited = await postStream(server.url, storyRequest(10));
    const elapsed = performance.now() - t0;
    expect(waited.status).toBe(429);
    expect((await waited.json()).error.message).toContain("within 0.3 s");
    expect(elapsed).toBeGreaterThanOrEqual(290);
    await blocker.body!.cancel();
  });
});
