import { ensureModelFile } from "../models/model-cache.js";

/** Downloads a model into the models dir (a no-op when it is already there) and prints its path. */
export async function pullModel(source: string, modelsDir: string): Promise<void> {
  const file = await ensureModelFile(source, { modelsDir, progress: true });
  process.stdout.write(`${file}\n`);
}
