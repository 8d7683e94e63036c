/**
 * Soak: mixed traffic against one genai-local for a bounded time — streams, clients that
 * disconnect mid-stream, bad requests, overload bursts — then checks that nothing leaked.
 *
 *   npm run soak -- [--minutes 10] [--max-requests 200000] [--workers 6] [--url URL] [--model ID] [--model-path GGUF]
 * Without --url it starts genai-local itself (loopback, 1 thread, --parallel 4, --queue-size 8) on
 * --model-path (stories260K.gguf).
 * Exits 1 if streams are left active, handles leaked or RSS grew by more than 10%.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { Agent, fetch as undiciFetch } from "undici";
import { benchModel, modelOptions, startLocalServer } from "./local-server.js";

const { values } = parseArgs({
  options: {
    url: { type: "string" },
    minutes: { type: "string", default: "10" },
    "max-requests": { type: "string", default: "200000" },
    workers: { type: "string", default: "6" },
    ...modelOptions,
  },
});

const model = benchModel(values);
const local = values.url ? undefined : await startLocalServer([...model.serverArgs, "--threads", "1", "--parallel", "4", "--queue-size", "8", "--queue-timeout", "2"]);
const base = values.url ?? local!.url;
const until = Date.now() + Number(values.minutes) * 60_000;
const maxRequests = Number(values["max-requests"]);
const byOutcome = new Map<string, number>();
let requests = 0;
const note = (outcome: string) => byOutcome.set(outcome, (byOutcome.get(outcome) ?? 0) + 1);

async function metric(name: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(" ")[1]) : NaN;
}

/** RSS of the server and its runner processes, in MB (only for a server this script started). */
function rssMb(): number {
  if (!local) return NaN;
  const pids = [local.pid, ...execFileSync("pgrep", ["-P", String(local.pid)]).toString().trim().split("\n").filter(Boolean).map(Number)];
  return pids.reduce((sum, pid) => {
    const match = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return sum + (match ? Number(match[1]) / 1024 : 0);
  }, 0);
}

const story = (maxOutputTokens: number) => JSON.stringify({ contents: [{ parts: [{ text: "Once upon a time" }] }], generationConfig: { maxOutputTokens } });
// Our own connection pool, closed before the end is measured, so idle keep-alive sockets are not
// mistaken for leaked handles.
const agent = new Agent({ connections: 64 });
const post = (body: string, signal?: AbortSignal) =>
  undiciFetch(`${base}/v1beta/models/${model.id}:streamGenerateContent?alt=sse`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body,
    signal,
    dispatcher: agent,
  });

async function drain(response: { text(): Promise<string> }): Promise<string> {
  const text = await response.text();
  return text.includes('"error"') ? `stream error event` : "stream completed";
}

const actions: (() => Promise<void>)[] = [
  async () => {
    const response = await post(story(50 + Math.floor(Math.random() * 250)));
    note(response.status === 200 ? await drain(response) : `HTTP ${response.status}`);
  },
  async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), Math.random() * 200);
    try {
      const response = await post(story(1500), controller.signal);
      await response.text();
      note(`HTTP ${response.status} (finished before disconnect)`);
    } catch {
      note("disconnected mid-stream");
    }
  },
  async () => {
    const bad = ['{"contents": [', '{"contents": []}', '{"contents": "x"}', '{"generationConfig": {"temperature": 9}, "contents": [{"parts":[{"text":"a"}]}]}'];
    const response = await post(bad[Math.floor(Math.random() * bad.length)]!);
    await response.text();
    note(`HTTP ${response.status}`);
  },
  async () => {
    const burst = await Promise.all(Array.from({ length: 16 }, () => post(story(20))));
    for (const response of burst) note(response.status === 200 ? await drain(response) : `HTTP ${response.status}`);
    requests += burst.length - 1;
  },
];

// streams 40%, disconnects 25%, bad requests 25%, overload bursts 10%
const weights = [0.4, 0.25, 0.25, 0.1];
function pickAction(): () => Promise<void> {
  let r = Math.random();
  for (let i = 0; i < weights.length; i++) if ((r -= weights[i]!) < 0) return actions[i]!;
  return actions[0]!;
}

async function worker(): Promise<void> {
  while (Date.now() < until && requests < maxRequests) {
    requests++;
    try {
      await pickAction()();
    } catch (error) {
      note(`client error: ${(error as Error).message}`);
    }
  }
}

// Handles are compared idle to idle; RSS from the end of a warm-up (a fifth of the run, at most a
// minute of traffic) to the end, so start-up allocation is not counted as growth.
const idleHandles = await metric("genai_local_nodejs_active_handles_total");
const startedAt = Date.now();
const start = { rss: NaN, handles: idleHandles };
const warmUp = setTimeout(() => (start.rss = rssMb()), Math.min(60_000, (until - startedAt) / 5));
await Promise.all(Array.from({ length: Number(values.workers) }, worker));
clearTimeout(warmUp);
if (Number.isNaN(start.rss)) start.rss = rssMb();
await agent.close();
await new Promise((resolve) => setTimeout(resolve, 1500));
const end = {
  rss: rssMb(),
  handles: await metric("genai_local_nodejs_active_handles_total"),
  active: await metric("genai_local_active_streams"),
  queued: await metric("genai_local_queued_requests"),
};
await local?.stop();

const rssGrowth = (end.rss - start.rss) / start.rss;
const report = {
  minutes: +((Date.now() - startedAt) / 60_000).toFixed(2),
  requests,
  outcomes: Object.fromEntries([...byOutcome].sort((a, b) => b[1] - a[1])),
  rssMbStart: +start.rss.toFixed(1),
  rssMbEnd: +end.rss.toFixed(1),
  rssGrowthPercent: +(rssGrowth * 100).toFixed(1),
  activeStreamsAtEnd: end.active,
  queuedAtEnd: end.queued,
  handlesStart: start.handles,
  handlesEnd: end.handles,
};
console.table(report.outcomes);
console.log(JSON.stringify(report, null, 2));
const failed = end.active !== 0 || end.queued !== 0 || end.handles > start.handles || rssGrowth > 0.1;
process.exit(failed ? 1 : 0);
