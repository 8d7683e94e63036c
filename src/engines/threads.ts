import { readdirSync, readFileSync } from "node:fs";
import os from "node:os";

export type LocalEngineKind = "node-llama-cpp" | "llama-server";

/**
 * llama.cpp threads for a model of this size on this machine, per engine. A tiny model is bound by
 * per-token hand-offs, not arithmetic, so it gets one thread on either engine. Larger ones: every
 * physical core under llama-server (its own default, and its best setting where measured), every
 * physical core but one under node-llama-cpp, whose JavaScript hands each token across threads and
 * stalls llama.cpp's thread barriers when it has no core of its own. SMT siblings add no decode
 * speed, as llama.cpp's own default assumes. Figures: docs/performance.md.
 */
export function defaultThreads(modelBytes: number, engine: LocalEngineKind = "node-llama-cpp", cores = physicalCores()): number {
  const TINY_MODEL_BYTES = 64 * 1024 * 1024;
  if (modelBytes < TINY_MODEL_BYTES) return 1;
  return engine === "llama-server" ? Math.max(1, cores) : Math.max(1, cores - 1);
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
