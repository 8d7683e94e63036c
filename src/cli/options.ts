import { readFileSync } from "node:fs";
import { InvalidArgumentError, Option } from "commander";
import type { TlsFiles } from "../http/connection-limits.js";
import { isUpstreamSource, parseUpstreamSource } from "../engines/upstream/upstream-spec.js";
import { CHAT_WRAPPER_NAMES, isChatWrapperName } from "../engines/llama/thinking-wrappers.js";
import { DEFAULT_MODEL, ModelRegistry, parseAlias, parseModelSpec, type ModelSpec } from "../models/registry.js";

export const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError("expected a positive integer");
  return n;
}

export function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError("expected a whole number >= 0");
  return n;
}

export function nonNegativeNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError("expected a number >= 0");
  return n;
}

export function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError("expected a port number 0-65535");
  return n;
}

export const modelsDirOption = (): Option =>
  new Option("--models-dir <dir>", "where model files are found and downloaded to").env("GENAI_LOCAL_MODELS_DIR");
export const threadsOption = (): Option =>
  new Option("--threads <n>", "llama.cpp threads (default: 1 for models under 64 MiB; else physical cores - 1 on node-llama-cpp, physical cores on llama-server)").argParser(positiveInt).env("GENAI_LOCAL_THREADS");
export const engineOption = (): Option =>
  new Option("--engine <engine>", "what runs GGUF models: llama.cpp's llama-server (started per model) or node-llama-cpp (in-process runners); auto: llama-server when a binary is found")
    .choices(["auto", "node-llama-cpp", "llama-server"])
    .default("auto")
    .env("GENAI_LOCAL_ENGINE");
export const llamaServerOption = (): Option =>
  new Option("--llama-server <path>", "the llama-server binary for --engine (default: llama-server on PATH, then the one `genai-local engine build` installed)").env("GENAI_LOCAL_LLAMA_SERVER");
export const parallelOption = (): Option =>
  new Option("--parallel <n>", "streams generated at once per model").argParser(positiveInt).env("GENAI_LOCAL_PARALLEL");

/**
 * The registry from `--model ID=SOURCE`, `--upstream ID=openai:URL[,…]` and `--alias ID=TARGET`;
 * the default chat model (DEFAULT_MODEL) when neither a model nor an upstream is given.
 */
export function registryFrom(modelValues: string[] = [], aliasValues: string[] = [], upstreamValues: string[] = []): ModelRegistry {
  const upstreams = upstreamValues.map((value) => {
    const spec = parseModelSpec(value);
    if (!isUpstreamSource(spec.source)) throw new InvalidArgumentError(`--upstream expects ID=openai:BASE_URL[,model=NAME][,key=ENV_VAR][,input=image+audio+pdf], got "${value}".`);
    parseUpstreamSource(spec.id, spec.source); // fail at start-up, not on the first request
    return spec;
  });
  const local = modelValues.map(parseModelSpec);
  for (const spec of local) {
    if (spec.chatWrapper !== undefined && !isChatWrapperName(spec.chatWrapper)) {
      throw new InvalidArgumentError(`--model ${spec.id}: unknown chat wrapper "${spec.chatWrapper}"; one of: ${CHAT_WRAPPER_NAMES.join(", ")}.`);
    }
  }
  const specs: ModelSpec[] = local.length || upstreams.length ? [...local, ...upstreams] : [{ ...DEFAULT_MODEL }];
  return new ModelRegistry(specs, new Map(aliasValues.map(parseAlias)));
}

/** `--tls-cert` and `--tls-key`, read at start-up: both or neither. */
export function tlsFiles(certFile?: string, keyFile?: string): TlsFiles | undefined {
  if (certFile === undefined && keyFile === undefined) return undefined;
  if (certFile === undefined || keyFile === undefined) throw new InvalidArgumentError("--tls-cert and --tls-key go together: give both or neither.");
  return { cert: readFileSync(certFile), key: readFileSync(keyFile) };
}
