import { existsSync, readdirSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import OpenAI from "openai";
import { GoogleGenAI, Type } from "@google/genai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../../src/cli/serve.js";
import { CHAT_MODEL, CHAT_MODEL_ID, STORIES_MODEL, startTestServer, waitFor } from "../support/server.js";
import { askChild, busySlots, childServers, isRunning, llamaServerBinary, SKIP_REASON } from "../support/llama-server.js";

// The llama-server engine through real clients, on the real chat model (SmolLM2, greedy where the
// test reads the words) and the template-less story model. Needs a llama-server binary.
if (!llamaServerBinary) console.warn(`skipping test/e2e/llama-server-engine.test.ts: ${SKIP_REASON}`);

describe.skipIf(!llamaServerBinary)("the llama-server engine", () => {
  let server: RunningServer;
  let ai: GoogleGenAI;
  let openai: OpenAI;
  const generation = () => childServers().find((child) => child.model === CHAT_MODEL_ID && !child.embeddings)!;

  beforeAll(async () => {
    server = await startTestServer({ engine: "llama-server", llamaServer: llamaServerBinary, models: [CHAT_MODEL, STORIES_MODEL], parallel: 2 });
    ai = new GoogleGenAI({ apiKey: "k", httpOptions: { baseUrl: server.url } });
    openai = new OpenAI({ apiKey: "k", baseURL: `${server.url}/v1` });
  });
  afterAll(async () => server?.close());

  const greedy = { temperature: 0, maxOutputTokens: 40 };
  const question = "Name three colours of the rainbow.";

  it("starts one llama-server per model, and streams through @google/genai with usage", async () => {
    expect(childServers().map((child) => child.model).sort()).toEqual([CHAT_MODEL_ID, "stories-260k"]);
    // Each listens on a Unix socket in a directory of its own that only this user can enter.
    for (const { socketPath } of childServers()) expect(statSync(path.dirname(socketPath)).mode & 0o777).toBe(0o700);
    const stream = await ai.models.generateContentStream({ model: CHAT_MODEL_ID, contents: question, config: greedy });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks.length).toBeGreaterThanOrEqual(2);
    const text = chunks.map((chunk) => chunk.text ?? "").join("");
    expect(text.length).toBeGreaterThan(5);
    const last = chunks.at(-1)!;
    expect(last.candidates?.[0]?.finishReason).toMatch(/STOP|MAX_TOKENS/);
    expect(last.usageMetadata?.promptTokenCount).toBeGreaterThan(5);
    expect(last.usageMetadata?.candidatesTokenCount).toBeGreaterThan(0);
  });

  it("counts a prompt's tokens as the generation does", async () => {
    const counted = await ai.models.countTokens({ model: CHAT_MODEL_ID, contents: question });
    const reply = await ai.models.generateContent({ model: CHAT_MODEL_ID, contents: question, config: { ...greedy, maxOutputTokens: 2 } });
    expect(counted.totalTokens).toBe(reply.usageMetadata?.promptTokenCount);
  });

  it("stops at a stop sequence, leaving it out", async () => {
    const whole = (await ai.models.generateContent({ model: CHAT_MODEL_ID, contents: question, config: greedy })).text!;
    const words = whole.split(/\s+/).filter((word) => /^[a-z]{3,}$/i.test(word));
    const stop = words[Math.min(2, words.length - 1)]!;
    const cut = await ai.models.generateContent({ model: CHAT_MODEL_ID, contents: question, config: { ...greedy, stopSequences: [stop] } });
    expect(cut.text).toBe(whole.slice(0, whole.indexOf(stop)));
    expect(cut.candidates?.[0]?.finishReason).toBe("STOP");
  });

  it("keeps to a JSON schema", async () => {
    const reply = await ai.models.generateContent({
      model: CHAT_MODEL_ID,
      contents: "Describe a cat called Tom who is 3 years old.",
      config: {
        ...greedy,
        maxOutputTokens: 80,
        responseMimeType: "application/json",
        responseSchema: { type: Type.OBJECT, properties: { name: { type: Type.STRING }, age: { type: Type.INTEGER } }, required: ["name", "age"] },
      },
    });
    const value = JSON.parse(reply.text!);
    expect(typeof value.name).toBe("string");
    expect(Number.isInteger(value.age)).toBe(true);
  });

  it("calls a function when it must (mode ANY)", async () => {
    const reply = await ai.models.generateContent({
      model: CHAT_MODEL_ID,
      contents: "What is the weather in Paris?",
      config: {
        ...greedy,
        maxOutputTokens: 200,
        tools: [{ functionDeclarations: [{ name: "get_weather", description: "The weather in a city", parameters: { type: Type.OBJECT, properties: { city: { type: Type.STRING } }, required: ["city"] } }] }],
        toolConfig: { functionCallingConfig: { mode: "ANY" as never } },
      },
    });
    const call = reply.functionCalls?.[0];
    expect(call?.name, JSON.stringify(reply.candidates?.[0])).toBe("get_weather");
    expect(typeof call?.args?.city).toBe("string");
  });

  it("answers two candidates", async () => {
    const reply = await ai.models.generateContent({ model: CHAT_MODEL_ID, contents: question, config: { temperature: 1, seed: 7, maxOutputTokens: 10, candidateCount: 2 } });
    expect(reply.candidates).toHaveLength(2);
    for (const candidate of reply.candidates!) expect(candidate.content?.parts?.[0]?.text?.length).toBeGreaterThan(0);
  });

  it("serves embeddings from a second llama-server started on first use", async () => {
    const reply = await ai.models.embedContent({ model: CHAT_MODEL_ID, contents: ["a red apple", "a green pear"] });
    expect(reply.embeddings).toHaveLength(2);
    expect(reply.embeddings![0]!.values!.length).toBe(576); // SmolLM2-135M's hidden size
    expect(reply.embeddings![0]!.values).not.toEqual(reply.embeddings![1]!.values);
    expect(childServers().some((child) => child.model === CHAT_MODEL_ID && child.embeddings)).toBe(true);
  });

  it("holds a cached content and answers from it", async () => {
    const cache = await ai.caches.create({ model: CHAT_MODEL_ID, config: { contents: [{ role: "user", parts: [{ text: "My name is Ada and I live in Rome." }] }], systemInstruction: "You are terse." } });
    expect(cache.usageMetadata?.totalTokenCount).toBeGreaterThan(5);
    const reply = await ai.models.generateContent({ model: CHAT_MODEL_ID, contents: "Where do I live?", config: { ...greedy, cachedContent: cache.name } });
    expect(reply.text!.length).toBeGreaterThan(0);
    await ai.caches.delete({ name: cache.name! });
  });

  it("streams chat and legacy completions through the openai SDK", async () => {
    const stream = await openai.chat.completions.create({ model: CHAT_MODEL_ID, messages: [{ role: "user", content: question }], max_tokens: 20, temperature: 0, stream: true });
    let text = "";
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? "";
    expect(text.length).toBeGreaterThan(5);
    // A raw prompt, and a model without a chat template, are continued as plain text.
    const story = await openai.completions.create({ model: "stories-260k", prompt: "Once upon a time", max_tokens: 20, temperature: 0 });
    expect(story.choices[0]!.text.length).toBeGreaterThan(5);
    const chat = await openai.chat.completions.create({ model: "stories-260k", messages: [{ role: "user", content: "Once upon a time" }], max_tokens: 20, temperature: 0 });
    expect(chat.choices[0]!.message.content!.length).toBeGreaterThan(5);
  });

  it("answers text/x.enum with exactly one of the values (a grammar llama-server enforces)", async () => {
    const reply = await ai.models.generateContent({
      model: CHAT_MODEL_ID,
      contents: "Which is the colour of the sky?",
      config: { ...greedy, responseMimeType: "text/x.enum", responseSchema: { type: Type.STRING, enum: ["red", "sky blue", "green"] } },
    });
    expect(["red", "sky blue", "green"]).toContain(reply.text);
  });

  it("constrains and scores a template-less model's plain continuation too", async () => {
    const json = await ai.models.generateContent({
      model: "stories-260k",
      contents: "Once upon a time",
      config: { ...greedy, maxOutputTokens: 60, responseMimeType: "application/json", responseSchema: { type: Type.OBJECT, properties: { n: { type: Type.INTEGER } }, required: ["n"] } },
    });
    expect(Number.isInteger(JSON.parse(json.text!).n)).toBe(true);
    const scored = await ai.models.generateContent({ model: "stories-260k", contents: "Once upon a time", config: { ...greedy, maxOutputTokens: 4, responseLogprobs: true, logprobs: 0 } });
    const result = scored.candidates![0]!.logprobsResult!;
    expect(result.chosenCandidates!.length).toBeGreaterThan(0);
    expect(result.topCandidates?.[0]?.candidates ?? []).toHaveLength(0);
  });

  it("refuses a prompt longer than the context with a 400, in the words of the other engine", async () => {
    const long = "apple ".repeat(9000);
    const reply = ai.models.generateContent({ model: CHAT_MODEL_ID, contents: long, config: { maxOutputTokens: 5 } });
    await expect(reply).rejects.toMatchObject({ status: 400, message: expect.stringMatching(/The prompt has \d+ tokens, more than this model's context of 8192 tokens allows/) });
  });

  it("takes text with a lone surrogate, as the other engine does", async () => {
    const reply = await ai.models.generateContent({ model: CHAT_MODEL_ID, contents: "Hello \ud800 there", config: { ...greedy, maxOutputTokens: 3 } });
    expect(reply.text!.length).toBeGreaterThan(0);
  });

  it("reports log probabilities of the chosen and the top tokens", async () => {
    const reply = await ai.models.generateContent({ model: CHAT_MODEL_ID, contents: question, config: { ...greedy, maxOutputTokens: 5, responseLogprobs: true, logprobs: 2 } });
    const result = reply.candidates![0]!.logprobsResult!;
    expect(result.chosenCandidates!.length).toBeGreaterThan(0);
    expect(result.chosenCandidates![0]!.logProbability).toBeLessThanOrEqual(0);
    expect(result.topCandidates![0]!.candidates).toHaveLength(2);
  });

  it("stops generating when the client goes away", async () => {
    const controller = new AbortController();
    const response = await fetch(`${server.url}/v1beta/models/${CHAT_MODEL_ID}:streamGenerateContent?alt=sse`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ contents: [{ parts: [{ text: "Write a very long story about a dragon." }] }], generationConfig: { maxOutputTokens: 4000, temperature: 1 } }),
      signal: controller.signal,
    });
    const reader = response.body!.getReader();
    await reader.read();
    const { socketPath } = generation();
    expect(await busySlots(socketPath)).toBe(1);
    controller.abort();
    await waitFor(async () => (await busySlots(socketPath)) === 0, 10_000);
  });

  it("ends a stream with an error event when its llama-server is killed, and serves the next request", async () => {
    const victim = generation();
    const response = await fetch(`${server.url}/v1beta/models/${CHAT_MODEL_ID}:streamGenerateContent?alt=sse`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ contents: [{ parts: [{ text: "Write a very long story about a dragon." }] }], generationConfig: { maxOutputTokens: 4000, temperature: 1 } }),
    });
    const reader = response.body!.getReader();
    let raw = new TextDecoder().decode((await reader.read()).value);
    process.kill(victim.pid, "SIGKILL");
    for (let part = await reader.read(); !part.done; part = await reader.read()) raw += new TextDecoder().decode(part.value);
    const last = JSON.parse(raw.trim().split("\r\n\r\n").at(-1)!.slice("data: ".length));
    expect(last.error).toMatchObject({ code: 500, status: "INTERNAL" });
    expect(last.error.message).toContain("crashed");

    const next = await ai.models.generateContent({ model: CHAT_MODEL_ID, contents: question, config: { ...greedy, maxOutputTokens: 5 } });
    expect(next.text!.length).toBeGreaterThan(0);
    expect(generation().pid).not.toBe(victim.pid);
  });

  it("keeps a cached content's state in a file, which a new llama-server restores after a crash", async () => {
    // The test server's state dir is a genai-local-kv-* directory in the temp dir.
    const stateFiles = (): string[] =>
      readdirSync(os.tmpdir())
        .filter((dir) => dir.startsWith("genai-local-kv-"))
        .flatMap((dir) => {
          try {
            return readdirSync(path.join(os.tmpdir(), dir)).map((name) => `${dir}/${name}`);
          } catch {
            return []; // gone meanwhile, or another user's
          }
        })
        .filter((name) => name.endsWith(".kv"));
    const before = stateFiles();
    const contents = [{ role: "user", parts: [{ text: "My name is Ada and I live in Rome. I keep bees." }] }, { role: "model", parts: [{ text: "Noted." }] }];
    const cache = await ai.caches.create({ model: CHAT_MODEL_ID, config: { contents, systemInstruction: "You are terse." } });
    const [file] = stateFiles().filter((name) => !before.includes(name));
    expect(file).toBeDefined();
    const ask = () => ai.models.generateContent({ model: CHAT_MODEL_ID, contents: "Where do I live?", config: { ...greedy, maxOutputTokens: 12, cachedContent: cache.name } });
    const first = await ask();
    expect(first.usageMetadata?.cachedContentTokenCount).toBe(cache.usageMetadata?.totalTokenCount);

    // A new llama-server holds no slot and no prompt cache: what it reuses can only come from the file.
    const victim = generation();
    process.kill(victim.pid, "SIGKILL");
    await waitFor(async () => generation() !== undefined && generation().pid !== victim.pid && (await askChild(generation().socketPath, "/health"))?.status === 200, 60_000);
    const after = await ask();
    expect(after.usageMetadata?.cachedContentTokenCount).toBe(cache.usageMetadata?.totalTokenCount);
    expect(after.text).toBe(first.text);

    await ai.caches.delete({ name: cache.name! });
    await waitFor(async () => !stateFiles().includes(file!));
  });

  it("ends its llama-servers when the server closes", async () => {
    const children = childServers();
    expect(children.length).toBeGreaterThanOrEqual(2);
    await server.close();
    for (const child of children) expect(isRunning(child.pid)).toBe(false);
    for (const child of children) expect(existsSync(path.dirname(child.socketPath))).toBe(false);
    server = undefined as unknown as RunningServer;
  });
});
