import { stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { createProgressBar, downloadModel } from "./download.js";
import { isRemoteSource, parseModelSource, type RemoteModelSource } from "./hf-uri.js";
import { environment } from "../base/config.js";

/** A model that is neither on disk nor downloadable now; the message says what to do about it. */
export class ModelNotAvailableError extends Error {
  override name = "ModelNotAvailableError";
}

/** GENAI_LOCAL_MODELS_DIR, else `$XDG_CACHE_HOME/genai-local/models` (`~/.cache` by default). */
export function defaultModelsDir(): string {
  const configured = environment.modelsDir();
  if (configured) return path.resolve(configured);
  const cacheHome = environment.xdgCacheHome() ?? path.join(os.homedir(), ".cache");
  return path.join(cacheHome, "genai-local", "models");
}

export interface EnsureModelOptions {
  modelsDir: string;
  /** Never download (env GENAI_LOCAL_OFFLINE=1 does the same). */
  offline?: boolean;
  /** Stops this caller's wait; the download itself stops once no caller waits for it. */
  signal?: AbortSignal;
  /** Show a progress bar on stderr while downloading. */
  progress?: boolean;
  /** The expected SHA-256 (hex) of a file to download; a different file is refused. */
  sha256?: string;
}

interface SharedDownload {
  done: Promise<string>;
  controller: AbortController;
  waiters: number;
}

/** Downloads under way, by destination path: concurrent callers for one file share one. */
const inFlight = new Map<string, SharedDownload>();

/**
 * The local path of a model source: an existing file path as it is (a bare file name may also
 * be in the models dir); for `hf:` and http(s) sources the file of that name in the models dir,
 * downloaded there first when missing.
 */
export async function ensureModelFile(source: string, opts: EnsureModelOptions): Promise<string> {
  const modelsDir = path.resolve(opts.modelsDir);
  const localFile = await findLocalFile(source, modelsDir);
  if (localFile) return localFile;
  if (!isRemoteSource(source)) {
    throw new ModelNotAvailableError(
      `Model file "${source}" was not found (resolved to ${path.resolve(source)}). ` +
        `Give the path of a .gguf file, an hf:owner/repo/file.gguf URI or an http(s):// URL.`,
    );
  }
  const remote = parseModelSource(source);
  const destPath = path.join(modelsDir, remote.fileName);
  if (await isFile(destPath)) return destPath;

  const guidance = `Put the file there (or set GENAI_LOCAL_MODELS_DIR) or run: genai-local pull ${source}`;
  if (opts.offline || environment.offline()) {
    throw new ModelNotAvailableError(`Model file "${remote.fileName}" is not in ${modelsDir} and downloading is off. ${guidance}`);
  }
  // No await between this lookup and the registration in startDownload, so callers cannot both start one.
  const shared = inFlight.get(destPath) ?? startDownload(remote, destPath, modelsDir, guidance, opts.progress ?? false, opts.sha256);
  return waitForDownload(shared, opts.signal);
}

async function findLocalFile(source: string, modelsDir: string): Promise<string | undefined> {
  if (await isFile(source)) return path.resolve(source);
  const isBareFileName = !isRemoteSource(source) && path.basename(source) === source;
  if (isBareFileName && (await isFile(path.join(modelsDir, source)))) return path.join(modelsDir, source);
  return undefined;
}

async function isFile(filePath: string): Promise<boolean> {
  try {
    return (await stat(filePath)).isFile();
  } catch {
    return false;
  }
}

function startDownload(remote: RemoteModelSource, destPath: string, modelsDir: string, guidance: string, progress: boolean, sha256?: string): SharedDownload {
  const controller = new AbortController();
  const bar = progress ? createProgressBar(remote.fileName) : undefined;
  const done = downloadModel(remote.url, destPath, {
    signal: controller.signal,
    sha256,
    onProgress: bar && ((received, total) => bar.update(received, total)),
  })
    .then(
      () => {
        bar?.stop(true);
        return destPath;
      },
      (error: unknown) => {
        bar?.stop(false);
        const reason = (error instanceof Error ? error.message : String(error)).replace(/\s+/g, " ");
        throw new ModelNotAvailableError(
          `Model file "${remote.fileName}" is not in ${modelsDir} and could not be downloaded: ${reason}. ${guidance}`,
          { cause: error },
        );
      },
    )
    .finally(() => inFlight.delete(destPath));
  // Every waiter may have left (aborted) by the time it fails; they got their own errors.
  done.catch(() => undefined);
  const shared: SharedDownload = { done, controller, waiters: 0 };
  inFlight.set(destPath, shared);
  return shared;
}

/**
 * Resolves with the shared download. An aborted caller stops waiting; when it was the last one,
 * the download is stopped too, and the caller is answered only once its `.part` file is gone.
 */
function waitForDownload(shared: SharedDownload, signal: AbortSignal | undefined): Promise<string> {
  shared.waiters++;
  if (!signal) return shared.done;
  return new Promise<string>((resolve, reject) => {
    let left = false;
    const leave = () => {
      left = true;
      shared.waiters--;
      if (shared.waiters > 0) return reject(signal.reason);
      shared.controller.abort(signal.reason);
      shared.done.catch(() => undefined).finally(() => reject(signal.reason));
    };
    if (signal.aborted) return leave();
    signal.addEventListener("abort", leave, { once: true });
    shared.done
      .then(
        (file) => {
          if (!left) resolve(file);
        },
        (error: unknown) => {
          if (!left) reject(error);
        },
      )
      .finally(() => signal.removeEventListener("abort", leave));
  });
}
