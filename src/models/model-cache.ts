// TEMPORARY minimal version until the download module lands.
import { existsSync } from "node:fs";
import os from "node:os";
import path from "node:path";

export class ModelNotAvailableError extends Error {}

export function defaultModelsDir(): string {
  return process.env.GENAI_LOCAL_MODELS_DIR ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), ".cache"), "genai-local", "models");
}

export async function ensureModelFile(source: string, opts: { modelsDir: string; progress?: boolean }): Promise<string> {
  if (existsSync(source)) return path.resolve(source);
  const fileName = source.split("/").at(-1) ?? source;
  const local = path.join(opts.modelsDir, fileName);
  if (existsSync(local)) return local;
  throw new ModelNotAvailableError(`Model file "${fileName}" is not in ${opts.modelsDir}.`);
}
