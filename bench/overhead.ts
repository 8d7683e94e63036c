/**
 * What serving costs: the same greedy generations run (a) on node-llama-cpp in this process,
 * (b) through genai-local's Gemini API with @google/genai, (c) through its OpenAI surface with
 * the openai SDK — interleaved, repeated, medians — at 1 and 4 streams, for a short and a long
 * (prefill-bound) prompt, and for --threads 1 and 2.
 *
 *   npm run bench:overhead -- [--reps 5] [--max-tokens 300] [--threads 1,2] [--json out.json]
 */
import { writeFileSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { GoogleGenAI } from "@google/genai";
import { getLlama, LlamaLogLevel, type LlamaContext, type LlamaModel } from "node-llama-cpp";
import OpenAI from "openai";
import { startLocalServer } from "./local-server.js";

const { values } = parseArgs({
  options: {
    reps: { type: "string", default: "5" },
    "max-tokens": { type: "string", default: "300" },
    threads: { type: "string", default: "1,2" },
    json: { type: "string" },
  },
});
const REPS = Number(values.reps);
const MAX_TOKENS = Number(values["max-tokens"]);
const modelPath = path.join(process.env.GENAI_LOCAL_MODELS_DIR ?? path.resolve("../shared/models"), "stories260K.gguf");
const PROMPTS = {
  short: "Once upon a time",
  long: Array.from({ length: 40 }, (_, i) => `On day ${i} the little cat went to the park and played with a ball.`).join(" "),
};

interface Run {
  tokens: number;
  ms: number;
  ttft: number;
}
type Runner = (prompt: string, streams: number) => Promise<Run>;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function timed(streams: number, one: () => Promise<{ tokens: number; ttft: number }>): Promise<Run> {
  const t0 = performance.now();
  const results = await Promise.all(Array.from({ length: streams }, one));
  return { tokens: results.reduce((s, r) => s + r.tokens, 0), ms: performance.now() - t0, ttft: median(results.map((r) => r.ttft)) };
}

/** (a) node-llama-cpp alone: tokenize, evaluate greedily, detokenize, as a minimal app would. */
async function inProcess(threads: number): Promise<{ run: Runner; close: () => Promise<void> }> {
  const llama = await getLlama({ gpu: false, build: "never", maxThreads: threads, logLevel: LlamaLogLevel.error });
  const model: LlamaModel = await llama.loadModel({ modelPath });
  const context: LlamaContext = await model.createContext({ sequences: 4, threads, contextSize: 2048 });
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
      for await (const token of sequence.evaluate([model.tokens.bos!, ...model.tokenize(prompt)], { temperature: 0 })) {
        if (model.isEogToken(token)) break;
        text += model.detokenize([token]);
        ttft ||= performance.now() - t0;
        if (++tokens >= MAX_TOKENS) break;
      }
      return { tokens: text ? tokens : 0, ttft };
    });
  };
  return { run, close: async () => { await context.dispose(); await model.dispose(); } };
}

/** (b) and (c): a genai-local server, driven by the official SDKs. */
async function throughServer(threads: number): Promise<{ gemini: Runner; openai: Runner; close: () => Promise<void> }> {
  const server = await startLocalServer(["--threads", String(threads), "--parallel", "4"]);
  const ai = new GoogleGenAI({ apiKey: "bench", httpOptions: { baseUrl: server.url } });
  const client = new OpenAI({ apiKey: "bench", baseURL: `${server.url}/v1` });
  const gemini: Runner = (prompt, streams) =>
    timed(streams, async () => {
      const t0 = performance.now();
      let ttft = 0;
      let tokens = 0;
      for await (const chunk of await ai.models.generateContentStream({ model: "stories-260k", contents: prompt, config: { temperature: 0, maxOutputTokens: MAX_TOKENS } })) {
        ttft ||= performance.now() - t0;
        tokens = chunk.usageMetadata?.candidatesTokenCount ?? tokens;
      }
      return { tokens, ttft };
    });
  const openai: Runner = (prompt, streams) =>
    timed(streams, async () => {
      const t0 = performance.now();
      let ttft = 0;
      let tokens = 0;
      const stream = await client.chat.completions.create({
        model: "stories-260k",
        messages: [{ role: "user", content: prompt }],
        temperature: 0,
        max_tokens: MAX_TOKENS,
        stream: true,
        stream_options: { include_usage: true },
      });
      for await (const chunk of stream) {
        if (chunk.choices[0]?.delta.content) ttft ||= performance.now() - t0;
        tokens = chunk.usage?.completion_tokens ?? tokens;
      }
      return { tokens, ttft };
    });
  return { gemini, openai, close: server.stop };
}

const rows = [];
let run = 0;
for (const threads of values.threads!.split(",").map(Number)) {
  const a = await inProcess(threads);
  const server = await throughServer(threads);
  const runners: Record<string, Runner> = { "a in-process": a.run, "b gemini": server.gemini, "c openai": server.openai };
  for (const [promptName, prompt] of Object.entries(PROMPTS)) {
    for (const streams of [1, 4]) {
      const samples: Record<string, Run[]> = Object.fromEntries(Object.keys(runners).map((k) => [k, []]));
      // The long prompt starts differently every run, so that no run finds it in a KV cache: the
      // server's prefix reuse would otherwise skip the prefill this row is meant to measure.
      const promptFor = () => (promptName === "long" ? `Day ${++run}. ${prompt}` : prompt);
      for (const runner of Object.values(runners)) await runner(promptFor(), streams); // warm-up
      for (let rep = 0; rep < REPS; rep++) {
        for (const [name, runner] of Object.entries(runners)) samples[name]!.push(await runner(promptFor(), streams));
      }
      const rate = (name: string) => median(samples[name]!.map((r) => (r.tokens / r.ms) * 1000));
      const ttft = (name: string) => median(samples[name]!.map((r) => r.ttft));
      rows.push({
        threads,
        prompt: promptName,
        streams,
        aTokPerS: Math.round(rate("a in-process")),
        bTokPerS: Math.round(rate("b gemini")),
        cTokPerS: Math.round(rate("c openai")),
        bOverA: +(rate("b gemini") / rate("a in-process")).toFixed(3),
        cOverA: +(rate("c openai") / rate("a in-process")).toFixed(3),
        aTtftMs: +ttft("a in-process").toFixed(1),
        bTtftMs: +ttft("b gemini").toFixed(1),
        cTtftMs: +ttft("c openai").toFixed(1),
      });
      console.table([rows.at(-1)]);
    }
  }
  await a.close();
  await server.close();
}
console.table(rows);
console.log(JSON.stringify({ maxTokens: MAX_TOKENS, reps: REPS, rows }));
if (values.json) writeFileSync(values.json, `${JSON.stringify({ maxTokens: MAX_TOKENS, reps: REPS, rows }, null, 2)}\n`);
