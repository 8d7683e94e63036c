import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { spawnServer, runToEnd } from "../support/process.js";
import { waitFor } from "../support/server.js";
import { isRunning, llamaServerBinary, SKIP_REASON } from "../support/llama-server.js";
import { execFileSync } from "node:child_process";

// `serve --engine …` as a user runs it (dist/), with an empty data dir and a PATH without llama-server.
const empty = await mkdtemp(path.join(os.tmpdir(), "genai-local-engine-choice-"));
const env = { PATH: path.dirname(process.execPath), GENAI_LOCAL_DATA_DIR: empty, GENAI_LOCAL_LOG_LEVEL: "info", GENAI_LOCAL_LLAMA_SERVER: undefined, GENAI_LOCAL_ENGINE: undefined };
afterAll(() => rm(empty, { recursive: true, force: true }));

/** The "engine chosen" log lines a server wrote at start. */
const choices = (stderr: string): { model: string; engine: string; reason: string }[] =>
  stderr
    .split("\n")
    .filter((line) => line.includes('"engine chosen"'))
    .map((line) => JSON.parse(line));

describe("choosing the engine", () => {
  it("auto without a llama-server binary serves on node-llama-cpp and says why", async () => {
    const server = await spawnServer([], env);
    try {
      expect(choices(server.stderr())).toEqual([expect.objectContaining({ model: "stories-260k", engine: "node-llama-cpp", reason: expect.stringContaining("no llama-server binary was found") })]);
    } finally {
      server.child.kill("SIGKILL");
    }
  });

  it("--engine llama-server without a binary stops at start with a readable line", async () => {
    const run = await runToEnd(process.execPath, ["dist/cli/main.js", "serve", "--port", "0", "--model", "stories-260k=stories260K.gguf", "--engine", "llama-server"], { env });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("genai-local: --engine llama-server needs a llama-server binary; none was found");
  });

  it("a model with a projector (mmproj=) on node-llama-cpp stops at start, naming the engine it needs", async () => {
    const run = await runToEnd(process.execPath, ["dist/cli/main.js", "serve", "--port", "0", "--model", "vlm=stories260K.gguf,mmproj=stories260K.gguf", "--engine", "node-llama-cpp"], { env });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("The model vlm names a projector (mmproj=stories260K.gguf), which only the llama-server engine reads");
  });

  it("--llama-server naming a missing file is an error, not a fallback", async () => {
    const run = await runToEnd(process.execPath, ["dist/cli/main.js", "serve", "--port", "0", "--model", "stories-260k=stories260K.gguf", "--llama-server", "/nonexistent/llama-server"], { env });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("--llama-server names /nonexistent/llama-server, which is not an executable file");
  });

  it.skipIf(!llamaServerBinary)("auto takes GENAI_LOCAL_LLAMA_SERVER, logs its version, and its child dies with the server even on SIGKILL", async () => {
    const server = await spawnServer([], { ...env, GENAI_LOCAL_LLAMA_SERVER: llamaServerBinary });
    const [choice] = choices(server.stderr());
    expect(choice).toMatchObject({ engine: "llama-server", reason: `--engine auto found ${llamaServerBinary} (from GENAI_LOCAL_LLAMA_SERVER)` });
    const started = server.stderr().split("\n").find((line) => line.includes('"llama-server engine"'))!;
    expect(JSON.parse(started)).toMatchObject({ binary: llamaServerBinary, version: expect.stringMatching(/\S/) });
    const children = execFileSync("pgrep", ["-P", String(server.child.pid)]).toString().trim().split("\n").map(Number);
    expect(children).toHaveLength(1);
    server.child.kill("SIGKILL");
    await waitFor(async () => !isRunning(children[0]!), 10_000);
  });

  it.skipIf(!llamaServerBinary)("stream without --url runs its one reply on llama-server too, and leaves no child", async () => {
    // A wrapper that notes each start and runs the real binary, so the test sees llama-server was used.
    const calls = path.join(empty, "calls");
    const wrapper = path.join(empty, "llama-server");
    await writeFile(wrapper, `#!/bin/sh\necho "$@" >> ${calls}\nexec ${llamaServerBinary} "$@"\n`, { mode: 0o755 });
    const run = await runToEnd(process.execPath, ["dist/cli/main.js", "stream", "Say hi.", "--model", "smol=SmolLM2-135M-Instruct.Q4_1.gguf"], { env: { ...env, GENAI_LOCAL_LLAMA_SERVER: wrapper } });
    expect(run.code).toBe(0);
    expect(await readFile(calls, "utf8")).toContain("--alias smol");
    expect(run.stdout).toContain("_".repeat(80));
    expect(run.stdout.replaceAll("_".repeat(80), "").trim().length).toBeGreaterThan(0);
    expect(execFileSync("ps", ["-eo", "args="]).toString()).not.toContain("--alias smol ");
  });
});

if (!llamaServerBinary) console.warn(`skipping the llama-server cases of test/cli/engine-choice.test.ts: ${SKIP_REASON}`);
