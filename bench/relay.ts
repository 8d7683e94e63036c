/**
 * The streaming path alone: an upstream-shaped token source that answers instantly, relayed by
 * genai-local (translation, SSE writing) to @google/genai's parser. genai-local runs pinned to
 * one core (taskset, when present) with --chunk-window 0, so every upstream chunk is a chunk.
 *
 *   npm run bench:relay -- [--chunks 20000] [--paced 2000] [--json out.json]
 * Prints chunks/s (source as fast as it can) and the latency genai-local adds per chunk (p50/p99,
 * source paced at one chunk per 0.5 ms, each stamped with its send time).
 */
import { execFileSync } from "node:child_process";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { GoogleGenAI } from "@google/genai";
import { startLocalServer } from "./local-server.js";
import { percentile } from "./stream-clients.js";

const { values } = parseArgs({ options: { chunks: { type: "string", default: "20000" }, paced: { type: "string", default: "2000" }, json: { type: "string" } } });
const now = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** An OpenAI-compatible /chat/completions that streams `count` chunks; `paced` spaces them out. */
function startSource(): Promise<{ url: string; setPlan: (count: number, paced: boolean) => void; close: () => void }> {
  let plan = { count: 0, paced: false };
  const server = http.createServer(async (req, res) => {
    req.resume();
    res.writeHead(200, { "Content-Type": "text/event-stream" });
    const head = '{"id":"x","object":"chat.completion.chunk","created":0,"model":"relay","choices":[{"index":0,"delta":{"content":"';
    for (let i = 0; i < plan.count; i++) {
      const line = `data: ${head}${plan.paced ? now().toFixed(3) : "tok"} "},"finish_reason":null}]}\n\n`;
      if (!res.write(line)) await new Promise((resolve) => res.once("drain", resolve));
      if (plan.paced && i % 2 === 1) await sleep(1);
    }
    res.write(`data: {"id":"x","object":"chat.completion.chunk","created":0,"model":"relay","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n`);
    res.write(`data: {"id":"x","object":"chat.completion.chunk","created":0,"model":"relay","choices":[],"usage":{"prompt_tokens":1,"completion_tokens":${plan.count},"total_tokens":${plan.count + 1}}}\n\ndata: [DONE]\n\n`);
    res.end();
  });
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () =>
      resolve({
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
        setPlan: (count, paced) => (plan = { count, paced }),
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

async function relayOnce(count: number, paced: boolean): Promise<{ chunks: number; ms: number; delays: number[] }> {
  source.setPlan(count, paced);
  const t0 = performance.now();
  const delays: number[] = [];
  let chunks = 0;
  for await (const chunk of await ai.models.generateContentStream({ model: "relay", contents: "go" })) {
    chunks++;
    if (paced) {
      const sent = Number.parseFloat(chunk.text ?? "");
      if (Number.isFinite(sent)) delays.push(now() - sent);
    }
  }
  return { chunks, ms: performance.now() - t0, delays };
}

await relayOnce(2000, false); // warm-up
const fast = await relayOnce(Number(values.chunks), false);
const paced = await relayOnce(Number(values.paced), true);
await relay.stop();
source.close();

const result = {
  pinned,
  chunks: fast.chunks,
  chunksPerSecond: Math.round((fast.chunks / fast.ms) * 1000),
  addedLatencyP50Ms: +percentile(paced.delays, 50).toFixed(3),
  addedLatencyP99Ms: +percentile(paced.delays, 99).toFixed(3),
};
console.table([result]);
console.log(JSON.stringify(result));
if (values.json) writeFileSync(values.json, `${JSON.stringify(result, null, 2)}\n`);
