import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { ChildProcess } from "node:child_process";
import { GoogleGenAI, type Content } from "@google/genai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawnServer } from "../support/process.js";
import { startReasoningUpstream, THOUGHT, type ReasoningUpstream } from "../support/reasoning-upstream.js";

/**
 * A thoughtSignature outlives the server that issued it: the signing key is kept in the data
 * directory (`thought-signing.key`, 0600, written once), so after a restart a function-calling
 * step's signature still gives the model its thoughts back. Real restarts: each server is its own
 * `genai-local serve` process, in front of an upstream that streams reasoning (vLLM's dialect).
 */
const tools = [{ functionDeclarations: [{ name: "get_weather", description: "Weather in a city", parametersJsonSchema: { type: "object", properties: { city: { type: "string" } } } }] }];

let upstream: ReasoningUpstream;
const dirs: string[] = [];
const children: ChildProcess[] = [];
beforeAll(async () => {
  upstream = await startReasoningUpstream(5);
});
afterAll(async () => {
  for (const child of children) child.kill("SIGKILL");
  await upstream?.close();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const dataDir = () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "genai-local-restart-"));
  dirs.push(dir);
  return path.join(dir, "data");
};

async function serve(dir: string): Promise<{ ai: GoogleGenAI; stop: () => Promise<void> }> {
  const server = await spawnServer(["--upstream", `think-vllm=openai:${upstream.url},model=think-vllm,reasoning=vllm`, "--data-dir", dir]);
  children.push(server.child);
  const stop = async () => {
    const exited = new Promise((resolve) => server.child.once("exit", resolve));
    server.child.kill("SIGTERM");
    await exited;
  };
  return { ai: new GoogleGenAI({ apiKey: "k", httpOptions: { baseUrl: server.url } }), stop };
}

/** The function call's result sent back after `call` (the model's turn as the first server gave it). */
const nextStep = (call: Content): Content[] => [
  { role: "user", parts: [{ text: "What is the weather in Paris?" }] },
  call,
  { role: "user", parts: [{ functionResponse: { name: "get_weather", response: { forecast: "sunny" } } }] },
];

/** The reasoning the upstream got back on the assistant turn of its latest request. */
const givenBack = () => (upstream.requests.at(-1)!.messages as { role: string; reasoning_content?: string }[]).find((m) => m.role === "assistant")?.reasoning_content;

describe("thought signatures across a restart", () => {
  it("a signature issued before a restart still gives the thoughts back after it; another data directory's server ignores it", async () => {
    const dir = dataDir();
    const before = await serve(dir);
    const keyFile = path.join(dir, "thought-signing.key");
    const first = await before.ai.models.generateContent({ model: "think-vllm", contents: "What is the weather in Paris?", config: { tools, thinkingConfig: { includeThoughts: true } } });
    const call = first.candidates![0]!.content!;
    expect(call.parts?.find((p) => p.functionCall)?.thoughtSignature).toBeTruthy();
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    const key = readFileSync(keyFile, "utf8");
    await before.stop();

    const after = await serve(dir);
    const answer = await after.ai.models.generateContent({ model: "think-vllm", contents: nextStep(call), config: { tools } });
    expect(answer.text).toBeTruthy();
    expect(givenBack()).toBe(THOUGHT.join(""));
    // Another signature from the restarted server: the key was read, not made again.
    await after.ai.models.generateContent({ model: "think-vllm", contents: "What is the weather in Paris?", config: { tools, thinkingConfig: { includeThoughts: true } } });
    expect(readFileSync(keyFile, "utf8")).toBe(key);
    await after.stop();

    const elsewhere = await serve(dataDir());
    await elsewhere.ai.models.generateContent({ model: "think-vllm", contents: nextStep(call), config: { tools } });
    expect(givenBack()).toBeUndefined();
    await elsewhere.stop();
  });

  it("a server that never signs leaves its data directory alone", async () => {
    const dir = dataDir();
    const server = await serve(dir);
    await server.ai.models.list();
    await server.stop();
    expect(() => statSync(path.join(dir, "thought-signing.key"))).toThrow();
  });
});
