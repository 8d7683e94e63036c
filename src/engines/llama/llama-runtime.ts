import { getLlama, LlamaLogLevel, type Llama } from "node-llama-cpp";
import { environment } from "../../base/config.js";

let runtime: Promise<Llama> | undefined;

export type FlashAttentionMode = "auto" | "on" | "off";

/**
 * Flash attention for a context. `auto` is off when llama.cpp runs on the CPU alone, where its kernel
 * is the slower path (llama.cpp's own choice would turn it on there too), and llama.cpp's choice on
 * a GPU. `on` and `off` are kept as asked. Figures: docs/performance.md.
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
  const gpu = environment.gpu();
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
