import { ensureModelFile } from "../models/model-cache.js";
import type { ModelSpec } from "../models/registry.js";
import type { Engine } from "./engine.js";
import { LlamaEngine } from "./llama/llama-engine.js";

export interface EngineSettings {
  modelsDir: string;
  threads?: number;
  parallel?: number;
  contextSize?: number;
  /** Show a progress bar when a model is downloaded. */
  progress?: boolean;
}

/** Finds (or downloads) a model's file and loads it into an engine. */
export async function createEngine(spec: ModelSpec, settings: EngineSettings): Promise<Engine> {
  const modelPath = await ensureModelFile(spec.source, { modelsDir: settings.modelsDir, progress: settings.progress });
  return LlamaEngine.load({
    id: spec.id,
    modelPath,
    threads: settings.threads,
    parallel: settings.parallel,
    contextSize: settings.contextSize,
  });
}
