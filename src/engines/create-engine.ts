import { ensureModelFile } from "../models/model-cache.js";
import type { ModelSpec } from "../models/registry.js";
import type { Engine } from "./engine.js";
import { LlamaEngine, type LlamaEngineOptions } from "./llama/llama-engine.js";
import { RunnerEngine } from "./llama/runner-engine.js";

export interface EngineSettings {
  modelsDir: string;
  threads?: number;
  parallel?: number;
  contextSize?: number;
  /** Show a progress bar when a model is downloaded. */
  progress?: boolean;
  /** Run each model in its own child process (the server's default), or in this process. */
  isolate?: boolean;
  /** Called when an isolated model's runner crashed and was restarted. */
  onRunnerRestart?: (modelId: string) => void;
}

/** Finds (or downloads) a model's file and loads it into an engine. */
export async function createEngine(spec: ModelSpec, settings: EngineSettings): Promise<Engine> {
  const modelPath = await ensureModelFile(spec.source, { modelsDir: settings.modelsDir, progress: settings.progress });
  const options: LlamaEngineOptions = {
    id: spec.id,
    modelPath,
    threads: settings.threads,
    parallel: settings.parallel,
    contextSize: settings.contextSize,
  };
  if (settings.isolate === false) return LlamaEngine.load(options);
  return RunnerEngine.start(options, () => settings.onRunnerRestart?.(spec.id));
}
