import { createEngine, type EngineSettings } from "./create-engine.js";
import { newResponseId, toResponseChunks } from "../gemini/response-stream.js";
import { toGenerateRequest } from "../gemini/translate.js";
import { DEFAULT_CHUNK_WINDOW_MS } from "../base/chunk-timing.js";
import { generationStreams } from "../serving/generation.js";
import { ServerMetrics } from "../serving/metrics.js";
import type { ModelRegistry } from "../models/registry.js";
import { isUpstreamSource } from "../engines/upstream/upstream-spec.js";
import { chooseLocalEngine, engineForModel, type EngineChoiceSettings } from "./engine-choice.js";

const SEPARATOR = "_".repeat(80);

/** The quickstart's first cell: each chunk's text, then a line of 80 underscores. */
function printChunk(text: string | undefined): void {
  process.stdout.write(`${text ?? ""}\n${SEPARATOR}\n`);
}

export interface StreamOptions extends EngineSettings, EngineChoiceSettings {
  prompt: string;
  model: string;
  models: ModelRegistry;
  url?: string;
  apiKey?: string;
}

/** Against a running server: the official SDK, exactly as the quickstart uses it. */
async function streamThroughServer(options: StreamOptions & { url: string }): Promise<void> {
  const { GoogleGenAI } = await import("@google/genai");
  const client = new GoogleGenAI({ apiKey: options.apiKey ?? "genai-local", httpOptions: { baseUrl: options.url } });
  const stream = await client.models.generateContentStream({ model: options.model, contents: options.prompt });
  for await (const chunk of stream) printChunk(chunk.text);
}

/** No server: the engine in this process, through the same Gemini translation and generation pipeline as the routes. */
async function streamInProcess(options: StreamOptions): Promise<void> {
  const id = options.models.resolveId(options.model);
  const spec = options.models.specs.find((s) => s.id === id);
  if (!spec) throw new Error(`Unknown model "${options.model}". Known: ${options.models.specs.map((s) => s.id).join(", ")}.`);
  // The same choice as serve's: llama-server when a binary is found (a child for this one reply).
  const localEngine = isUpstreamSource(spec.source) ? undefined : engineForModel(spec, await chooseLocalEngine(options), options.engine);
  const engine = await createEngine(spec, { ...options, isolate: false, localEngine });
  try {
    const request = toGenerateRequest({ contents: [{ role: "user", parts: [{ text: options.prompt }] }] });
    const identity = { modelVersion: engine.info.id, responseId: newResponseId() };
    const pipeline = { engine, metrics: new ServerMetrics(options.models), startedAt: performance.now(), chunkWindowMs: DEFAULT_CHUNK_WINDOW_MS };
    for await (const chunk of toResponseChunks(generationStreams(pipeline, request)[0]!, identity)) {
      printChunk(chunk.candidates[0]?.content.parts.map((part) => ("text" in part ? part.text : "")).join(""));
    }
  } finally {
    await engine.close();
  }
}

export async function runStream(options: StreamOptions): Promise<void> {
  if (options.url) await streamThroughServer({ ...options, url: options.url });
  else await streamInProcess(options);
}
