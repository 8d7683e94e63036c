import { readdirSync, readFileSync } from "node:fs";
import os from "node:os";
import { getLlama, LlamaLogLevel, type Llama } from "node-llama-cpp";
import { environment } from "../../base/config.js";

let runtime: Promise<Llama> | undefined;

/**
 * Threads for a model of this size on this machine. A tiny model is bound by per-token hand-offs,
 * not arithmetic, and extra llama.cpp threads fight Node's own, so it gets one thread; larger ones
 * get every physical core but one (SMT siblings add no decode speed, as llama.cpp's own default
 * assumes), leaving a core for the server, whose work would otherwise stall llama.cpp's thread
 * barriers. Figures: docs/performance.md.
 */
export function defaultThreads(modelBytes: number, cores = physicalCores()): number {
  const TINY_MODEL_BYTES = 64 * 1024 * 1024;
  if (modelBytes < TINY_MODEL_BYTES) return 1;
  return Math.max(1, cores - 1);
}

/** Physical cores this process may use: logical CPUs less SMT siblings (Linux sysfs), else all logical ones. */
export function physicalCores(sysfs = "/sys/devices/system/cpu"): number {
  const logical = os.availableParallelism();
  try {
    const cpus = readdirSync(sysfs).filter((name) => /^cpu\d+$/.test(name));
    const cores = new Set<string>();
    for (const cpu of cpus) cores.add(readFileSync(`${sysfs}/${cpu}/topology/thread_siblings_list`, "utf8").trim());
    // Affinity or a cgroup may allow fewer CPUs than the machine has.
    return cores.size > 0 ? Math.max(1, Math.min(logical, Math.round((logical * cores.size) / cpus.length))) : logical;
  } catch {
    return logical;
  }
}

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
