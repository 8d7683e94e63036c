/**
 * Sweeps concurrent streams (1/2/4/8/16 by default) against any server speaking the Gemini or
 * OpenAI streaming API and prints aggregate tokens/s, TTFT and inter-token latency.
 *
 *   npm run bench:concurrency -- [--url URL] [--format gemini|openai] [--model ID] [--model-path GGUF]
 *                                [--levels 1,4,16] [--max-tokens 300] [--rounds 2] [--prompt TEXT] [--api-key KEY]
 *                                [--json out.json]
 * Without --url it starts genai-local itself (1 thread, --parallel 4) on --model-path (stories260K.gguf).
 */
import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { benchModel, modelOptions, startLocalServer } from "./local-server.js";
import { percentile, timeOneStream, type StreamTarget } from "./stream-clients.js";

const { values } = parseArgs({
  options: {
    url: { type: "string" },
    format: { type: "string", default: "gemini" },
    ...modelOptions,
    levels: { type: "string", default: "1,2,4,8,16" },
    "max-tokens": { type: "string", default: "300" },
    rounds: { type: "string", default: "2" },
    prompt: { type: "string", default: "Once upon a time" },
    "api-key": { type: "string" },
    parallel: { type: "string", default: "4" },
    json: { type: "string" },
  },
});

const model = benchModel(values);
const local = values.url ? undefined : await startLocalServer([...model.serverArgs, "--threads", "1", "--parallel", values.parallel!, "--queue-size", "64"]);
const target: StreamTarget = {
  baseUrl: (values.url ?? local!.url).replace(/\/$/, ""),
  format: values.format === "openai" ? "openai" : "gemini",
  model: model.id,
  apiKey: values["api-key"],
  maxTokens: Number(values["max-tokens"]),
  prompt: values.prompt!,
};

// One warm-up stream so model loading and JIT do not count.
await timeOneStream({ ...target, maxTokens: 20 });

const rows = [];
for (const level of values.levels!.split(",").map(Number)) {
  const timings = [];
  const started = performance.now();
  for (let round = 0; round < Number(values.rounds); round++) {
    timings.push(...(await Promise.all(Array.from({ length: level }, () => timeOneStream(target)))));
  }
  const wallMs = performance.now() - started;
  const tokens = timings.reduce((sum, t) => sum + t.tokens, 0);
  const gaps = timings.flatMap((t) => t.gaps);
  rows.push({
    streams: level,
    tokens,
    aggregateTokPerS: Math.round((tokens / wallMs) * 1000),
    ttftP50Ms: +percentile(timings.map((t) => t.ttft), 50).toFixed(1),
    ttftP95Ms: +percentile(timings.map((t) => t.ttft), 95).toFixed(1),
    interTokenP50Ms: +percentile(gaps, 50).toFixed(2),
    interTokenP95Ms: +percentile(gaps, 95).toFixed(2),
  });
}
await local?.stop();

const result = { target: { url: values.url ?? "genai-local (started by the bench)", ...(values.url ? {} : { modelPath: model.path }), format: target.format, model: target.model, maxTokens: target.maxTokens, prompt: target.prompt }, rows };
console.table(rows);
console.log(JSON.stringify(result));
if (values.json) writeFileSync(values.json, `${JSON.stringify(result, null, 2)}\n`);
