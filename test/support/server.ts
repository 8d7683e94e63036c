import { randomUUID } from "node:crypto";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { GoogleGenAI } from "@google/genai";
import { afterAll, beforeAll } from "vitest";
import { startServer, type RunningServer } from "../../src/cli/serve.js";
import { registryFrom } from "../../src/cli/options.js";
import { llamaServerBinary } from "./llama-server.js";

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const modelsDir = (): string => process.env.GENAI_LOCAL_MODELS_DIR as string;

export interface TestServerOptions {
  apiKeys?: string[];
  models?: string[];
  upstreams?: string[];
  aliases?: string[];
  parallel?: number;
  queueSize?: number;
  queueTimeoutMs?: number;
  drainTimeoutMs?: number;
  limits?: Partial<import("../../src/http/connection-limits.js").ConnectionLimits>;
  corsOrigins?: string[];
  cacheMaxTokens?: number;
  cacheDir?: string;
  /** Uploaded files; by default a data directory of the test's own (made only if a test uploads). */
  files?: { dataDir?: string; maxFileBytes?: number; maxTotalBytes?: number; ttlMs?: number };
  live?: Partial<import("../../src/live/routes.js").LiveServerLimits>;
  tls?: import("../../src/http/connection-limits.js").TlsFiles;
  /** Which engine runs the GGUF models (default: auto, as the CLI's). */
  engine?: import("../../src/cli/engine-choice.js").EngineKind;
  llamaServer?: string;
}

/** GENAI_LOCAL_TEST_ENGINE: the engine the test servers run their GGUF models on (see startTestServer). */
export const testEngine = process.env.GENAI_LOCAL_TEST_ENGINE as TestServerOptions["engine"];
/** Whether the suite runs on the llama-server engine, for the few assertions that differ there (docs/engines.md, "Known differences"). */
export const onLlamaServer = testEngine === "llama-server";

/** The tiny story model most tests run on: fast, no chat template. */
export const STORIES_MODEL = "stories-260k=stories260K.gguf";
/** The real chat model (ChatML) the judges also run on, where behaviour depends on a chat model. */
export const CHAT_MODEL_ID = "smollm2-135m-instruct";
export const CHAT_MODEL = `${CHAT_MODEL_ID}=SmolLM2-135M-Instruct.Q4_1.gguf`;

/** A real server on a random loopback port with the tiny story model (unless told otherwise), one thread. */
export function startTestServer(options: TestServerOptions = {}): Promise<RunningServer> {
  const models = options.models ?? (options.upstreams?.length ? [] : [STORIES_MODEL]);
  return startServer({
    models: registryFrom(models, options.aliases, options.upstreams),
    host: "127.0.0.1",
    port: 0,
    apiKeys: options.apiKeys ?? [],
    modelsDir: modelsDir(),
    threads: 1,
    parallel: options.parallel,
    queueSize: options.queueSize,
    queueTimeoutMs: options.queueTimeoutMs,
    drainTimeoutMs: options.drainTimeoutMs,
    limits: options.limits,
    corsOrigins: options.corsOrigins,
    cacheMaxTokens: options.cacheMaxTokens,
    cacheDir: options.cacheDir,
    files: { dataDir: path.join(os.tmpdir(), `genai-local-test-data-${process.pid}-${randomUUID()}`), ...options.files },
    live: options.live,
    tls: options.tls,
    // GENAI_LOCAL_TEST_ENGINE=llama-server runs a suite on the llama-server engine (binary: see
    // support/llama-server.ts) as `--engine auto` with a binary does for a user: a model naming a
    // node-llama-cpp chat wrapper stays on node-llama-cpp (--engine llama-server would refuse it).
    engine: options.engine ?? (onLlamaServer ? "auto" : testEngine),
    llamaServer: options.llamaServer ?? (testEngine ? llamaServerBinary : undefined),
    logLevel: process.env.GENAI_LOCAL_TEST_LOG_LEVEL ?? "silent",
  });
}

/**
 * A test server for the whole file and an @google/genai client pointed at it: started before the
 * file's tests, closed after them. Read `server` and `ai` inside tests (they are set in beforeAll).
 */
export function useGeminiServer(options: TestServerOptions = {}): { readonly server: RunningServer; readonly ai: GoogleGenAI } {
  const live = {} as { server: RunningServer; ai: GoogleGenAI };
  beforeAll(async () => {
    live.server = await startTestServer(options);
    live.ai = new GoogleGenAI({ apiKey: "k", httpOptions: { baseUrl: live.server.url } });
  });
  afterAll(async () => live.server?.close());
  return live;
}

/** The value of an unlabelled gauge or counter in the server's /metrics text. */
export async function metricValue(baseUrl: string, name: string): Promise<number> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name} `));
  if (!line) throw new Error(`metric ${name} not found`);
  return Number(line.split(" ")[1]);
}

export async function waitFor(check: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`condition not met within ${timeoutMs} ms`);
}
