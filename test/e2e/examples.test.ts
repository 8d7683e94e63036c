import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../../src/cli/serve.js";
import { startPacedUpstream, STORY, STORY_MODEL, type PacedUpstream } from "../support/paced-upstream.js";
import { runToEnd } from "../support/process.js";
import { CHAT_MODEL, repoRoot, startTestServer } from "../support/server.js";

const tsx = path.join(repoRoot, "node_modules/.bin/tsx");
const SEPARATOR = "_".repeat(80);
const TICK = "==========not blocked!==========";
let server: RunningServer;
let story: PacedUpstream;

beforeAll(async () => {
  // 209 words, one every 15 ms: a story that streams for about 3 s, as long as the machine lives.
  story = await startPacedUpstream(15);
  // The default model (every gemini-* id the examples ask for) is the real chat model.
  server = await startTestServer({ apiKeys: ["example-key"], models: [CHAT_MODEL], upstreams: [`${STORY_MODEL}=openai:${story.url},model=${STORY_MODEL}`] });
});
afterAll(async () => {
  await server?.close();
  await story?.close();
});

const env = (model?: string) => ({ GENAI_LOCAL_URL: server.url, GENAI_LOCAL_API_KEY: "example-key", ...(model ? { MODEL_ID: model } : {}) });

describe("the quickstart examples against a real server", () => {
  it.each(["stream.ts", "async-stream.ts"])("%s prints each chunk's text, then a line of 80 _", async (file) => {
    const run = await runToEnd(tsx, [`examples/${file}`], { env: env(), timeoutMs: 150_000 });
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    const separators = run.lines.filter((l) => l.text === SEPARATOR).length;
    expect(separators).toBeGreaterThanOrEqual(2);
    expect(run.lines.at(-1)?.text).toBe(SEPARATOR);
    const text = run.lines.filter((l) => l.text !== SEPARATOR).map((l) => l.text).join("");
    expect(text.length).toBeGreaterThan(50);
  }, 160_000);

  it("concurrent.ts streams the chat model's story to its end and exits", async () => {
    // No output limit: the chat model ends its story by itself (STOP). How long it is varies with the
    // sampled tokens (485 characters in one CI run), so only a story's worth of text is asked for.
    const run = await runToEnd(tsx, ["examples/concurrent.ts"], { env: env(), timeoutMs: 150_000 });
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.lines.at(-1)?.text).toMatch(new RegExp(`^(${SEPARATOR}|${TICK})$`));
    const text = run.lines.filter((l) => l.text !== SEPARATOR && l.text !== TICK).map((l) => l.text).join("");
    expect(text.length).toBeGreaterThan(200);
    expect(text).not.toMatch(/<\|im_(start|end)\|>/);
  }, 160_000);

  it("concurrent.ts ticks about once a second while a story streams for seconds", async () => {
    // The local model is too quick to tick through: the story comes from a paced engine behind genai-local.
    const run = await runToEnd(tsx, ["examples/concurrent.ts"], { env: env(STORY_MODEL), timeoutMs: 60_000 });
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    const ticks = run.lines.filter((l) => l.text === TICK).map((l) => l.at);
    const chunks = run.lines.filter((l) => l.text === SEPARATOR).map((l) => l.at);
    expect(ticks.length).toBeGreaterThanOrEqual(2);
    for (let i = 1; i < ticks.length; i++) {
      const gap = ticks[i]! - ticks[i - 1]!;
      expect(gap).toBeGreaterThan(700);
      expect(gap).toBeLessThan(1600);
    }
    // The stream made progress in every second the ticker ticked through, not in one burst.
    for (let i = 1; i < ticks.length; i++) {
      if (ticks[i]! > chunks.at(-1)!) break;
      expect(chunks.filter((at) => at > ticks[i - 1]! && at < ticks[i]!).length).toBeGreaterThan(10);
    }
    const text = run.lines.filter((l) => l.text !== SEPARATOR && l.text !== TICK).map((l) => l.text).join("");
    expect(text.replace(/\s+/g, " ").trim()).toBe(STORY.trim());
  }, 70_000);
});
