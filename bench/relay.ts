/**
 * The streaming path alone: an upstream-shaped token source that answers instantly, relayed by
 * genai-local (upstream parsing, translation, SSE writing) to a client. genai-local runs pinned
 * to one core (taskset, when present) with --chunk-window 0, so every upstream chunk is a chunk.
 *
 *   npm run bench:relay -- [--chunks 20000] [--streams 4] [--capacity-chunks 200000] [--paced 2000]
 *                          [--source-batch 1] [--json out.json]
 *
 * Prints, for one stream read by @google/genai's parser: chunks/s, and the server's CPU per chunk;
 * for --streams concurrent streams read by a minimal client (it counts events, so the client is
 * not the limit): chunks/s and chunks per second of the server's CPU (the server's own user +
 * system time from /proc, so other load on the machine does not count against it); the latency
 * genai-local adds per chunk (p50/p99, source paced at one chunk per 0.5 ms, each stamped with
 * its send time); and, for reference, what the SDK's parser alone reaches on a canned stream.
 */
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { parseArgs } from "node:util";
import { GoogleGenAI } from "@google/genai";
import { startLocalServer } from "./local-server.js";
import { percentile } from "./stream-clients.js";

const { values } = parseArgs({
  options: {
    chunks: { type: "string", default: "20000" },
    streams: { type: "string", default: "4" },
    "capacity-chunks": { type: "string", default: "200000" },
    paced: { type: "string", default: "2000" },
    "source-batch": { type: "string", default: "1" },
    json: { type: "string" },
  },
});
const SOURCE_BATCH = Number(values["source-batch"]);
const now = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** User + system CPU seconds of a process (all its threads), from /proc; undefined elsewhere. */
function cpuSeconds(pid: number): number | undefined {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
  } catch {
    return undefined;
  }
}

const HEAD = '{"id":"x","object":"chat.completion.chunk","created":0,"model":"relay","choices":[{"index":0,"delta":{"content":"';

/**
 * An OpenAI-compatible /chat/completions that streams as many chunks as the prompt's text says;
 * `paced` spaces them out and stamps each with its send time. Fast chunks are written
 * --source-batch to a write (1: one write per chunk, as vLLM and llama-server write them).
 */
function startSource(): Promise<{ url: string; setPaced: (paced: boolean) => void; close: () => void }> {
  let paced = false;
  const server = http.createServer(async (req, res) => {
    if (req.method === "GET") {
      // genai-local asks an upstream for its models (and their context) when it starts.
      res.writeHead(200, { "Content-Type": "application/json" });
      res.end('{"object":"list","data":[{"id":"relay","object":"model"}]}');
      return;
    }
    let body = "";
    for await (const piece of req) body += piece;
    const count = Number((JSON.parse(body) as { messages: { content: string }[] }).messages.at(-1)!.content);
    res.writeHead(200, { "Content-Type": "text/event-stream" });
    let pending = "";
    for (let i = 0; i < count; i++) {
      pending += `data: ${HEAD}${paced ? now().toFixed(3) : "tok"} "},"finish_reason":null}]}\n\n`;
      if (paced || i % SOURCE_BATCH === SOURCE_BATCH - 1) {
        const more = res.write(pending);
        pending = "";
        if (!more) await new Promise((resolve) => res.once("drain", resolve));
        if (paced && i % 2 === 1) await sleep(1);
      }
    }
    pending += `data: {"id":"x","object":"chat.completion.chunk","created":0,"model":"relay","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n`;
    pending += `data: {"id":"x","object":"chat.completion.chunk","created":0,"model":"relay","choices":[],"usage":{"prompt_tokens":1,"completion_tokens":${count},"total_tokens":${count + 1}}}\n\ndata: [DONE]\n\n`;
    res.end(pending);
  });
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () =>
      resolve({
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
        setPaced: (value) => (paced = value),
        close: () => server.close(),
      }),
    ),
  );
}

const source = await startSource();
const relay = await startLocalServer(["--upstream", `relay=openai:${source.url}`, "--chunk-window", "0"]);
let pinned = "no (taskset not found)";
try {
  execFileSync("taskset", ["-a", "-p", "-c", "0", String(relay.pid)], { stdio: "ignore" });
  pinned = "yes, core 0";
} catch {
  // measured unpinned
}
const ai = new GoogleGenAI({ apiKey: "bench", httpOptions: { baseUrl: relay.url } });

/** One stream through the SDK: every chunk parsed into a GenerateContentResponse. */
async function sdkStream(count: number, paced: boolean): Promise<{ chunks: number; delays: number[] }> {
  source.setPaced(paced);
  const delays: number[] = [];
  let chunks = 0;
  const stream = await ai.models.generateContentStream({ model: "relay", contents: String(count) });
  for await (const chunk of stream) {
    chunks++;
    if (paced) {
      const sent = Number.parseFloat(chunk.text ?? "");
      if (Number.isFinite(sent)) delays.push(now() - sent);
    }
  }
  return { chunks, delays };
}

/** One stream read by a client that only counts events (`\r\n\r\n`) and checks the last one. */
function countingStream(base: string, count: number): Promise<number> {
  const url = new URL(`${base}/v1beta/models/relay:streamGenerateContent?alt=sse`);
  const body = JSON.stringify({ contents: [{ parts: [{ text: String(count) }] }] });
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: "POST", headers: { "content-type": "application/json" } }, (res) => {
      let events = 0;
      let tail = "";
      res.setEncoding("latin1");
      res.on("data", (piece: string) => {
        const text = tail + piece;
        // Resume where an event boundary could still end: at most 3 characters back.
        for (let at = text.indexOf("\r\n\r\n", Math.max(0, tail.length - 3)); at !== -1; at = text.indexOf("\r\n\r\n", at + 4)) events++;
        tail = text.slice(-300);
      });
      res.on("end", () => (tail.includes('"finishReason":"STOP"') ? resolve(events) : reject(new Error(`stream ended without a finish: ${tail}`))));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(body);
  });
}

async function measured<T>(work: () => Promise<T>): Promise<{ result: T; wallS: number; serverCpuS: number | undefined }> {
  const cpu0 = cpuSeconds(relay.pid);
  const t0 = performance.now();
  const result = await work();
  const wallS = (performance.now() - t0) / 1000;
  const cpu1 = cpuSeconds(relay.pid);
  return { result, wallS, serverCpuS: cpu0 === undefined || cpu1 === undefined ? undefined : cpu1 - cpu0 };
}

/** The SDK's parser alone, on a canned Gemini stream from a plain server: the client's own limit. */
async function sdkCeiling(count: number): Promise<number> {
  const event = `data: {"candidates":[{"content":{"parts":[{"text":"tok "}],"role":"model"},"index":0}],"usageMetadata":{"promptTokenCount":1,"candidatesTokenCount":5,"totalTokenCount":6},"modelVersion":"relay","responseId":"abcdefghijabcdefghijab"}\r\n\r\n`;
  const canned = http.createServer(async (req, res) => {
    req.resume();
    res.writeHead(200, { "Content-Type": "text/event-stream" });
    const block = event.repeat(100);
    for (let i = 0; i < count / 100; i++) if (!res.write(block)) await new Promise((resolve) => res.once("drain", resolve));
    res.end();
  });
  await new Promise<void>((resolve) => canned.listen(0, "127.0.0.1", () => resolve()));
  const client = new GoogleGenAI({ apiKey: "bench", httpOptions: { baseUrl: `http://127.0.0.1:${(canned.address() as AddressInfo).port}` } });
  const t0 = performance.now();
  let chunks = 0;
  for await (const chunk of await client.models.generateContentStream({ model: "m", contents: "go" })) if (chunk.text) chunks++;
  const rate = chunks / ((performance.now() - t0) / 1000);
  canned.close();
  return rate;
}

const streams = Number(values.streams);
const perStream = Math.ceil(Number(values["capacity-chunks"]) / streams);
await sdkStream(2000, false); // warm-up
await Promise.all(Array.from({ length: streams }, () => countingStream(relay.url, 2000)));
const sdk = await measured(() => sdkStream(Number(values.chunks), false));
const capacity = await measured(async () => (await Promise.all(Array.from({ length: streams }, () => countingStream(relay.url, perStream)))).reduce((a, b) => a + b, 0));
const paced = await sdkStream(Number(values.paced), true);
await relay.stop();
source.close();
const ceiling = await sdkCeiling(Number(values.chunks));

const perCpu = (chunks: number, cpu: number | undefined) => (cpu ? Math.round(chunks / cpu) : null);
const result = {
  pinned,
  sourceBatch: SOURCE_BATCH,
  sdkChunks: sdk.result.chunks,
  sdkChunksPerS: Math.round(sdk.result.chunks / sdk.wallS),
  sdkServerCpuUsPerChunk: sdk.serverCpuS === undefined ? null : +((sdk.serverCpuS / sdk.result.chunks) * 1e6).toFixed(1),
  streams,
  capacityChunks: capacity.result,
  capacityChunksPerS: Math.round(capacity.result / capacity.wallS),
  capacityChunksPerServerCpuS: perCpu(capacity.result, capacity.serverCpuS),
  addedLatencyP50Ms: +percentile(paced.delays, 50).toFixed(3),
  addedLatencyP99Ms: +percentile(paced.delays, 99).toFixed(3),
  sdkAloneChunksPerS: Math.round(ceiling),
};
console.table(Object.entries(result).map(([measure, value]) => ({ measure, value })));
console.log(JSON.stringify(result));
if (values.json) writeFileSync(values.json, `${JSON.stringify(result, null, 2)}\n`);
