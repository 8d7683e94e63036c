import os from "node:os";
import { getLlama, LlamaLogLevel, type Llama } from "node-llama-cpp";

let runtime: Promise<Llama> | undefined;

/**
 * Threads for a model of this size on this machine. On a small CPU a tiny model is bound by
 * per-token overhead, not arithmetic: on 2 cores stories260K does ~1,300 tok/s on 1 thread and
 * falls to ~60 tok/s on 2 (threads fight the event loop), so tiny models get one thread and
 * larger ones all cores but one, leaving a core for Node itself.
 */
export function defaultThreads(modelBytes: number, cores = os.availableParallelism()): number {
  const TINY_MODEL_BYTES = 64 * 1024 * 1024;
  if (modelBytes < TINY_MODEL_BYTES) return 1;
  return Math.max(1, cores - 1);
}

export type FlashAttentionMode = "auto" | "on" | "off";

/**
 * Flash attention for a context. `auto` is off when llama.cpp runs on the CPU alone and llama.cpp's
 * own choice on a GPU. llama.cpp's choice turns it on wherever the backend supports it, the CPU
 * included, and on the CPU its kernel is the slower path: with stories260K on this project's 2-core
 * VM the engine alone made 2,545–2,625 tok/s with it off against 1,756–1,793 on, at one stream, and
 * 3,635–3,745 against 2,005–2,113 at four (bench/README.md). `on` and `off` are kept as asked.
 */
export function flashAttentionFor(mode: FlashAttentionMode, onGpu: boolean): boolean | "auto" {
  if (mode === "on") return true;
  if (mode === "off") return false;
  return onGpu ? "auto" : false;
}

/**
 * One llama.cpp runtime per process, CPU-only unless GENAI_LOCAL_GPU asks otherwise. The first
 * caller's thread cap sticks; each context still sets its own thread count.
 */
export function getRuntime(maxThreads: number): Promise<Llama> {
  if (runtime) return runtime;
  const gpu = process.env.GENAI_LOCAL_GPU;
  runtime = getLlama({
    gpu: gpu === undefined || gpu === "" || gpu === "false" ? false : gpu === "auto" ? "auto" : (gpu as "cuda" | "vulkan" | "metal"),
    build: "never",
    maxThreads,
    logLevel: LlamaLogLevel.error,
    logger: (level, message) => {
      if (level === LlamaLogLevel.error || level === LlamaLogLevel.fatal) process.stderr.write(`llama.cpp: ${message}\n`);
    },
  });
  return runtime;
}
