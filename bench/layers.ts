/**
 * Where the overhead sits: the same greedy generations at each layer of the local path —
 * (a) node-llama-cpp alone, (e) LlamaEngine in this process, (r) RunnerEngine (the runner
 * process and its IPC, pinned as the server pins it), (h) the Gemini HTTP API read by a raw SSE client, (b) the same read by
 * @google/genai — interleaved, medians.
 *
 *   npm run bench:layers -- [--reps 7] [--max-tokens 300] [--streams 1,4] [--model-path GGUF]
 */
import { parseArgs } from "node:util";
import { LlamaEngine } from "../src/engines/llama/llama-engine.js";
import { RunnerEngine } from "../src/engines/llama/runner-engine.js";
import type { Engine } from "../src/engines/engine.js";
import { cpuForRunner } from "../src/engines/llama/cpu-affinity.js";
import { engineAlone, median, timed, type Run } from "./engine-alone.js";
import { benchModel, modelOptions, startLocalServer } from "./local-server.js";
import { sdkRunners } from "./sdk-runners.js";

const { values } = parseArgs({
  options: {
    reps: { type: "string", default: "7" },
    "max-tokens": { type: "string", default: "300" },
    streams: { type: "string", default: "1,4" },
    layers: { type: "string", default: "a,e,r,h,b" },
    ...modelOptions,
  },
});
const REPS = Number(values.reps);
const MAX_TOKENS = Number(values["max-tokens"]);
const model = benchModel(values);
const modelPath = model.path;
const PROMPT = "Once upon a time";
type One = () => Promise<{ tokens: number; ttft: number }>;

const alone = await engineAlone(modelPath, 1, MAX_TOKENS);
const viaEngine = (engine: Engine): One => async () => {
  const t0 = performance.now();
  let ttft = 0;
  let tokens = 0;
  for await (const event of engine.generate({ prompt: { turns: [{ role: "user", text: PROMPT }] }, sampling: { temperature: 0, maxOutputTokens: MAX_TOKENS } })) {
    if (event.type === "text") ttft ||= performance.now() - t0;
    if (event.type === "text" || event.type === "end") tokens = event.usage.outputTokens;
  }
  return { tokens, ttft };
};

const layers = values.layers!.split(",");
const runners: Record<string, One> = {};
const closers: (() => Promise<void>)[] = [];
const whole: Record<string, (streams: number) => Promise<Run>> = {};
if (layers.includes("a")) whole.a = (streams) => alone.run(PROMPT, streams);
if (layers.includes("e")) {
  const engine = await LlamaEngine.load({ id: "e", modelPath, threads: 1, parallel: 4 });
  runners.e = viaEngine(engine);
  closers.push(() => engine.close());
}
if (layers.includes("r")) {
  const engine = await RunnerEngine.start({ id: "r", modelPath, threads: 1, parallel: 4 }, { cpu: cpuForRunner("auto", 1) });
  runners.r = viaEngine(engine);
  closers.push(() => engine.close());
}
let sdk: ((streams: number) => Promise<Run>) | undefined;
if (layers.includes("h") || layers.includes("b")) {
  const server = await startLocalServer([...model.serverArgs, "--threads", "1", "--parallel", "4"]);
  closers.push(server.stop);
  const body = JSON.stringify({ contents: [{ role: "user", parts: [{ text: PROMPT }] }], generationConfig: { temperature: 0, maxOutputTokens: MAX_TOKENS } });
  if (layers.includes("h")) runners.h = async () => {
    const t0 = performance.now();
    let ttft = 0;
    let tokens = 0;
    const res = await fetch(`${server.url}/v1beta/models/${model.id}:streamGenerateContent?alt=sse`, { method: "POST", headers: { "content-type": "application/json", "x-goog-api-key": "bench" }, body });
    const decoder = new TextDecoder();
    let buffered = "";
    for await (const bytes of res.body!) {
      ttft ||= performance.now() - t0;
      buffered += decoder.decode(bytes as Uint8Array, { stream: true });
    }
    const last = buffered.trim().split("\r\n\r\n").at(-1)!;
    tokens = JSON.parse(last.slice(6)).usageMetadata.candidatesTokenCount;
    return { tokens, ttft };
  };
  if (layers.includes("b")) {
    const { gemini } = sdkRunners(server.url, model.id, MAX_TOKENS);
    sdk = (streams) => gemini(PROMPT, streams);
  }
}

for (const [name, one] of Object.entries(runners)) whole[name] = (streams) => timed(streams, one);
if (sdk) whole.b = sdk;

const rows = [];
for (const streams of values.streams!.split(",").map(Number)) {
  const samples: Record<string, Run[]> = Object.fromEntries(Object.keys(whole).map((k) => [k, []]));
  for (const run of Object.values(whole)) await run(streams);
  for (let rep = 0; rep < REPS; rep++) for (const [name, run] of Object.entries(whole)) samples[name]!.push(await run(streams));
  const row: Record<string, number | string> = { streams };
  const aRate = samples.a ? median(samples.a.map((r) => (r.tokens / r.ms) * 1000)) : NaN;
  for (const [name, runs] of Object.entries(samples)) {
    const rate = median(runs.map((r) => (r.tokens / r.ms) * 1000));
    row[`${name} tok/s`] = Math.round(rate);
    row[`${name}/a`] = +(rate / aRate).toFixed(3);
    row[`${name} ttft`] = +median(runs.map((r) => r.ttft)).toFixed(1);
  }
  rows.push(row);
  console.table([row]);
}
console.log(JSON.stringify(rows));
for (const close of closers) await close();
await alone.close();
