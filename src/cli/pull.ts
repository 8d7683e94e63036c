import { ensureModelFile } from "../models/model-cache.js";
import { DEFAULT_MODEL } from "../models/registry.js";

/** Downloads a model (the default one when none is named) into the models dir and prints its path; a no-op when it is there. */
export async function pullModel(source: string | undefined, modelsDir: string): Promise<void> {
  const sha256 = source === undefined || source === DEFAULT_MODEL.source ? DEFAULT_MODEL.sha256 : undefined;
  const file = await ensureModelFile(source ?? DEFAULT_MODEL.source, { modelsDir, progress: true, sha256 });
  process.stdout.write(`${file}\n`);
}
