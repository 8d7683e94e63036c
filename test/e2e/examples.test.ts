import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../../src/cli/serve.js";
import { runToEnd } from "../support/process.js";
import { repoRoot, startTestServer } from "../support/server.js";

const tsx = path.join(repoRoot, "node_modules/.bin/tsx");
const SEPARATOR = "_".repeat(80);
let server: RunningServer;

beforeAll(async () => {
  server = await startTestServer({ apiKeys: ["example-key"] });
});
afterAll(async () => server?.close());

const env = () => ({ GENAI_LOCAL_URL: server.url, GENAI_LOCAL_API_KEY: "example-key" });

describe("the quickstart examples against a real server", () => {
  it.each(["stream.ts", "async-stream.ts"])("%s prints each chunk's text, then a line of 80 _", async (file) => {
    const run = await runToEnd(tsx, [`examples/${file}`], { env: env() });
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    const separators = run.lines.filter((l) => l.text === SEPARATOR).length;
    expect(separators).toBeGreaterThanOrEqual(2);
    expect(run.lines.at(-1)?.text).toBe(SEPARATOR);
    const text = run.lines.filter((l) => l.text !== SEPARATOR).map((l) => l.text).join("");
    expect(text.length).toBeGreaterThan(50);
  });

  it("concurrent.ts ticks about once a second while the story streams", async () => {
    // With no output limit the tiny model writes until its 2,048-token context is full: seconds of streaming.
    const run = await runToEnd(tsx, ["examples/concurrent.ts"], { env: env(), timeoutMs: 90_000 });
    expect(run.code).toBe(0);
    const ticks = run.lines.filter((l) => l.text === "==========not blocked!==========").map((l) => l.at);
    const chunks = run.lines.filter((l) => l.text === SEPARATOR).map((l) => l.at);
    expect(ticks.length).toBeGreaterThanOrEqual(2);
    for (let i = 1; i < ticks.length; i++) {
      const gap = ticks[i]! - ticks[i - 1]!;
      expect(gap).toBeGreaterThan(700);
      expect(gap).toBeLessThan(1600);
    }
    // The stream made progress between ticks: chunks arrived after the first tick and before the last.
    const between = chunks.filter((at) => at > ticks[0]! && at < ticks.at(-1)!);
    expect(between.length).toBeGreaterThan(0);
  }, 100_000);
});
