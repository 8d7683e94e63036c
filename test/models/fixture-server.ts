import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
// The shared models, where the tests are told to find them (test/support/env.ts sets the default).
export const STORIES_GGUF_PATH = path.join(process.env.GENAI_LOCAL_MODELS_DIR ?? path.resolve(repoRoot, "../shared/models"), "stories260K.gguf");
export const STORIES_GGUF_SHA256 = "270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d";
export const STORIES_HF_URI = "hf:ggml-org/tiny-llamas/stories260K.gguf";
export const STORIES_HF_PATH = "/ggml-org/tiny-llamas/resolve/main/stories260K.gguf";

export const readStoriesGguf = (): Buffer => readFileSync(STORIES_GGUF_PATH);
export const sha256 = (data: Buffer): string => createHash("sha256").update(data).digest("hex");

export type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

export interface RecordedRequest {
  path: string;
  headers: http.IncomingHttpHeaders;
}

/** A loopback HTTP server whose routes the tests set; anything else is a 404. */
export interface FixtureServer {
  baseUrl: string;
  requests: RecordedRequest[];
  routes: Map<string, Handler>;
  close(): Promise<void>;
}

export async function startFixtureServer(): Promise<FixtureServer> {
  const requests: RecordedRequest[] = [];
  const routes = new Map<string, Handler>();
  const server = http.createServer((req, res) => {
    const urlPath = req.url ?? "";
    requests.push({ path: urlPath, headers: req.headers });
    const handler = routes.get(urlPath);
    if (handler) handler(req, res);
    else res.writeHead(404, { "Content-Type": "text/plain" }).end("Entry not found");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    requests,
    routes,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

/** Sends `body` in slices (so the client sees several chunks), with or without Content-Length. */
export function serveInSlices(body: Buffer, opts: { sliceBytes?: number; delayMs?: number; announceLength?: boolean } = {}): Handler {
  const { sliceBytes = 64 * 1024, delayMs = 0, announceLength = true } = opts;
  return (_req, res) => {
    res.writeHead(200, announceLength ? { "Content-Length": body.length } : {});
    let offset = 0;
    const sendNext = (): void => {
      if (res.destroyed) return;
      if (offset >= body.length) return void res.end();
      res.write(body.subarray(offset, (offset += sliceBytes)));
      if (delayMs > 0) setTimeout(sendNext, delayMs);
      else setImmediate(sendNext);
    };
    sendNext();
  };
}

/** Sends all of `body` at once, then closes the connection (as HTTP/1.0-style static servers do). */
export function serveThenCloseConnection(body: Buffer): Handler {
  return (_req, res) => {
    res.writeHead(200, { "Content-Length": body.length, Connection: "close" });
    res.end(body);
  };
}

export function redirectTo(location: string, status = 302): Handler {
  return (_req, res) => res.writeHead(status, { Location: location }).end();
}

/** Announces all of `body` but closes the connection once `sentBytes` of it are out. */
export function serveThenCloseAfter(body: Buffer, sentBytes: number): Handler {
  return (_req, res) => {
    res.writeHead(200, { "Content-Length": body.length });
    res.write(body.subarray(0, sentBytes), () => res.socket?.destroy());
  };
}

/** Announces all of `body`, sends `sentBytes` of it, then sends nothing more. */
export function serveThenStallAfter(body: Buffer, sentBytes: number): Handler {
  return (_req, res) => {
    res.writeHead(200, { "Content-Length": body.length });
    res.write(body.subarray(0, sentBytes));
  };
}

const envChanges: Array<Record<string, string | undefined>> = [];

/** Sets env vars for a test; `restoreEnv()` (in afterEach) puts back what was there before. */
export function setEnv(values: Record<string, string | undefined>): void {
  envChanges.push(Object.fromEntries(Object.keys(values).map((name) => [name, process.env[name]])));
  applyEnv(values);
}

export function restoreEnv(): void {
  for (let saved = envChanges.pop(); saved; saved = envChanges.pop()) applyEnv(saved);
}

function applyEnv(values: Record<string, string | undefined>): void {
  for (const [name, value] of Object.entries(values)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
}
