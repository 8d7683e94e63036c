/**
 * genai-local against llama.cpp's own llama-server on the same model and machine, interleaved: each
 * round runs every level on both servers, in alternating order, so drift of a shared VM hits both.
 *
 *   npm run bench:vs-llama-server -- --llama-server PATH [--model-path GGUF] [--levels 1,4,16] [--rounds 3]
 *        [--max-tokens 200] [--prompt TEXT] [--llama-args "-t 2"] [--genai-args "--threads 2"] [--json out.json]
 *
 * llama-server runs as its best configuration here was measured (flash attention off, 4 slots, the
 * GGUF's own chat template, the sampling penalties genai-local applies by default); genai-local runs as
 * it starts, plus --genai-args. Both are asked over the OpenAI chat wire, greedy, the same prompt.
 */
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import os from "node:os";
import { parseArgs } from "node:util";
import { benchModel, modelOptions, startLocalServer, type ListeningProcess } from "./local-server.js";
import { percentile, timeOneStream, type StreamTarget, type StreamTiming } from "./stream-clients.js";

const { values } = parseArgs({
  options: {
    ...modelOptions,
    "llama-server": { type: "string", default: process.env.LLAMA_SERVER ?? "llama-server" },
    "llama-args": { type: "string", default: `-t ${os.availableParallelism()}` },
    "genai-args": { type: "string", default: "" },
    levels: { type: "string", default: "1,4,16" },
    rounds: { type: "string", default: "3" },
    "max-tokens": { type: "string", default: "200" },
    prompt: { type: "string", default: "Tell me a long story about a little girl and her dog." },
    json: { type: "string" },
  },
});

const model = benchModel(values);
const split = (args: string): string[] => args.split(" ").filter(Boolean);

/** llama-server on a free port, ready once /health answers 200. */
async function startLlamaServer(): Promise<ListeningProcess> {
  const port = 20000 + Math.floor(Math.random() * 20000);
  const args = ["-m", model.path, "--host", "127.0.0.1", "--port", String(port), "-np", "4", "-c", String(4 * 2048), "-fa", "off", "--jinja"];
  args.push("--repeat-penalty", "1.1", "--repeat-last-n", "64", "--min-p", "0.05", "--no-webui", ...split(values["llama-args"]!));
  const child = spawn(values["llama-server"]!, args, { stdio: ["ignore", "ignore", "pipe"] });
  let log = "";
  child.stderr!.on("data", (d: Buffer) => (log = (log + d.toString()).slice(-4000)));
  const url = `http://127.0.0.1:${port}`;
  for (let waited = 0; ; waited += 200) {
    if (child.exitCode !== null) throw new Error(`llama-server exited (${child.exitCode}):\n${log}`);
    if (waited > 120_000) throw new Error(`llama-server did not become healthy:\n${log}`);
    const healthy = await fetch(`${url}/health`).then((r) => r.ok, () => false);
    if (healthy) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    url,
    pid: child.pid!,
    stop: () => new Promise((resolve) => (child.once("exit", () => resolve()), child.kill("SIGTERM"))),
  };
}

const genai = await startLocalServer([...model.serverArgs, "--parallel", "4", "--queue-size", "64", ...split(values["genai-args"]!)]);
const llama = await startLlamaServer();
const servers = { "genai-local": genai, "llama-server": llama } as const;
type Name = keyof typeof servers;
const target = (name: Name): StreamTarget => ({
  baseUrl: servers[name].url,
  format: "openai",
  model: model.id,
  maxTokens: Number(values["max-tokens"]),
  prompt: values.prompt!,
});

try {
  for (const name of Object.keys(servers) as Name[]) await timeOneStream({ ...target(name), maxTokens: 20 });
  const levels = values.levels!.split(",").map(Number);
  const runs = new Map<string, { tokPerS: number[]; timings: StreamTiming[] }>();
  for (let round = 0; round < Number(values.rounds); round++) {
    for (const level of levels) {
      const order: Name[] = round % 2 === 0 ? ["genai-local", "llama-server"] : ["llama-server", "genai-local"];
      for (const name of order) {
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
  const rows = levels.map((level) => {
    const of = (name: Name) => {
      const run = runs.get(`${name}@${level}`)!;
      return { tokPerS: percentile(run.tokPerS, 50), ttftP50Ms: percentile(run.timings.map((t) => t.ttft), 50) };
    };
    const ours = of("genai-local");
    const theirs = of("llama-server");
    return {
      streams: level,
      genaiTokPerS: Math.round(ours.tokPerS),
      llamaTokPerS: Math.round(theirs.tokPerS),
      ratio: +(ours.tokPerS / theirs.tokPerS).toFixed(2),
      genaiTtftP50Ms: +ours.ttftP50Ms.toFixed(1),
      llamaTtftP50Ms: +theirs.ttftP50Ms.toFixed(1),
      ttftRatio: +(ours.ttftP50Ms / theirs.ttftP50Ms).toFixed(2),
    };
  });
  console.log(`model ${model.path}; llama-server ${values["llama-args"]}; genai-local ${values["genai-args"] || "(defaults)"}`);
  console.log("| streams | genai-local tok/s | llama-server tok/s | ratio | TTFT p50 genai-local (ms) | TTFT p50 llama-server (ms) | TTFT ratio |");
  console.log("| --- | --- | --- | --- | --- | --- | --- |");
  for (const r of rows) {
    console.log(`| ${r.streams} | ${r.genaiTokPerS} | ${r.llamaTokPerS} | ${r.ratio} | ${r.genaiTtftP50Ms} | ${r.llamaTtftP50Ms} | ${r.ttftRatio} |`);
  }
  console.log(JSON.stringify(rows));
  if (values.json) writeFileSync(values.json, JSON.stringify(rows, null, 2));
} finally {
  await Promise.all([genai.stop(), llama.stop()]);
}
