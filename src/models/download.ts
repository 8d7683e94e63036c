import { createWriteStream } from "node:fs";
import { mkdir, rename, rm } from "node:fs/promises";
import path from "node:path";
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import cliProgress from "cli-progress";

export interface DownloadOptions {
  signal?: AbortSignal;
  onProgress?: (received: number, total: number | undefined) => void;
}

/**
 * Downloads `url` to `destination` through a `.part` file that is renamed only once the body
 * is complete (and as long as announced); any failure removes the partial file, so the
 * destination either holds the whole file or does not exist.
 */
export async function downloadFile(url: string, destination: string, options: DownloadOptions = {}): Promise<void> {
  await mkdir(path.dirname(destination), { recursive: true });
  const partial = `${destination}.part`;
  const headers: Record<string, string> = {};
  if (process.env.HF_TOKEN) headers.authorization = `Bearer ${process.env.HF_TOKEN}`;
  let received = 0;
  let total: number | undefined;
  try {
    const response = await fetch(url, { headers, signal: options.signal, redirect: "follow" });
    if (!response.ok || !response.body) throw new Error(`HTTP ${response.status} ${response.statusText} from ${url}`);
    const length = Number(response.headers.get("content-length"));
    total = Number.isFinite(length) && length > 0 ? length : undefined;
    const count = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        received += chunk.length;
        options.onProgress?.(received, total);
        done(null, chunk);
      },
    });
    await pipeline(Readable.fromWeb(response.body as import("node:stream/web").ReadableStream), count, createWriteStream(partial), {
      signal: options.signal,
    });
    if (total !== undefined && received !== total) throw new Error(`the connection ended after ${received} of ${total} bytes`);
    await rename(partial, destination);
  } catch (error) {
    await rm(partial, { force: true });
    const reason = error instanceof Error ? error.message : String(error);
    const progress = total !== undefined ? ` (${received} of ${total} bytes received)` : received ? ` (${received} bytes received)` : "";
    throw new Error(`Download of ${url} failed: ${reason}${progress}`, { cause: error });
  }
}

/** A progress bar on a terminal; a start and an end line in logs (CI), so they stay readable. */
export function createProgressBar(label: string): { update(received: number, total: number | undefined): void; stop(): void } {
  if (!process.stderr.isTTY) {
    process.stderr.write(`Downloading ${label}…\n`);
    let last = 0;
    return {
      update: (received) => (last = received),
      stop: () => process.stderr.write(`Downloaded ${label} (${(last / 1e6).toFixed(1)} MB)\n`),
    };
  }
  const bar = new cliProgress.SingleBar(
    { format: `${label} [{bar}] {percentage}% | {value}/{total} bytes`, stream: process.stderr, hideCursor: true },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update: (received, total) => {
      if (!started) {
        bar.start(total ?? 0, 0);
        started = true;
      }
      if (total !== undefined) bar.setTotal(total);
      bar.update(received);
    },
    stop: () => bar.stop(),
  };
}
