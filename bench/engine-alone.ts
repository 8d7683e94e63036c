/**
 * The engine alone, as a minimal app would use it: node-llama-cpp in one process, tokenize,
 * evaluate greedily, detokenize (the prompt as raw text: no chat template, also for a chat model). bench:overhead runs it in its own process as (a), and once more
 * pinned to one CPU as (a′) — the placement genai-local gives a one-thread runner.
 *
 * As a child process (`engine-alone.ts --serve THREADS MAX_TOKENS MODEL_PATH`) it answers
 * `{ prompt, streams }` messages with a Run.
 */
import { getLlama, LlamaLogLevel, type LlamaContext, type LlamaModel } from "node-llama-cpp";
import { flashAttentionFor } from "../src/engines/llama/llama-runtime.js";

export interface Run {
  tokens: number;
  ms: number;
  ttft: number;
}
export type Runner = (prompt: string, streams: number) => Promise<Run>;
export const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function timed(streams: number, one: () => Promise<{ tokens: number; ttft: number }>): Promise<Run> {
  const t0 = performance.now();
  const results = await Promise.all(Array.from({ length: streams }, one));
  return { tokens: results.reduce((s, r) => s + r.tokens, 0), ms: performance.now() - t0, ttft: median(results.map((r) => r.ttft)) };
}

export async function engineAlone(modelPath: string, threads: number, maxTokens: number): Promise<{ run: Runner; close: () => Promise<void> }> {
  const llama = await getLlama({ gpu: false, build: "never", maxThreads: threads, logLevel: LlamaLogLevel.error });
  const model: LlamaModel = await llama.loadModel({ modelPath });
  // Flash attention as genai-local sets it by default, so that both run the same kernels.
  const flashAttention = flashAttentionFor("auto", llama.gpu !== false);
  const context: LlamaContext = await model.createContext({ sequences: 4, threads, contextSize: 2048, flashAttention });
  const sequences = Array.from({ length: 4 }, () => context.getSequence());
  const run: Runner = (prompt, streams) => {
    let next = 0;
    return timed(streams, async () => {
      const sequence = sequences[next++]!;
      await sequence.clearHistory();
      const t0 = performance.now();
      let ttft = 0;
      let tokens = 0;
      let text = "";
      // The prompt's raw text, without a chat template, BOS first where the model wants one.
      const bos = model.tokens.shouldPrependBosToken && model.tokens.bos !== null ? [model.tokens.bos] : [];
      for await (const token of sequence.evaluate([...bos, ...model.tokenize(prompt)], { temperature: 0 })) {
        if (model.isEogToken(token)) break;
        text += model.detokenize([token]);
        ttft ||= performance.now() - t0;
        if (++tokens >= maxTokens) break;
      }
      return { tokens: text ? tokens : 0, ttft };
    });
  };
  return { run, close: async () => { await context.dispose(); await model.dispose(); } };
}

if (process.argv[2] === "--serve" && process.send) {
  const [threads, maxTokens, modelPath] = process.argv.slice(3);
  const engine = await engineAlone(modelPath!, Number(threads), Number(maxTokens));
  process.on("message", async (message: { prompt: string; streams: number }) => process.send!(await engine.run(message.prompt, message.streams)));
  process.on("disconnect", () => void engine.close().then(() => process.exit(0)));
  process.send("ready");
}
