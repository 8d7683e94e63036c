import { FunctionCallingConfigMode, GoogleGenAI, type ApiError as SdkApiError, type GenerateContentParameters, type GenerateContentResponseUsageMetadata } from "@google/genai";
import { mkdtemp, readdir, rm, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../../src/cli/serve.js";
import { onLlamaServer, startTestServer, waitFor } from "../support/server.js";

// Context caching through @google/genai. One sequence (parallel 1), so which KV prefix the model
// holds is known: a short unrelated request evicts it, and the next cached request must restore
// the saved state from its file rather than find the prefix still in place.
const MODEL = "stories-260k";
const CACHE_MAX_TOKENS = 3000;
let server: RunningServer;
let ai: GoogleGenAI;
let cacheDir: string;

beforeAll(async () => {
  cacheDir = await mkdtemp(path.join(os.tmpdir(), "genai-local-cache-test-"));
  server = await startTestServer({
    parallel: 1,
    cacheMaxTokens: CACHE_MAX_TOKENS,
    cacheDir,
    models: [`${MODEL}=stories260K.gguf`, "other=stories260K.gguf"],
    upstreams: ["remote=openai:http://127.0.0.1:9/v1"],
  });
  ai = new GoogleGenAI({ apiKey: "k", httpOptions: { baseUrl: server.url } });
});
afterAll(async () => {
  // A cache still alive when the server closes: its state goes with the server's state directory.
  await ai.caches.create({ model: MODEL, config: { contents: "Left behind.\n" } });
  expect(await stateFiles()).toHaveLength(1);
  await server?.close();
  expect(await readdir(cacheDir)).toEqual([]);
  await rm(cacheDir, { recursive: true, force: true });
});

/** The saved KV states under this server's cache dir. */
async function stateFiles(): Promise<string[]> {
  const entries = await readdir(cacheDir, { recursive: true });
  return entries.filter((name) => name.endsWith(".kv"));
}

/** Plain story text of `sentences` sentences, ending in a new line; `tag` (its first word) makes it unique. */
function story(tag: string, sentences: number): string {
  const lines = Array.from({ length: sentences }, (_, i) => `${i === 0 ? tag : "The"} little bird number ${i} sang a song to the big tree, and the tree was happy.`);
  return `${lines.join(" ")}\n`;
}

const countTokens = async (text: string): Promise<number> => (await ai.models.countTokens({ model: MODEL, contents: text })).totalTokens!;

/** How many sentences of `story` come closest to `tokens` tokens without passing them. */
async function sentencesFor(tokens: number): Promise<number> {
  const [ten, twenty] = [await countTokens(story("Ana", 10)), await countTokens(story("Ana", 20))];
  return Math.floor(10 + (tokens - ten) / ((twenty - ten) / 10));
}

const greedy = { temperature: 0, seed: 7, maxOutputTokens: 24 };

/** Evicts whatever prefix the one sequence holds. */
const evict = () => ai.models.generateContent({ model: MODEL, contents: "Zebra.", config: { maxOutputTokens: 1 } });

async function timedStream(params: GenerateContentParameters) {
  const started = performance.now();
  let firstMs = 0;
  let text = "";
  let usage: GenerateContentResponseUsageMetadata | undefined;
  for await (const chunk of await ai.models.generateContentStream(params)) {
    firstMs ||= performance.now() - started;
    text += chunk.text ?? "";
    usage = chunk.usageMetadata ?? usage;
  }
  return { firstMs, text, usage };
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;

/** The SDK's error for a call that must fail, with Google's error message read from its body. */
async function apiError(promise: Promise<unknown>): Promise<{ status: number; code: string; message: string }> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e as SdkApiError,
  );
  expect(error, "expected the call to fail").toBeDefined();
  const body = JSON.parse(error!.message) as { error: { message: string; status: string } };
  return { status: error!.status, code: body.error.status, message: body.error.message };
}

describe("context caching", () => {
  it("creates, gets, lists, updates and deletes through ai.caches, under /v1beta and /v1", async () => {
    // No state directory until a state is saved (a server killed before then leaves nothing).
    expect(await readdir(cacheDir)).toEqual([]);
    const first = await ai.caches.create({
      model: MODEL,
      config: { contents: "Once upon a time, a cat sat on a mat.\n", systemInstruction: "Tell short stories.", displayName: "cats", ttl: "300s" },
    });
    expect(first.name).toMatch(/^cachedContents\/[0-9a-z]+$/);
    expect(first.model).toBe(`models/${MODEL}`);
    expect(first.displayName).toBe("cats");
    expect(first.usageMetadata?.totalTokenCount).toBeGreaterThan(5);
    expect(Date.parse(first.expireTime!) - Date.parse(first.createTime!)).toBe(300_000);
    expect(first.updateTime).toBe(first.createTime);

    const second = await ai.caches.create({ model: `models/${MODEL}`, config: { systemInstruction: "Only a system instruction." } });
    expect(Date.parse(second.expireTime!) - Date.parse(second.createTime!)).toBe(3_600_000); // Google's default TTL
    expect(await stateFiles()).toHaveLength(2);
    const [stateDir] = await readdir(cacheDir);
    expect((await stat(path.join(cacheDir, stateDir!))).mode & 0o777).toBe(0o700);

    expect(await ai.caches.get({ name: first.name! })).toEqual(first);
    const v1 = new GoogleGenAI({ apiKey: "k", apiVersion: "v1", httpOptions: { baseUrl: server.url } });
    expect(await v1.caches.get({ name: first.name!.split("/")[1]! })).toEqual(first);

    const pager = await ai.caches.list({ config: { pageSize: 1 } });
    expect(pager.page).toHaveLength(1);
    const listed: string[] = [];
    for await (const cached of pager) listed.push(cached.name!);
    expect(listed).toEqual([first.name, second.name]);

    const longer = await ai.caches.update({ name: first.name!, config: { ttl: "600s" } });
    expect(Date.parse(longer.expireTime!) - Date.parse(longer.updateTime!)).toBe(600_000);
    expect(Date.parse(longer.updateTime!)).toBeGreaterThanOrEqual(Date.parse(first.createTime!));
    const at = new Date(Date.now() + 120_000).toISOString();
    expect((await v1.caches.update({ name: first.name!, config: { expireTime: at } })).expireTime).toBe(at);

    // countTokens with generateContentRequest.cachedContent counts the cached prompt too.
    const count = (generateContentRequest: object) =>
      fetch(`${server.url}/v1beta/models/${MODEL}:countTokens`, {
        method: "POST",
        body: JSON.stringify({ generateContentRequest: { model: `models/${MODEL}`, ...generateContentRequest } }),
      }).then((r) => r.json() as Promise<{ totalTokens: number; cachedContentTokenCount?: number }>);
    const cachedCount = await count({ cachedContent: first.name, contents: [{ parts: [{ text: "The end." }] }] });
    const full = await count({
      contents: [{ role: "user", parts: [{ text: "Once upon a time, a cat sat on a mat.\n" }, { text: "The end." }] }],
      systemInstruction: { parts: [{ text: "Tell short stories." }] },
    });
    expect(cachedCount.cachedContentTokenCount).toBe(first.usageMetadata?.totalTokenCount);
    expect(cachedCount.totalTokens).toBe(full.totalTokens);

    await ai.caches.delete({ name: first.name! });
    await v1.caches.delete({ name: second.name! });
    const gone = await apiError(ai.caches.get({ name: first.name! }));
    expect(gone.status).toBe(404);
    expect(gone.code).toBe("NOT_FOUND");
    expect((await ai.caches.list()).page).toHaveLength(0);
    await waitFor(async () => (await stateFiles()).length === 0);
  });

  it("a request naming the cache reuses its tokens and answers as the same prompt sent in full", async () => {
    const document = story("Mia", 15);
    const cache = await ai.caches.create({ model: MODEL, config: { systemInstruction: "A story about birds.", contents: document } });
    const cachedTokens = cache.usageMetadata!.totalTokenCount!;
    await evict();
    const withCache = await timedStream({ model: MODEL, contents: "One day,", config: { ...greedy, cachedContent: cache.name } });
    await evict();
    const inFull = await timedStream({
      model: MODEL,
      contents: [{ role: "user", parts: [{ text: document }, { text: "One day," }] }],
      config: { ...greedy, systemInstruction: "A story about birds." },
    });
    expect(withCache.usage?.cachedContentTokenCount).toBe(cachedTokens);
    // llama-server also reuses a prefix it has seen from its in-memory prompt cache, as Google's implicit caching does.
    if (!onLlamaServer) expect(inFull.usage?.cachedContentTokenCount ?? 0).toBeLessThan(3); // at most BOS and a leading space were held
    expect(withCache.usage?.promptTokenCount).toBe(inFull.usage?.promptTokenCount);
    expect(withCache.text.length).toBeGreaterThan(0);
    expect(withCache.text).toBe(inFull.text);
    await ai.caches.delete({ name: cache.name! });
  });

  it("a cache holds tools and toolConfig: a request naming it makes the forced function call", async () => {
    const cache = await ai.caches.create({
      model: MODEL,
      config: {
        contents: "What is the weather in Paris?\n",
        tools: [{ functionDeclarations: [{ name: "get_weather", parametersJsonSchema: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } }] }],
        toolConfig: { functionCallingConfig: { mode: FunctionCallingConfigMode.ANY } },
      },
    });
    await evict();
    const response = await ai.models.generateContent({ model: MODEL, contents: "Now.", config: { cachedContent: cache.name, temperature: 0 } });
    expect(response.functionCalls?.[0]?.name).toBe("get_weather");
    expect(typeof response.functionCalls?.[0]?.args?.city).toBe("string");
    // The tool instruction is part of the saved prefix, so all of it is reused.
    expect(response.usageMetadata?.cachedContentTokenCount).toBe(cache.usageMetadata?.totalTokenCount);
    await ai.caches.delete({ name: cache.name! });
  });

  it("cuts time to first token of a long shared prefix by at least 5x, and limits cached tokens with a 429", async () => {
    // A prefix close to the 2,048-token context, leaving room for the question and the answer.
    const sentences = await sentencesFor(1900);
    const long = (tag: string) => story(tag, sentences);
    const cache = await ai.caches.create({ model: MODEL, config: { contents: long("Ana") } });
    const prefixTokens = cache.usageMetadata!.totalTokenCount!;
    expect(prefixTokens).toBeGreaterThan(1800);
    expect(prefixTokens).toBeLessThan(2000);

    // Beyond --cache-max-tokens: refused at once, before anything is evaluated.
    const full = await apiError(ai.caches.create({ model: MODEL, config: { contents: long("Bo") } }));
    expect(full.status).toBe(429);
    expect(full.code).toBe("RESOURCE_EXHAUSTED");
    expect(full.message).toContain(`${prefixTokens} of this server's ${CACHE_MAX_TOKENS} cached tokens are in use (--cache-max-tokens)`);

    const without: number[] = [];
    const withCache: number[] = [];
    for (let run = 0; run < 3; run++) {
      // Without a cache: a prefix no sequence holds (its first word differs), recomputed in full.
      const cold = await timedStream({ model: MODEL, contents: [long(`Run${run}`), "Then"], config: { maxOutputTokens: 2 } });
      expect(cold.usage?.cachedContentTokenCount ?? 0).toBeLessThan(3);
      without.push(cold.firstMs);
      // With the cache, after evicting the prefix: its state is restored from the file.
      await evict();
      const warm = await timedStream({ model: MODEL, contents: `Then ${run}`, config: { maxOutputTokens: 2, cachedContent: cache.name } });
      expect(warm.usage?.cachedContentTokenCount).toBe(prefixTokens);
      withCache.push(warm.firstMs);
    }
    const speedup = median(without) / median(withCache);
    console.log(
      `time to first token, ${prefixTokens}-token prefix: without cache ${without.map((ms) => ms.toFixed(0)).join(", ")} ms; ` +
        `with cache ${withCache.map((ms) => ms.toFixed(1)).join(", ")} ms; median speed-up ${speedup.toFixed(1)}x`,
    );
    expect(speedup).toBeGreaterThanOrEqual(5);
    await ai.caches.delete({ name: cache.name! });
  });

  it("frees a cache when its TTL runs out: get is 404 and its state file is gone", async () => {
    const before = await stateFiles();
    const cache = await ai.caches.create({ model: MODEL, config: { contents: "A short one.\n", ttl: "0.5s" } });
    const [file] = (await stateFiles()).filter((name) => !before.includes(name));
    expect(file).toBeDefined();
    await waitFor(async () => !(await stateFiles()).includes(file!), 5000);
    const gone = await apiError(ai.caches.get({ name: cache.name! }));
    expect(gone.status).toBe(404);
    const used = await apiError(ai.models.generateContent({ model: MODEL, contents: "Hi", config: { cachedContent: cache.name } }));
    expect(used.status).toBe(404);
  });

  it("answers Google's 400s", async () => {
    const cache = await ai.caches.create({ model: MODEL, config: { contents: "The sun was warm.\n" } });
    const conflict = "CachedContent can not be used with GenerateContent request setting system_instruction, tools or tool_config.";
    for (const config of [
      { systemInstruction: "Be brief." },
      { tools: [{ functionDeclarations: [{ name: "f", description: "does f" }] }] },
      { toolConfig: { functionCallingConfig: { mode: "NONE" as never } } },
    ]) {
      const error = await apiError(ai.models.generateContent({ model: MODEL, contents: "Hi", config: { ...config, cachedContent: cache.name } }));
      expect(error.status).toBe(400);
      expect(error.message).toContain(conflict);
    }

    // "other" is the same GGUF loaded as a second model: a KV state belongs to the model that made it.
    const there = await ai.caches.create({ model: "other", config: { contents: "The moon was cold.\n" } });
    const mismatch = await apiError(ai.models.generateContent({ model: MODEL, contents: "Hi", config: { cachedContent: there.name } }));
    expect(mismatch.status).toBe(400);
    expect(mismatch.message).toBe(`Model used by GenerateContent request (models/${MODEL}) and CachedContent (models/other) has to be the same.`);
    await ai.caches.delete({ name: there.name! });

    for (const [ttl, message] of [
      ["300", `Invalid value at 'cached_content.ttl' (type.googleapis.com/google.protobuf.Duration), "300"`],
      ["-5s", `cached_content.ttl must be a positive duration, got "-5s".`],
    ]) {
      const bad = await apiError(ai.caches.create({ model: MODEL, config: { contents: "x", ttl } }));
      expect(bad.status).toBe(400);
      expect(bad.message).toContain(message);
      const badUpdate = await apiError(ai.caches.update({ name: cache.name!, config: { ttl } }));
      expect(badUpdate.status).toBe(400);
      expect(badUpdate.message).toContain(message);
    }
    const past = await apiError(ai.caches.create({ model: MODEL, config: { contents: "x", expireTime: "2001-01-01T00:00:00Z" } }));
    expect(past.message).toContain("cached_content.expire_time 2001-01-01T00:00:00Z is in the past");
    const both = await apiError(ai.caches.create({ model: MODEL, config: { contents: "x", ttl: "60s", expireTime: new Date(Date.now() + 60_000).toISOString() } }));
    expect(both.message).toContain("Oneof field 'expiration' is already set.");

    const upstream = await apiError(ai.caches.create({ model: "remote", config: { contents: "x" } }));
    expect(upstream.status).toBe(400);
    expect(upstream.message).toContain("models/remote is served by an upstream engine, which cannot hold a cached content");

    const mask = await fetch(`${server.url}/v1beta/${cache.name}?updateMask=displayName`, { method: "PATCH", body: JSON.stringify({ displayName: "new" }) });
    expect(mask.status).toBe(400);
    expect(((await mask.json()) as { error: { message: string } }).error.message).toContain(`update_mask: "displayName" cannot be updated`);
    const tooLong = await apiError(ai.caches.create({ model: MODEL, config: { contents: story("Zed", 100) } }));
    expect(tooLong.status).toBe(400);
    expect(tooLong.message).toContain(`context of 2048 tokens leaves no room for a prompt after it`);
    const unknown = await apiError(ai.caches.get({ name: "cachedContents/nosuchcache" }));
    expect(unknown.status).toBe(404);
    expect(unknown.message).toContain("CachedContent not found: cachedContents/nosuchcache");
    await ai.caches.delete({ name: cache.name! });
  });
});
