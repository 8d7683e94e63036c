/**
 * genai-local against llama.cpp's own llama-server on the same model and machine, interleaved: each
 * round runs every level on every server, in rotating order, so drift of a shared VM hits all alike.
 *
 *   npm run bench:vs-llama-server -- --llama-server PATH [--model-path GGUF] [--levels 1,4,16] [--rounds 3]
 *        [--max-tokens 200] [--prompt TEXT] [--llama-configs "-t 1;-t 2"] [--genai-args "--engine llama-server"]
 *        [--warm-up 2] [--busy-ok] [--json out.json]
 *
 * llama-server runs once per configuration (by default `-t 1` and `-t <all cores>`; flash attention off,
 * 4 slots with the context a genai-local stream gets, the GGUF's own chat template, the sampling
 * penalties genai-local applies by default); the
 * ratios are to the best llama-server configuration at each level. genai-local runs as it starts, plus
 * --genai-args. All are asked over the OpenAI chat wire, greedy, the same prompt. A busy machine skews
 * everything: the bench refuses to start when the load average says so, unless --busy-ok.
 */
import { writeFileSync } from "node:fs";
import os from "node:os";
import { parseArgs } from "node:util";
import { benchModel, modelOptions, startLlamaServer, startLocalServer, type ListeningProcess } from "./local-server.js";
import { percentile, timeOneStream, type StreamTarget, type StreamTiming } from "./stream-clients.js";

const cores = os.availableParallelism();
const { values } = parseArgs({
  options: {
    ...modelOptions,
    "llama-server": { type: "string", default: process.env.LLAMA_SERVER ?? "llama-server" },
    "llama-configs": { type: "string", default: cores > 1 ? `-t 1;-t ${cores}` : "-t 1" },
    "genai-args": { type: "string", default: "" },
    levels: { type: "string", default: "1,4,16" },
    rounds: { type: "string", default: "3" },
    "max-tokens": { type: "string", default: "200" },
    prompt: { type: "string", default: "Tell me a long story about a little girl and her dog." },
    // Rounds of 4 streams each server gets before anything is measured: genai-local's CPU per token
    // falls by about a third over its first few thousand (V8 compiling its hot path).
    "warm-up": { type: "string", default: "2" },
    "busy-ok": { type: "boolean", default: false },
    json: { type: "string" },
  },
});

const model = benchModel(values);
const split = (args: string): string[] => args.split(" ").filter(Boolean);
const loadBefore = os.loadavg()[0]!;
// Above this the run measures the other work as much as the servers.
const BUSY_LOAD = 0.5;
if (loadBefore > BUSY_LOAD && !values["busy-ok"]) {
  console.error(`The machine is busy (load average ${loadBefore.toFixed(2)} over the last minute): the figures would not mean much. Wait, or pass --busy-ok.`);
  process.exit(2);
}

const GENAI = "genai-local";
const llamaConfigs = values["llama-configs"]!.split(";").map((c) => c.trim()).filter(Boolean);
const servers = new Map<string, ListeningProcess>();
try {
  servers.set(GENAI, await startLocalServer([...model.serverArgs, "--parallel", "4", "--queue-size", "64", ...split(values["genai-args"]!)]));
  // Each llama-server slot gets the context a genai-local stream has (a bigger KV cache decodes a little slower).
  const served = (await (await fetch(`${servers.get(GENAI)!.url}/v1beta/models/${model.id}`)).json()) as { inputTokenLimit: number };
  for (const config of llamaConfigs) servers.set(`llama-server ${config}`, await startLlamaServer(values["llama-server"]!, model.path, split(config), served.inputTokenLimit));
  const names = [...servers.keys()];
  const target = (name: string): StreamTarget => ({
    baseUrl: servers.get(name)!.url,
    format: "openai",
    model: model.id,
    maxTokens: Number(values["max-tokens"]),
    prompt: values.prompt!,
  });

  for (const name of names) {
    for (let round = 0; round < Number(values["warm-up"]); round++) await Promise.all(Array.from({ length: 4 }, () => timeOneStream(target(name))));
    await timeOneStream({ ...target(name), maxTokens: 20 });
  }
  const levels = values.levels!.split(",").map(Number);
  const runs = new Map<string, { tokPerS: number[]; timings: StreamTiming[] }>();
  for (let round = 0; round < Number(values.rounds); round++) {
    for (const level of levels) {
      const order = names.map((_, i) => names[(i + round) % names.length]!);
      for (const name of order) {
        // Below 4 streams a level runs more than once a round, so its TTFT p50 has a few samples to stand on.
        for (let batch = 0; batch < Math.ceil(4 / level); batch++) {
          const started = performance.now();
          const timings = await Promise.all(Array.from({ length: level }, () => timeOneStream(target(name))));
          const tokens = timings.reduce((sum, t) => sum + t.tokens, 0);
          const run = runs.get(`${name}@${level}`) ?? { tokPerS: [], timings: [] };
          run.tokPerS.push((tokens / (performance.now() - started)) * 1000);
          run.timings.push(...timings);
          runs.set(`${name}@${level}`, run);
        }
      }
    }
  }
  const loadAfter = os.loadavg()[0]!;
  const rows = levels.map((level) => {
    const of = (name: string) => {
      const run = runs.get(`${name}@${level}`)!;
      return { tokPerS: percentile(run.tokPerS, 50), ttftP50Ms: percentile(run.timings.map((t) => t.ttft), 50) };
    };
    const ours = of(GENAI);
    const llamas = names.filter((n) => n !== GENAI).map((name) => ({ name, ...of(name) }));
    const best = llamas.reduce((a, b) => (b.tokPerS > a.tokPerS ? b : a));
    return {
      streams: level,
      genaiTokPerS: Math.round(ours.tokPerS),
      genaiTtftP50Ms: +ours.ttftP50Ms.toFixed(1),
      llama: Object.fromEntries(llamas.map((l) => [l.name, { tokPerS: Math.round(l.tokPerS), ttftP50Ms: +l.ttftP50Ms.toFixed(1) }])),
      best: best.name,
      ratio: +(ours.tokPerS / best.tokPerS).toFixed(2),
      ttftRatio: +(ours.ttftP50Ms / best.ttftP50Ms).toFixed(2),
    };
  });
  const busy = loadBefore > BUSY_LOAD || loadAfter > cores + BUSY_LOAD ? " (BUSY: figures skewed)" : "";
  console.log(`model ${model.path}; genai-local ${values["genai-args"] || "(defaults)"}; ${cores} cores; load average ${loadBefore.toFixed(2)} before, ${loadAfter.toFixed(2)} after${busy}`);
  const llamaNames = names.filter((n) => n !== GENAI);
  console.log(`| streams | genai-local tok/s | ${llamaNames.map((n) => `${n} tok/s`).join(" | ")} | ratio to best | TTFT p50 genai-local (ms) | TTFT p50 best (ms) | TTFT ratio |`);
  console.log(`| ${Array.from({ length: llamaNames.length + 6 }, () => "---").join(" | ")} |`);
  for (const r of rows) {
    const ll = llamaNames.map((n) => r.llama[n]!.tokPerS).join(" | ");
    console.log(`| ${r.streams} | ${r.genaiTokPerS} | ${ll} | ${r.ratio} | ${r.genaiTtftP50Ms} | ${r.llama[r.best]!.ttftP50Ms} | ${r.ttftRatio} |`);
  }
  const result = { model: model.path, genaiArgs: values["genai-args"], cores, loadBefore, loadAfter, rows };
  console.log(JSON.stringify(result));
  if (values.json) writeFileSync(values.json, JSON.stringify(result, null, 2));
} finally {
  await Promise.all([...servers.values()].map((s) => s.stop()));
}
