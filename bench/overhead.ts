/**
 * What serving costs: the same greedy generations run (a) on node-llama-cpp in this process
 * (and (a′) in a process of its own pinned to one CPU, with one thread), (b) through
 * genai-local's Gemini API with @google/genai, (c) through its OpenAI surface with the openai
 * SDK — interleaved, repeated, medians — at 1 and 4 streams, for a short and a long
 * (prefill-bound) prompt, and for --threads 1 and 2. (zb) and (zc) time the same SDK calls
 * against a server that answers at once: the part of (b)'s and (c)'s time to first token that
 * is the client's own.
 *
 *   npm run bench:overhead -- [--reps 5] [--max-tokens 300] [--threads 1,2] [--prompts short,long]
 *                             [--streams 1,4] [--samples] [--model-path GGUF] [--json out.json]
 */
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { cpuForRunner, usableTaskset } from "../src/engines/llama/cpu-affinity.js";
import { engineAlone, median, timed, type Run, type Runner } from "./engine-alone.js";
import { startInstantServer } from "./instant-server.js";
import { benchModel, modelOptions, startLocalServer } from "./local-server.js";
import { sdkRunners } from "./sdk-runners.js";

const { values } = parseArgs({
  options: {
    reps: { type: "string", default: "5" },
    "max-tokens": { type: "string", default: "300" },
    threads: { type: "string", default: "1,2" },
    prompts: { type: "string", default: "short,long" },
    streams: { type: "string", default: "1,4" },
    samples: { type: "boolean", default: false },
    json: { type: "string" },
    ...modelOptions,
  },
});
const REPS = Number(values.reps);
const MAX_TOKENS = Number(values["max-tokens"]);
const model = benchModel(values);
const modelPath = model.path;
const PROMPTS = {
  short: "Once upon a time",
  long: Array.from({ length: 40 }, (_, i) => `On day ${i} the little cat went to the park and played with a ball.`).join(" "),
};

/** (b) and (c): a genai-local server, driven by the official SDKs. */
async function throughServer(threads: number): Promise<{ gemini: Runner; openai: Runner; close: () => Promise<void> }> {
  const server = await startLocalServer([...model.serverArgs, "--threads", String(threads), "--parallel", "4"]);
  return { ...sdkRunners(server.url, model.id, MAX_TOKENS), close: server.stop };
}

/**
 * (a′): the engine alone in a process of its own pinned to one CPU (all its threads), as
 * genai-local pins a one-thread runner, so that (b) is also compared with the same placement.
 */
async function pinnedEngineAlone(threads: number): Promise<{ run: Runner; close: () => Promise<void> } | undefined> {
  // The server's own rule for pinning a runner: one thread, two CPUs or more, a taskset that works.
  const cpu = cpuForRunner("auto", threads);
  const taskset = cpu === undefined ? undefined : usableTaskset(cpu);
  if (cpu === undefined || !taskset) return undefined;
  const script = fileURLToPath(new URL("./engine-alone.ts", import.meta.url));
  const child = spawn(taskset, ["--cpu-list", String(cpu), process.execPath, "--import", "tsx", script, "--serve", String(threads), String(MAX_TOKENS), modelPath], {
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  await new Promise((resolve) => child.once("message", resolve));
  const run: Runner = (prompt, streams) =>
    new Promise((resolve) => {
      child.once("message", (run) => resolve(run as Run));
      child.send({ prompt, streams });
    });
  return { run, close: async () => void child.disconnect() };
}

// (z): the same SDK calls against a server that answers at once — what the clients cost alone.
const instant = await startInstantServer();
const floor = sdkRunners(instant.url, "instant", MAX_TOKENS);
const rows = [];
let run = 0;
for (const threads of values.threads!.split(",").map(Number)) {
  const a = await engineAlone(modelPath, threads, MAX_TOKENS);
  const aPinned = await pinnedEngineAlone(threads);
  const server = await throughServer(threads);
  const runners: Record<string, Runner> = { "a in-process": a.run, "b gemini": server.gemini, "c openai": server.openai };
  if (aPinned) runners["a' pinned"] = aPinned.run;
  runners["zb gemini floor"] = floor.gemini;
  runners["zc openai floor"] = floor.openai;
  for (const [promptName, prompt] of Object.entries(PROMPTS).filter(([name]) => values.prompts!.split(",").includes(name))) {
    for (const streams of values.streams!.split(",").map(Number)) {
      const samples: Record<string, Run[]> = Object.fromEntries(Object.keys(runners).map((k) => [k, []]));
      // The long prompt starts differently every run, so that no run finds it in a KV cache: the
      // server's prefix reuse would otherwise skip the prefill this row is meant to measure.
      const promptFor = () => (promptName === "long" ? `Day ${++run}. ${prompt}` : prompt);
      for (const runner of Object.values(runners)) await runner(promptFor(), streams); // warm-up
      for (let rep = 0; rep < REPS; rep++) {
        for (const [name, runner] of Object.entries(runners)) samples[name]!.push(await runner(promptFor(), streams));
      }
      if (values.samples) for (const [name, runs] of Object.entries(samples)) console.log(name, runs.map((r) => Math.round((r.tokens / r.ms) * 1000)).join(" "));
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
        ...(aPinned ? { aPinnedTokPerS: Math.round(rate("a' pinned")), bOverAPinned: +(rate("b gemini") / rate("a' pinned")).toFixed(3) } : {}),
        aTtftMs: +ttft("a in-process").toFixed(1),
        bTtftMs: +ttft("b gemini").toFixed(1),
        cTtftMs: +ttft("c openai").toFixed(1),
        // The time-to-first-token overhead: over the engine alone, clients included.
        bTtftOverAMs: +(ttft("b gemini") - ttft("a in-process")).toFixed(1),
        cTtftOverAMs: +(ttft("c openai") - ttft("a in-process")).toFixed(1),
        zbTtftMs: +ttft("zb gemini floor").toFixed(1),
        zcTtftMs: +ttft("zc openai floor").toFixed(1),
        // What genai-local adds to the time to first token: beyond the engine's and the client's own.
        bOwnTtftMs: +(ttft("b gemini") - ttft("zb gemini floor") - ttft("a in-process")).toFixed(1),
        cOwnTtftMs: +(ttft("c openai") - ttft("zc openai floor") - ttft("a in-process")).toFixed(1),
      });
      console.table([rows.at(-1)]);
    }
  }
  await a.close();
  await aPinned?.close();
  await server.close();
}
await instant.stop();
console.table(rows);
const out = { modelPath, maxTokens: MAX_TOKENS, reps: REPS, rows };
console.log(JSON.stringify(out));
if (values.json) writeFileSync(values.json, `${JSON.stringify(out, null, 2)}\n`);
