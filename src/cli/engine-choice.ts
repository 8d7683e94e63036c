import { binaryVersion, findLlamaServer, type FoundBinary } from "../engines/llama-server/binary.js";

export const ENGINE_KINDS = ["auto", "node-llama-cpp", "llama-server"] as const;
export type EngineKind = (typeof ENGINE_KINDS)[number];

/** Which engine serves the local (GGUF) models, and why: logged at start for each model. */
export type LocalEngine =
  | { kind: "node-llama-cpp"; reason: string }
  | { kind: "llama-server"; reason: string; binary: FoundBinary; version: string };

export interface EngineChoiceSettings {
  engine?: EngineKind;
  /** `--llama-server PATH`, or GENAI_LOCAL_LLAMA_SERVER when `llamaServerFromEnv`. */
  llamaServer?: string;
  llamaServerFromEnv?: boolean;
  /** Where `genai-local engine build` installed its binary (the data directory). */
  dataDir?: string;
}

const WHERE = "--llama-server PATH, GENAI_LOCAL_LLAMA_SERVER, llama-server on PATH, or `genai-local engine build`";

/**
 * `auto` (the default) takes llama-server when a binary is found, node-llama-cpp (which `npm ci`
 * installs) otherwise; `llama-server` without a binary is an error at start, not a silent fallback.
 */
export async function chooseLocalEngine(settings: EngineChoiceSettings): Promise<LocalEngine> {
  const kind = settings.engine ?? "auto";
  if (kind === "node-llama-cpp") return { kind, reason: "--engine node-llama-cpp" };
  const binary = findLlamaServer({ explicit: settings.llamaServer, fromEnv: settings.llamaServerFromEnv, dataDir: settings.dataDir });
  if (!binary) {
    if (kind === "llama-server") throw new Error(`--engine llama-server needs a llama-server binary; none was found (give ${WHERE}).`);
    return { kind: "node-llama-cpp", reason: `no llama-server binary was found (${WHERE})` };
  }
  const version = await binaryVersion(binary.path);
  const how = kind === "auto" ? "--engine auto found" : "--engine llama-server with";
  return { kind: "llama-server", binary, version, reason: `${how} ${binary.path} (from ${binary.source})` };
}

/**
 * The engine for one model: the server's choice, except that a model naming a node-llama-cpp chat
 * wrapper (`,chat-wrapper=NAME`) stays on node-llama-cpp under auto (llama-server renders the GGUF's
 * own template); asked for llama-server by name, such a model is an error at start.
 */
export function engineForModel(model: { id: string; chatWrapper?: string }, server: LocalEngine, asked: EngineKind = "auto"): LocalEngine {
  if (server.kind !== "llama-server" || model.chatWrapper === undefined) return server;
  if (asked === "llama-server") {
    throw new Error(`--model ${model.id}: chat-wrapper=${model.chatWrapper} is node-llama-cpp's; the llama-server engine renders the GGUF's own chat template (leave chat-wrapper= out, or use --engine node-llama-cpp).`);
  }
  return { kind: "node-llama-cpp", reason: `it names node-llama-cpp's chat wrapper ${model.chatWrapper}` };
}
