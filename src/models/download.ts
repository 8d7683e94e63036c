import { createHash } from "node:crypto";
import { mkdir, open, rename, rm } from "node:fs/promises";
import type { IncomingMessage } from "node:http";
import path from "node:path";
import cliProgress from "cli-progress";
import { hfEndpoint } from "./hf-uri.js";
import { httpGet } from "./http-get.js";
import { environment } from "../base/config.js";

export interface DownloadOptions {
  signal?: AbortSignal;
  onProgress?: (received: number, total: number | undefined) => void;
  headers?: Record<string, string>;
  /** How long the server may send nothing before the download fails; 60 s by default. */
  idleTimeoutMs?: number;
  /** The file's expected SHA-256 (hex): a download that differs is refused and removed. */
  sha256?: string;
}

const DEFAULT_IDLE_TIMEOUT_MS = 60_000;

interface BodyProgress {
  received: number;
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
    opts.signal?.throwIfAborted();
    await mkdir(path.dirname(destPath), { recursive: true });
    const response = await httpGet(url, {
      headers: requestHeaders(url, opts.headers),
      signal: opts.signal,
      idleTimeoutMs: opts.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS,
    });
    checkResponse(response);
    progress.expected = announcedLength(response);
    progress.reading = true;
    const hash = createHash("sha256");
    await writeBody(response, partPath, (bytes) => {
      hash.update(bytes);
      progress.received += bytes.byteLength;
      opts.onProgress?.(progress.received, progress.expected);
    });
    if (progress.expected !== undefined && progress.received !== progress.expected) {
      throw new Error("the connection ended early");
    }
    const sha256 = hash.digest("hex");
    if (opts.sha256 && sha256 !== opts.sha256.toLowerCase()) {
      throw new Error(`the file's SHA-256 is ${sha256}, not the expected ${opts.sha256.toLowerCase()}`);
    }
    opts.signal?.throwIfAborted();
    await rename(partPath, destPath);
  } catch (error) {
    // The download error is what the caller needs to see, not a failed cleanup.
    await rm(partPath, { force: true }).catch(() => undefined);
    throw new Error(describeFailure(url, error, progress, opts.signal), { cause: error });
  }
}

function requestHeaders(url: string, extra: Record<string, string> = {}): Record<string, string> {
  const headers: Record<string, string> = { "user-agent": "genai-local" };
  // The token is only for Hugging Face: other hosts (and redirects there) never see it.
  const token = environment.hfToken();
  if (token && new URL(url).origin === new URL(hfEndpoint()).origin) headers.authorization = `Bearer ${token}`;
  for (const [name, value] of Object.entries(extra)) headers[name.toLowerCase()] = value;
  return headers;
}

function checkResponse(response: IncomingMessage): void {
  const status = response.statusCode ?? 0;
  if (status < 200 || status >= 300) {
    response.resume();
    throw new Error(`HTTP ${status} ${response.statusMessage ?? ""}`.trim());
  }
  // Nothing here decodes a compressed body, and saving it as is would corrupt the model.
  const encoding = response.headers["content-encoding"];
  if (encoding && encoding !== "identity") {
    response.resume();
    throw new Error(`the server sent the file with Content-Encoding ${encoding}`);
  }
}

function announcedLength(response: IncomingMessage): number | undefined {
  const length = response.headers["content-length"];
  return length !== undefined && /^\d+$/.test(length) ? Number(length) : undefined;
}

async function writeBody(body: IncomingMessage, filePath: string, onChunk: (bytes: Buffer) => void): Promise<void> {
  try {
    const file = await open(filePath, "w");
    try {
      for await (const chunk of body) {
        const bytes = chunk as Buffer;
        await file.write(bytes);
        onChunk(bytes);
      }
      await file.sync();
    } finally {
      await file.close();
    }
  } catch (error) {
    // Frees the connection when the failure was on our side (e.g. a full disk).
    body.destroy();
    throw error;
  }
}

function describeFailure(url: string, error: unknown, progress: BodyProgress, signal: AbortSignal | undefined): string {
  const reason = signal?.aborted ? "aborted" : errorText(error);
  if (!progress.reading) return `Download of ${url} failed: ${reason}`;
  const expected = progress.expected === undefined ? "" : ` of ${progress.expected}`;
  return `Download of ${url} failed: ${reason}; received ${progress.received}${expected} bytes`;
}

function errorText(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as NodeJS.ErrnoException).code;
  // node:http's word for a body cut short; "aborted" would read as if the caller had stopped it.
  if (error.message === "aborted" && code === "ECONNRESET") return "the server closed the connection early (ECONNRESET)";
  return code && !error.message.includes(code) ? `${error.message} (${code})` : error.message;
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
