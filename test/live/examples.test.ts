import "../support/env.js";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../../src/cli/serve.js";
import { startPacedUpstream, STORY, STORY_MODEL, type PacedUpstream } from "../support/paced-upstream.js";
import { runToEnd } from "../support/process.js";
import { repoRoot, startTestServer } from "../support/server.js";
import { CHAT_MODEL, CHAT_MODEL_SPEC } from "./live-clients.js";

/** examples/live.ts against a real server: on the chat model, and on a paced engine whose replies take seconds. */
const tsx = path.join(repoRoot, "node_modules/.bin/tsx");
const TICK = "[tick]";
const SEPARATOR = "_".repeat(80);
let server: RunningServer;
let story: PacedUpstream;

beforeAll(async () => {
  story = await startPacedUpstream(15);
  server = await startTestServer({ apiKeys: ["example-key"], models: [CHAT_MODEL_SPEC], upstreams: [`${STORY_MODEL}=openai:${story.url},model=${STORY_MODEL}`] });
});
afterAll(async () => {
  await server?.close();
  await story?.close();
});

const run = (model: string) =>
  runToEnd(tsx, ["examples/live.ts"], { env: { GENAI_LOCAL_URL: server.url, GENAI_LOCAL_API_KEY: "example-key", MODEL_ID: model }, timeoutMs: 90_000 });

describe("examples/live.ts", () => {
  it("chats two turns with the local chat model and exits", async () => {
    const result = await run(CHAT_MODEL);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    const out = result.lines.map((l) => l.text);
    expect(out.filter((l) => l === SEPARATOR)).toHaveLength(2);
    expect(out.filter((l) => l.startsWith("> "))).toHaveLength(2);
  }, 100_000);

  it("prints the reply piece by piece while the ticker ticks beside it", async () => {
    const result = await run(STORY_MODEL);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    const out = result.lines.map((l) => l.text).join("\n");
    // The story streams for about 3 s a turn: ticks land inside the reply, between its pieces.
    const firstReply = out.split(SEPARATOR)[0]!;
    expect(firstReply.split(TICK).length - 1).toBeGreaterThanOrEqual(3);
    expect(firstReply.replaceAll(` ${TICK} `, "").replace(/^> .*\n/, "").replace(/\s+/g, " ").trim()).toBe(STORY.trim());
  }, 100_000);
});
