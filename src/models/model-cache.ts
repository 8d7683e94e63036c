import { existsSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { createProgressBar, downloadFile } from "./download.js";
import { parseRemoteSource } from "./hf-uri.js";

/** A model that is neither on disk nor downloadable right now; its message says what to do. */
export class ModelNotAvailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ModelNotAvailableError";
  }
}

export function defaultModelsDir(): string {
  if (process.env.GENAI_LOCAL_MODELS_DIR) return path.resolve(process.env.GENAI_LOCAL_MODELS_DIR);
  const cache = process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), ".cache");
  return path.join(cache, "genai-local", "models");
}

export interface EnsureOptions {
  modelsDir: string;
  /** Never download (also env GENAI_LOCAL_OFFLINE=1). */
  offline?: boolean;
  progress?: boolean;
  signal?: AbortSignal;
}

const inFlight = new Map<string, Promise<string>>();

/**
 * The local path of a model: a file path as given; for hf:/https sources the file of that name
 * in the models dir, downloaded there first when missing (one download per file at a time).
 */
export function ensureModelFile(source: string, options: EnsureOptions): Promise<string> {
  const remote = parseRemoteSource(source);
  if (!remote) {
    if (existsSync(source) && statSync(source).isFile()) return Promise.resolve(path.resolve(source));
    return Promise.reject(new ModelNotAvailableError(`Model file "${source}" does not exist.`));
  }
  const destination = path.join(options.modelsDir, remote.fileName);
  if (existsSync(destination)) return Promise.resolve(destination);

  const guidance = `Put the file "${remote.fileName}" in ${options.modelsDir} (or point GENAI_LOCAL_MODELS_DIR at a folder that has it), or run: genai-local pull ${source}`;
  if (options.offline || process.env.GENAI_LOCAL_OFFLINE === "1") {
    return Promise.reject(new ModelNotAvailableError(`Model file "${remote.fileName}" is not in ${options.modelsDir} and downloading is off. ${guidance}`));
  }
  const running = inFlight.get(destination);
  if (running) return running;
  const download = (async () => {
    const bar = options.progress ? createProgressBar(remote.fileName) : undefined;
    try {
      await downloadFile(remote.url, destination, { signal: options.signal, onProgress: bar?.update });
      return destination;
    } catch (error) {
      throw new ModelNotAvailableError(`Model file "${remote.fileName}" is not in ${options.modelsDir} and could not be downloaded (${(error as Error).message}). ${guidance}`);
    } finally {
      bar?.stop();
      inFlight.delete(destination);
    }
  })();
  inFlight.set(destination, download);
  return download;
}
