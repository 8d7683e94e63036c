import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runToEnd, spawnServer } from "../support/process.js";

const SEPARATOR = "_".repeat(80);
const cli = (args: string[], env: NodeJS.ProcessEnv = {}) => runToEnd(process.execPath, ["dist/cli/main.js", ...args], { env, timeoutMs: 140_000 });

describe("genai-local stream", () => {
  it("replays the quickstart in-process, offline, from the shared models dir", async () => {
    const run = await cli(["stream", "Tell me a story in 300 words.", "--threads", "1"], { GENAI_LOCAL_OFFLINE: "1" });
    expect(run.code).toBe(0);
    const separators = run.lines.filter((l) => l.text === SEPARATOR).length;
    expect(separators).toBeGreaterThanOrEqual(2);
    expect(run.lines.at(-1)?.text).toBe(SEPARATOR);
    expect(run.lines.filter((l) => l.text !== SEPARATOR).map((l) => l.text).join("").length).toBeGreaterThan(50);
  }, 150_000);

  it("names the models dir and the file to put there when the model is missing offline", async () => {
    const empty = await mkdtemp(path.join(os.tmpdir(), "genai-local-empty-"));
    try {
      const run = await cli(["stream", "hi"], { GENAI_LOCAL_MODELS_DIR: empty, GENAI_LOCAL_OFFLINE: "1" });
      expect(run.code).toBe(1);
      expect(run.stderr).toContain(empty);
      expect(run.stderr).toContain("SmolLM2-135M-Instruct.Q4_1.gguf");
      expect(run.stderr).not.toMatch(/^\s+at /m); // no stack trace
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });
});

describe("genai-local serve", () => {
  let server: Awaited<ReturnType<typeof spawnServer>>;

  beforeAll(async () => {
    server = await spawnServer(["--api-key", "cli-key"]);
  });
  afterAll(() => {
    if (server?.child.exitCode === null) server.child.kill("SIGKILL");
  });

  it("serves the SDK for `stream --url`, then stops cleanly on SIGTERM", async () => {
    const run = await cli(["stream", "Once upon a time", "--url", server.url, "--model", "gemini-2.5-flash"], {
      GENAI_LOCAL_API_KEY: "cli-key",
    });
    expect(run.code).toBe(0);
    expect(run.lines.filter((l) => l.text === SEPARATOR).length).toBeGreaterThanOrEqual(2);

    const exited = new Promise<number | null>((resolve) => server.child.on("exit", (code) => resolve(code)));
    server.child.kill("SIGTERM");
    expect(await exited).toBe(0);
  });

  it("lists models and their files", async () => {
    const run = await cli(["models"]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("smollm2-135m-instruct (default)");
    expect(run.stdout).toContain("SmolLM2-135M-Instruct.Q4_1.gguf");
    expect(run.stdout).toContain("stories260K.gguf");
  });
});
