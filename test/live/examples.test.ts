import "../support/env.js";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../../src/cli/serve.js";
import { startPacedUpstream, STORY, STORY_MODEL, type PacedUpstream } from "../support/paced-upstream.js";
import { runToEnd } from "../support/process.js";
import { repoRoot, startTestServer } from "../support/server.js";

/**
 * examples/live.ts against a real server, on a paced engine whose replies take seconds (so the
 * ticker has something to tick through). tests/python/test_live.py runs live.py on the local chat model.
 */
const tsx = path.join(repoRoot, "node_modules/.bin/tsx");
const TICK = "[tick]";
const SEPARATOR = "_".repeat(80);
let server: RunningServer;
let story: PacedUpstream;

beforeAll(async () => {
  story = await startPacedUpstream(15);
  server = await startTestServer({ apiKeys: ["example-key"], upstreams: [`${STORY_MODEL}=openai:${story.url},model=${STORY_MODEL}`] });
});
afterAll(async () => {
  await server?.close();
  await story?.close();
});

const run = (model: string) =>
  runToEnd(tsx, ["examples/live.ts"], { env: { GENAI_LOCAL_URL: server.url, GENAI_LOCAL_API_KEY: "example-key", MODEL_ID: model }, timeoutMs: 90_000 });

describe("examples/live.ts", () => {
  it("prints the reply piece by piece while the ticker ticks beside it", async () => {
    const result = await run(STORY_MODEL);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    const lines = result.lines.map((l) => l.text);
    expect(lines.filter((l) => l === SEPARATOR)).toHaveLength(2);
    expect(lines.filter((l) => l.startsWith("> "))).toHaveLength(2);
    const out = lines.join("\n");
    // The story streams for about 3 s a turn: ticks land inside the reply, between its pieces.
    const firstReply = out.split(SEPARATOR)[0]!;
    expect(firstReply.split(TICK).length - 1).toBeGreaterThanOrEqual(3);
    expect(firstReply.replaceAll(` ${TICK} `, "").replace(/^> .*\n/, "").replace(/\s+/g, " ").trim()).toBe(STORY.trim());
  }, 100_000);
});
