/**
 * Time to first token of one stream at a time, taken apart. The same short request goes to each
 * target in turn (the order rotates each round, an idle gap before each), so a shared VM's drift falls
 * on all alike; it prints TTFT p25 / p50 / p75 per target, the ratio of each p50 to the reference's,
 * and with --timeline when each step happened inside genai-local (medians, ms from the request's start).
 *
 *   npm run bench:ttft-probe -- [--model-path GGUF] [--llama-server PATH] [--genai-args "--llama-server PATH"]
 *        [--target NAME=http://HOST:PORT | NAME=unix:/path.sock …] [--rounds 40] [--max-tokens 8] [--gap-ms 20]
 *        [--surface openai|gemini] [--timeline] [--json out.json]
 *
 * Targets: genai-local as it starts (plus --genai-args), always; llama.cpp's llama-server on the same
 * GGUF when --llama-server is given (the reference then, with the settings bench:vs-llama-server uses,
 * `-t <all cores>` unless --llama-args); genai-local's own llama-server child reached directly on its
 * Unix socket, when its model runs on one (found with ps); and any --target. Every target but
 * genai-local with --surface gemini is asked over the OpenAI chat wire, greedy, the same prompt.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { Agent } from "undici";
import { benchModel, modelOptions, startLlamaServer, startLocalServer, type ListeningProcess } from "./local-server.js";
import { percentile, timeOneStream, type StreamTarget } from "./stream-clients.js";
import type { TimelineRow } from "./server-timeline.js";

const { values } = parseArgs({
  options: {
    ...modelOptions,
    "llama-server": { type: "string" },
    "llama-args": { type: "string", default: `-t ${os.availableParallelism()}` },
    "genai-args": { type: "string", default: "" },
    target: { type: "string", multiple: true, default: [] },
    rounds: { type: "string", default: "40" },
    "max-tokens": { type: "string", default: "8" },
    "gap-ms": { type: "string", default: "20" },
    prompt: { type: "string", default: "Tell me a long story about a little girl and her dog." },
    surface: { type: "string", default: "openai" },
    timeline: { type: "boolean", default: false },
    json: { type: "string" },
  },
});

const model = benchModel(values);
const split = (args: string): string[] => args.split(" ").filter(Boolean);
const WARM_UP = 2;

interface Target {
  name: string;
  stream: StreamTarget;
  ttft: number[];
  total: number[];
}

function target(name: string, where: string, format: StreamTarget["format"] = "openai"): Target {
  const unix = where.startsWith("unix:");
  const stream: StreamTarget = {
    baseUrl: unix ? "http://localhost" : where.replace(/\/$/, ""),
    format,
    model: model.id,
    maxTokens: Number(values["max-tokens"]),
    prompt: values.prompt!,
    dispatcher: new Agent(unix ? { connect: { socketPath: where.slice("unix:".length) } } : {}),
  };
  return { name, stream, ttft: [], total: [] };
}

/** The llama-server children of a process (the engine's, for its models), with the socket each listens on. */
function childSockets(pid: number): string[] {
  const listing = execFileSync("ps", ["-eo", "pid=,ppid=,args="], { encoding: "utf8" });
  return listing
    .split("\n")
    .map((line) => line.trim().split(/\s+/))
    .filter(([, ppid, binary]) => Number(ppid) === pid && binary?.endsWith("llama-server"))
    .map((args) => args[args.indexOf("--host") + 1] ?? "")
    .filter((host) => host.endsWith(".sock"));
}

const timelineDir = values.timeline ? mkdtempSync(path.join(os.tmpdir(), "ttft-probe-")) : undefined;
const timelineFile = timelineDir && path.join(timelineDir, "timeline.jsonl");
const servers: ListeningProcess[] = [];
try {
  const genai = await startLocalServer(
    [...model.serverArgs, "--parallel", "4", ...split(values["genai-args"]!)],
    undefined,
    timelineFile ? { nodeArgs: ["--import", "tsx", "--import", "./bench/server-timeline.ts"], env: { BENCH_TIMELINE_FILE: timelineFile } } : {},
  );
  servers.push(genai);
  const targets = [target("genai-local", genai.url, values.surface === "gemini" ? "gemini" : "openai")];
  if (values["llama-server"]) {
    const served = (await (await fetch(`${genai.url}/v1beta/models/${model.id}`)).json()) as { inputTokenLimit: number };
    const llama = await startLlamaServer(values["llama-server"], model.path, split(values["llama-args"]!), served.inputTokenLimit);
    servers.push(llama);
    targets.push(target("llama-server", llama.url));
  }
  for (const [i, socket] of childSockets(genai.pid).entries()) targets.push(target(i ? `child ${i + 1}` : "child", `unix:${socket}`));
  for (const spec of values.target!) {
    const [name, ...where] = spec.split("=");
    if (!name || !where.length) throw new Error(`--target ${spec}: expected NAME=http://HOST:PORT or NAME=unix:/path.sock`);
    targets.push(target(name, where.join("=")));
  }

  const gapMs = Number(values["gap-ms"]);
  const rounds = Number(values.rounds);
  for (let round = -WARM_UP; round < rounds; round++) {
    for (let i = 0; i < targets.length; i++) {
      const t = targets[(i + Math.max(round, 0)) % targets.length]!;
      await new Promise((resolve) => setTimeout(resolve, gapMs));
      const { ttft, totalMs } = await timeOneStream(t.stream);
      if (ttft < 0) throw new Error(`${t.name} streamed no text`);
      if (round < 0) continue;
      t.ttft.push(ttft);
      t.total.push(totalMs);
    }
  }

  const reference = targets.find((t) => t.name === "llama-server") ?? targets[0]!;
  const p50 = (t: Target) => percentile(t.ttft, 50);
  const rows = targets.map((t) => ({
    target: t.name,
    requests: t.ttft.length,
    ttftP25Ms: +percentile(t.ttft, 25).toFixed(2),
    ttftP50Ms: +p50(t).toFixed(2),
    ttftP75Ms: +percentile(t.ttft, 75).toFixed(2),
    totalP50Ms: +percentile(t.total, 50).toFixed(1),
    ratioP50: +(p50(t) / p50(reference)).toFixed(2),
  }));
  console.log(`model ${model.path}; genai-local ${values["genai-args"] || "(defaults)"}, ${values.surface}; ${values["max-tokens"]} tokens; ${rounds} rounds; ratios to ${reference.name}`);
  console.table(rows);

  let timeline: Record<string, number> | undefined;
  if (timelineFile) {
    // The warm-up's rows first: genai-local was asked WARM_UP times before the counted rounds.
    const lines = readFileSync(timelineFile, "utf8").trim().split("\n").slice(WARM_UP);
    const parsed = lines.filter(Boolean).map((line) => JSON.parse(line) as TimelineRow);
    const steps = ["body", "upstreamCreated", "connected", "sent", "upstreamHeaders", "upstreamFirstText", "firstWrite", "firstTextWrite", "done"] as const;
    timeline = { requests: parsed.length };
    for (const step of steps) {
      const times = parsed.map((row) => row[step]).filter((v): v is number => v !== undefined);
      if (times.length) timeline[`${step}Ms`] = +percentile(times, 50).toFixed(2);
    }
    console.log("inside genai-local, medians in ms from the request's start:");
    console.table(timeline);
  }
  const out = { modelPath: model.path, genaiArgs: values["genai-args"], surface: values.surface, maxTokens: Number(values["max-tokens"]), rounds, gapMs, reference: reference.name, rows, timeline };
  console.log(JSON.stringify(out));
  if (values.json) writeFileSync(values.json, `${JSON.stringify(out, null, 2)}\n`);
} finally {
  await Promise.all(servers.map((server) => server.stop()));
  if (timelineDir) rmSync(timelineDir, { recursive: true, force: true });
}
