import { statSync } from "node:fs";
import { ensureModelFile } from "../models/model-cache.js";
import type { ModelSpec } from "../models/registry.js";
import type { Engine } from "../engines/engine.js";
import { cpuForRunner, type PinMode } from "../engines/llama/cpu-affinity.js";
import { LlamaEngine, type LlamaEngineOptions } from "../engines/llama/llama-engine.js";
import type { FlashAttentionMode } from "../engines/llama/llama-runtime.js";
import { defaultThreads } from "../engines/threads.js";
import { RunnerEngine } from "../engines/llama/runner-engine.js";
import { OpenAiUpstreamEngine } from "../engines/upstream/openai-upstream.js";
import { isUpstreamSource, parseUpstreamSource } from "../engines/upstream/upstream-spec.js";
import { DEFAULT_PARALLEL } from "../engines/llama/llama-engine.js";
import { LlamaServerEngine } from "../engines/llama-server/llama-server-engine.js";
import type { LocalEngine } from "./engine-choice.js";

export interface EngineSettings {
  modelsDir: string;
  threads?: number;
  parallel?: number;
  contextSize?: number;
  /** Show a progress bar when a model is downloaded. */
  progress?: boolean;
  /** Run each model in its own child process (the server's default), or in this process. */
  isolate?: boolean;
  /** Pin each one-thread runner to a CPU of its own (auto, Linux) or leave it to the scheduler (off). */
  pin?: PinMode;
  /** The server's chunk window: a runner may hold text this long to send it in one message. */
  chunkWindowMs?: number;
  /** Called when an isolated model's runner crashed and was restarted. */
  onRunnerRestart?: (modelId: string) => void;
  /** Where saved prefix states (context caching) are written. */
  stateDir?: string;
  /** Flash attention: auto (llama.cpp's choice), on or off (faster on the CPU alone). */
  flashAttention?: FlashAttentionMode;
  /** Which engine runs GGUF models (see chooseLocalEngine); node-llama-cpp when absent. */
  localEngine?: LocalEngine;
}

/** An upstream engine for `openai:` sources; otherwise finds (or downloads) the GGUF and loads it. */
export async function createEngine(spec: ModelSpec, settings: EngineSettings): Promise<Engine> {
  if (isUpstreamSource(spec.source)) return OpenAiUpstreamEngine.connect(parseUpstreamSource(spec.id, spec.source));
  const modelPath = await ensureModelFile(spec.source, { modelsDir: settings.modelsDir, progress: settings.progress, sha256: spec.sha256 });
  if (settings.localEngine?.kind === "llama-server") {
    const threads = settings.threads ?? defaultThreads(statSync(modelPath).size, "llama-server");
    return LlamaServerEngine.start({
      id: spec.id,
      modelPath,
      binary: settings.localEngine.binary.path,
      threads,
      cpu: cpuForRunner(settings.pin ?? "auto", threads),
      parallel: settings.parallel ?? DEFAULT_PARALLEL,
      contextSize: settings.contextSize,
      flashAttention: settings.flashAttention,
      ...(spec.mmproj ? { mmproj: await ensureModelFile(spec.mmproj, { modelsDir: settings.modelsDir, progress: settings.progress }) } : {}),
      stateDir: settings.stateDir,
      onRestart: () => settings.onRunnerRestart?.(spec.id),
    });
  }
  if (spec.mmproj) {
    throw new Error(`The model ${spec.id} names a projector (mmproj=${spec.mmproj}), which only the llama-server engine reads: build or name a llama-server binary (genai-local engine build, --llama-server PATH).`);
  }
  const options: LlamaEngineOptions = {
    id: spec.id,
    modelPath,
    threads: settings.threads ?? defaultThreads(statSync(modelPath).size),
    parallel: settings.parallel,
    contextSize: settings.contextSize,
    stateDir: settings.stateDir,
    flashAttention: settings.flashAttention,
    ...(spec.chatWrapper ? { chatWrapper: spec.chatWrapper } : {}),
  };
  if (settings.isolate === false) return LlamaEngine.load(options);
  return RunnerEngine.start(options, {
    cpu: cpuForRunner(settings.pin ?? "auto", options.threads ?? 1),
    batchMs: settings.chunkWindowMs,
    onRestart: () => settings.onRunnerRestart?.(spec.id),
  });
}
