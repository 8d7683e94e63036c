import path from "node:path";
import { describe, expect, it } from "vitest";
import { runToEnd } from "../support/process.js";
import { modelsDir } from "../support/server.js";
import { llamaServerBinary } from "../support/llama-server.js";

/**
 * Every benchmark still runs to its end, on the smallest settings, against the built server
 * (`npm test` builds first). Nothing here is timed: the numbers live in bench/README.md. A
 * benchmark broke once without anyone noticing (an upstream probe its fake engine did not
 * answer); this is what notices.
 */

/** Runs `bench/NAME.ts ARGS` (in a process group of its own, see runToEnd) and returns the JSON it prints last. */
async function runBench(name: string, args: string[]): Promise<unknown> {
  const run = await runToEnd(process.execPath, ["--import", "tsx", `bench/${name}.ts`, ...args], {
    env: { GENAI_LOCAL_MODELS_DIR: modelsDir() },
    timeoutMs: 150_000,
  });
  if (run.code !== 0) throw new Error(`bench/${name}.ts exited with ${run.code}:\n${run.stderr.slice(-3000)}`);
  const last = run.stdout.trim().split("\n").at(-1) ?? "";
  try {
    return JSON.parse(last);
  } catch {
    throw new Error(`bench/${name}.ts printed no JSON last:\n${run.stdout.slice(-3000)}`);
  }
}

describe("benchmarks run to their end", { timeout: 180_000 }, () => {
  it("bench:relay relays every chunk, through the SDK and the counting clients", async () => {
    const result = (await runBench("relay", ["--chunks", "300", "--streams", "2", "--capacity-chunks", "600", "--paced", "40"])) as Record<string, number>;
    // Each stream's chunks plus the closing one that carries finishReason.
    expect(result.sdkChunks).toBe(301);
    expect(result.capacityChunks).toBe(2 * 301);
    expect(result.capacityChunksPerS).toBeGreaterThan(0);
    expect(result.addedLatencyP50Ms).toBeGreaterThan(0);
  });

  it("bench:concurrency streams at each level", async () => {
    const result = (await runBench("concurrency", ["--levels", "1,2", "--rounds", "1", "--max-tokens", "20"])) as { rows: { streams: number; tokens: number }[] };
    expect(result.rows.map((r) => r.streams)).toEqual([1, 2]);
    expect(result.rows.map((r) => r.tokens)).toEqual([20, 40]);
  });

  it("bench:concurrency streams at each level on the chat model, loaded with --model-path", async () => {
    const modelPath = path.join(modelsDir(), "SmolLM2-135M-Instruct.Q4_1.gguf");
    const result = (await runBench("concurrency", ["--model-path", modelPath, "--levels", "1,2", "--rounds", "1", "--max-tokens", "8"])) as {
      target: { model: string; modelPath: string; maxTokens: number };
      rows: { streams: number; tokens: number }[];
    };
    expect(result.target).toMatchObject({ model: "smollm2-135m-instruct-q4-1", modelPath, maxTokens: 8 });
    expect(result.rows.map((r) => r.streams)).toEqual([1, 2]);
    // Greedy, and the story it starts is longer than 8 tokens: every stream reaches its limit.
    expect(result.rows.map((r) => r.tokens)).toEqual([8, 16]);
  });

  it("bench:overhead measures the engine alone, both wires and the clients' floors", async () => {
    const result = (await runBench("overhead", ["--reps", "1", "--threads", "1", "--prompts", "short", "--streams", "1", "--max-tokens", "20"])) as { rows: Record<string, number>[] };
    expect(result.rows).toHaveLength(1);
    for (const column of ["aTokPerS", "bTokPerS", "cTokPerS", "aPinnedTokPerS", "aTtftMs", "bTtftMs", "cTtftMs", "zbTtftMs", "zcTtftMs"]) {
      expect(result.rows[0]![column], column).toBeGreaterThan(0);
    }
  });

  it("bench:layers runs each layer", async () => {
    const rows = (await runBench("layers", ["--reps", "1", "--streams", "1", "--max-tokens", "20"])) as Record<string, number>[];
    expect(rows).toHaveLength(1);
    for (const layer of ["a", "e", "r", "h", "b"]) expect(rows[0]![`${layer} tok/s`], layer).toBeGreaterThan(0);
  });

  it("bench:ttft-probe times one stream at a time and reads genai-local's own timeline", async () => {
    const result = (await runBench("ttft-probe", ["--rounds", "3", "--max-tokens", "4", "--gap-ms", "5", "--timeline"])) as {
      rows: { target: string; requests: number; ttftP50Ms: number }[];
      timeline: Record<string, number>;
    };
    expect(result.rows.map((r) => [r.target, r.requests])).toEqual([["genai-local", 3]]);
    expect(result.rows[0]!.ttftP50Ms).toBeGreaterThan(0);
    expect(result.timeline.requests).toBe(3);
    // The body is read before the first text leaves, and that before the response ends.
    expect(result.timeline.firstTextWriteMs).toBeGreaterThan(result.timeline.bodyMs!);
    expect(result.timeline.doneMs).toBeGreaterThanOrEqual(result.timeline.firstTextWriteMs!);
  });

  it.skipIf(!llamaServerBinary)("bench:ttft-probe on the llama-server engine: llama-server, genai-local and its child, and the upstream steps", async () => {
    const binary = llamaServerBinary!;
    const result = (await runBench("ttft-probe", ["--llama-server", binary, `--genai-args=--llama-server ${binary}`, "--llama-args=-t 1", "--rounds", "2", "--max-tokens", "4", "--gap-ms", "5", "--timeline"])) as {
      reference: string;
      rows: { target: string; requests: number; ttftP50Ms: number }[];
      timeline: Record<string, number>;
    };
    expect(result.reference).toBe("llama-server");
    expect(result.rows.map((r) => [r.target, r.requests])).toEqual([["genai-local", 2], ["llama-server", 2], ["child", 2]]);
    for (const row of result.rows) expect(row.ttftP50Ms, row.target).toBeGreaterThan(0);
    const { bodyMs, upstreamCreatedMs, sentMs, upstreamFirstTextMs, firstTextWriteMs } = result.timeline;
    expect([bodyMs, upstreamCreatedMs, sentMs, upstreamFirstTextMs, firstTextWriteMs].every((ms) => ms !== undefined)).toBe(true);
    expect(sentMs).toBeGreaterThanOrEqual(upstreamCreatedMs!);
    expect(firstTextWriteMs).toBeGreaterThanOrEqual(upstreamFirstTextMs!);
  });

  it.skipIf(!llamaServerBinary)("bench:vs-llama-server runs genai-local and llama-server side by side", async () => {
    const binary = llamaServerBinary!;
    const result = (await runBench("vs-llama-server", ["--llama-server", binary, "--llama-configs=-t 1", "--levels", "1,2", "--rounds", "1", "--max-tokens", "8", "--busy-ok"])) as {
      rows: { streams: number; genaiTokPerS: number; best: string; ratio: number; ttftRatio: number }[];
    };
    expect(result.rows.map((r) => [r.streams, r.best])).toEqual([[1, "llama-server -t 1"], [2, "llama-server -t 1"]]);
    for (const row of result.rows) expect(row.genaiTokPerS * row.ratio * row.ttftRatio, `${row.streams} streams`).toBeGreaterThan(0);
  });

  it("bench:builds compares two servers request by request", async () => {
    const result = (await runBench("builds", ["--main", "dist/cli/main.js", "--main", "dist/cli/main.js", "--requests", "2", "--gap-ms", "10", "--max-tokens", "20"])) as { rows: { requests: number }[] };
    expect(result.rows.map((r) => r.requests)).toEqual([2, 2]);
  });
});
