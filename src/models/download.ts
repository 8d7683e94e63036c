import { mkdir, open, rename, rm } from "node:fs/promises";
import path from "node:path";
import cliProgress from "cli-progress";
import { hfEndpoint } from "./hf-uri.js";

export interface DownloadOptions {
  signal?: AbortSignal;
  onProgress?: (received: number, total: number | undefined) => void;
  headers?: Record<string, string>;
}

interface BodyProgress {
  received: number;
  /** Content-Length, when the body arrives as announced (not compressed). */
  expected: number | undefined;
  reading: boolean;
}

/**
 * Downloads `url` to `destPath` through `destPath.part`, which is synced and renamed only once
 * the whole body (as many bytes as announced) is on disk. Any failure removes the `.part` file,
 * so `destPath` is either complete or untouched.
 */
export async function downloadModel(url: string, destPath: string, opts: DownloadOptions = {}): Promise<void> {
  const partPath = `${destPath}.part`;
  const progress: BodyProgress = { received: 0, expected: undefined, reading: false };
  try {
    await mkdir(path.dirname(destPath), { recursive: true });
    const response = await fetch(url, { headers: requestHeaders(url, opts.headers), signal: opts.signal });
    if (!response.ok) {
      await response.body?.cancel().catch(() => undefined);
      throw new Error(`HTTP ${response.status} ${response.statusText}`.trim());
    }
    if (!response.body) throw new Error(`HTTP ${response.status} without a body`);
    progress.expected = announcedLength(response);
    progress.reading = true;
    await writeBody(response.body, partPath, (bytes) => {
      progress.received += bytes;
      opts.onProgress?.(progress.received, progress.expected);
    });
    if (progress.expected !== undefined && progress.received !== progress.expected) {
      throw new Error("the body ended early");
    }
    await rename(partPath, destPath);
  } catch (error) {
    // The download error is what the caller needs to see, not a failed cleanup.
    await rm(partPath, { force: true }).catch(() => undefined);
    throw new Error(describeFailure(url, error, progress, opts.signal), { cause: error });
  }
}

function requestHeaders(url: string, extra: Record<string, string> = {}): Headers {
  // Compressed bodies would make Content-Length useless for the completeness check.
  const headers = new Headers({ "accept-encoding": "identity" });
  // The token is only for Hugging Face: other hosts (and redirects there) never see it.
  const token = process.env.HF_TOKEN;
  if (token && new URL(url).origin === new URL(hfEndpoint()).origin) headers.set("authorization", `Bearer ${token}`);
  for (const [name, value] of Object.entries(extra)) headers.set(name, value);
  return headers;
}

function announcedLength(response: Response): number | undefined {
  const encoding = response.headers.get("content-encoding");
  if (encoding && encoding !== "identity") return undefined;
  const length = response.headers.get("content-length");
  return length !== null && /^\d+$/.test(length) ? Number(length) : undefined;
}

async function writeBody(body: ReadableStream<Uint8Array>, filePath: string, onChunk: (bytes: number) => void): Promise<void> {
  const reader = body.getReader();
  try {
    const file = await open(filePath, "w");
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        await file.write(value);
        onChunk(value.byteLength);
      }
      await file.sync();
    } finally {
      await file.close();
    }
  } catch (error) {
    // Frees the connection when the failure was on our side (e.g. a full disk).
    await reader.cancel().catch(() => undefined);
    throw error;
  }
}

function describeFailure(url: string, error: unknown, progress: BodyProgress, signal: AbortSignal | undefined): string {
  const reason = signal?.aborted ? "aborted" : errorText(error);
  if (!progress.reading) return `Download of ${url} failed: ${reason}`;
  const expected = progress.expected === undefined ? "" : ` of ${progress.expected}`;
  return `Download of ${url} failed: ${reason}; received ${progress.received}${expected} bytes`;
}

/** fetch's own messages ("fetch failed", "terminated") keep the telling part in `cause`. */
function errorText(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? error.cause.message : undefined;
  return cause && cause !== error.message ? `${error.message} (${cause})` : error.message;
}

export interface ProgressBar {
  update(received: number, total: number | undefined): void;
  /** Ends the bar; `succeeded: false` reports how far a failed download got instead of "done". */
  stop(succeeded?: boolean): void;
}

type ProgressStream = NodeJS.WritableStream & { isTTY?: boolean };

/** A live bar on a terminal; one start and one end line otherwise, so CI logs stay readable. */
export function createProgressBar(label: string, stream: ProgressStream = process.stderr): ProgressBar {
  return stream.isTTY ? terminalBar(label, stream) : logLines(label, stream);
}

const megabytes = (bytes: number): string => (bytes / 1e6).toFixed(1);

function terminalBar(label: string, stream: ProgressStream): ProgressBar {
  const bar = new cliProgress.SingleBar(
    {
      format: `${label} [{bar}] {percentage}% | {receivedMB}/{totalMB} MB | ETA {eta_formatted}`,
      stream,
      hideCursor: true,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update(received, total) {
      const payload = { receivedMB: megabytes(received), totalMB: total === undefined ? "?" : megabytes(total) };
      if (!started) {
        bar.start(total ?? received, received, payload);
        started = true;
      }
      bar.setTotal(total ?? received);
      bar.update(received, payload);
    },
    stop() {
      if (started) bar.stop();
    },
  };
}

function logLines(label: string, stream: ProgressStream): ProgressBar {
  stream.write(`Downloading ${label}...\n`);
  let received = 0;
  let total: number | undefined;
  return {
    update(bytes, totalBytes) {
      received = bytes;
      total = totalBytes;
    },
    stop(succeeded = true) {
      const size = total === undefined ? `${megabytes(received)} MB` : `${megabytes(received)} of ${megabytes(total)} MB`;
      stream.write(succeeded ? `Downloaded ${label} (${megabytes(received)} MB)\n` : `Download of ${label} stopped after ${size}\n`);
    },
  };
}
