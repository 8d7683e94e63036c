// The server imports undici, which makes its client the one behind global fetch; downloads must
// hold up under the same conditions (see the Connection: close test).
import "undici";
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { downloadModel } from "../../src/models/download.js";
import { parseModelSource } from "../../src/models/hf-uri.js";
import {
  readStoriesGguf,
  redirectTo,
  restoreEnv,
  serveInSlices,
  serveThenCloseAfter,
  serveThenCloseConnection,
  serveThenStallAfter,
  setEnv,
  sha256,
  startFixtureServer,
  STORIES_GGUF_SHA256,
  STORIES_HF_PATH,
  STORIES_HF_URI,
  type FixtureServer,
} from "./fixture-server.js";

const gguf = readStoriesGguf();
const random = randomBytes(300_000);
let server: FixtureServer;
let otherOrigin: FixtureServer;
let dir: string;

beforeAll(async () => {
  server = await startFixtureServer();
  server.routes.set(STORIES_HF_PATH, serveInSlices(gguf));
  server.routes.set("/random.bin", serveInSlices(random, { announceLength: false }));
  server.routes.set("/cut.gguf", serveThenCloseAfter(random, random.length / 2));
  server.routes.set("/stall.gguf", serveThenStallAfter(random, 10_000));
  server.routes.set("/big-then-close.gguf", serveThenCloseConnection(randomBytes(4 * 1024 * 1024)));
  server.routes.set("/gzipped.gguf", (_req, res) => res.writeHead(200, { "Content-Encoding": "gzip" }).end(random));
  otherOrigin = await startFixtureServer();
  otherOrigin.routes.set("/cdn/random.bin", serveInSlices(random));
  server.routes.set("/redirect/same-origin.bin", redirectTo("/random.bin", 307));
  server.routes.set("/redirect/cdn.bin", redirectTo(`${otherOrigin.baseUrl}/cdn/random.bin`));
});
afterAll(async () => {
  await server.close();
  await otherOrigin.close();
});

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "genai-local-download-"));
  server.requests.length = 0;
  otherOrigin.requests.length = 0;
  setEnv({ GENAI_LOCAL_HF_ENDPOINT: server.baseUrl, HF_TOKEN: undefined });
});
afterEach(async () => {
  restoreEnv();
  await rm(dir, { recursive: true, force: true });
});

describe("downloadModel", () => {
  it("downloads an hf: URI from the endpoint's resolve path, byte for byte, with monotonic progress", async () => {
    const { url } = parseModelSource(STORIES_HF_URI);
    const destPath = path.join(dir, "nested", "stories260K.gguf");
    const progress: Array<[number, number | undefined]> = [];
    await downloadModel(url, destPath, { onProgress: (received, total) => progress.push([received, total]) });

    expect(server.requests.map((r) => r.path)).toEqual([STORIES_HF_PATH]);
    expect(sha256(readFileSync(destPath))).toBe(STORIES_GGUF_SHA256);
    expect(await readdir(path.dirname(destPath))).toEqual(["stories260K.gguf"]);
    expect(progress.length).toBeGreaterThan(1);
    expect(progress.every(([, total]) => total === gguf.length)).toBe(true);
    const received = progress.map(([bytes]) => bytes);
    expect(received.every((bytes, i) => i === 0 || bytes > (received[i - 1] as number))).toBe(true);
    expect(received.at(-1)).toBe(gguf.length);
  });

  it("downloads a body of unannounced length, reporting an unknown total", async () => {
    const destPath = path.join(dir, "random.bin");
    const totals = new Set<number | undefined>();
    await downloadModel(`${server.baseUrl}/random.bin`, destPath, { onProgress: (_received, total) => totals.add(total) });
    expect(readFileSync(destPath).equals(random)).toBe(true);
    expect([...totals]).toEqual([undefined]);
  });

  it("survives servers that close the connection right after a large body", async () => {
    // A slow reader of such a body used to crash the whole process inside undici 7's fetch.
    const destPath = path.join(dir, "big.gguf");
    for (let i = 0; i < 20; i++) await downloadModel(`${server.baseUrl}/big-then-close.gguf`, destPath);
    expect(readFileSync(destPath).length).toBe(4 * 1024 * 1024);
  });

  it("follows redirects, keeping HF_TOKEN on the same origin only", async () => {
    setEnv({ HF_TOKEN: "hf_secret" });
    await downloadModel(`${server.baseUrl}/redirect/same-origin.bin`, path.join(dir, "same.bin"));
    await downloadModel(`${server.baseUrl}/redirect/cdn.bin`, path.join(dir, "cdn.bin"));

    expect(readFileSync(path.join(dir, "cdn.bin")).equals(random)).toBe(true);
    expect(server.requests.map((r) => [r.path, r.headers.authorization])).toEqual([
      ["/redirect/same-origin.bin", "Bearer hf_secret"],
      ["/random.bin", "Bearer hf_secret"],
      ["/redirect/cdn.bin", "Bearer hf_secret"],
    ]);
    expect(otherOrigin.requests.map((r) => [r.path, r.headers.authorization])).toEqual([["/cdn/random.bin", undefined]]);
  });

  it("fails on a 404 naming the URL and status, leaving no file", async () => {
    const url = `${server.baseUrl}/nobody/nothing/resolve/main/missing.gguf`;
    const failure = downloadModel(url, path.join(dir, "missing.gguf"));
    await expect(failure).rejects.toThrow(`Download of ${url} failed: HTTP 404 Not Found`);
    expect(await readdir(dir)).toEqual([]);
  });

  it("fails when the connection closes after half the announced bytes, leaving no file", async () => {
    const url = `${server.baseUrl}/cut.gguf`;
    const error = (await downloadModel(url, path.join(dir, "cut.gguf")).catch((e: unknown) => e)) as Error;
    expect(error.message).toContain(`Download of ${url} failed: the server closed the connection early`);
    const [, received] = /received (\d+) of 300000 bytes/.exec(error.message) ?? [];
    expect(Number(received)).toBeLessThanOrEqual(150_000);
    expect(await readdir(dir)).toEqual([]);
  });

  it("stops when aborted mid-body, leaving no file", async () => {
    const controller = new AbortController();
    const failure = downloadModel(`${server.baseUrl}/stall.gguf`, path.join(dir, "stall.gguf"), {
      signal: controller.signal,
      onProgress: () => controller.abort(),
    });
    await expect(failure).rejects.toThrow(/failed: aborted; received \d+ of 300000 bytes/);
    expect(await readdir(dir)).toEqual([]);
  });

  it("fails when the server goes quiet for the idle timeout, leaving no file", async () => {
    const failure = downloadModel(`${server.baseUrl}/stall.gguf`, path.join(dir, "stall.gguf"), { idleTimeoutMs: 200 });
    await expect(failure).rejects.toThrow(/failed: no data from the server for 0.2 s; received 10000 of 300000 bytes/);
    expect(await readdir(dir)).toEqual([]);
  });

  it("refuses a compressed body rather than saving it as the model", async () => {
    await expect(downloadModel(`${server.baseUrl}/gzipped.gguf`, path.join(dir, "g.gguf"))).rejects.toThrow(/Content-Encoding gzip/);
    expect(await readdir(dir)).toEqual([]);
  });

  it("does not start when already aborted", async () => {
    const failure = downloadModel(`${server.baseUrl}/random.bin`, path.join(dir, "random.bin"), { signal: AbortSignal.abort() });
    await expect(failure).rejects.toThrow(/failed: aborted$/);
    expect(await readdir(dir)).toEqual([]);
  });

  it("reports a folder it cannot create, without any request", async () => {
    writeFileSync(path.join(dir, "a-file"), "");
    const failure = downloadModel(`${server.baseUrl}/random.bin`, path.join(dir, "a-file", "random.bin"));
    await expect(failure).rejects.toThrow(/random\.bin failed: E[A-Z]+/);
    expect(server.requests).toEqual([]);
  });

  it("removes the .part file when the final rename fails", async () => {
    mkdirSync(path.join(dir, "random.bin"));
    await expect(downloadModel(`${server.baseUrl}/random.bin`, path.join(dir, "random.bin"))).rejects.toThrow(/EISDIR|EEXIST|ENOTEMPTY/);
    expect(await readdir(dir)).toEqual(["random.bin"]);
  });

  it("sends HF_TOKEN to the Hugging Face endpoint only, and extra headers everywhere", async () => {
    setEnv({ HF_TOKEN: "hf_secret" });
    await downloadModel(`${server.baseUrl}/random.bin`, path.join(dir, "a.bin"), { headers: { "x-trace": "1" } });
    setEnv({ GENAI_LOCAL_HF_ENDPOINT: "https://hf-mirror.invalid" });
    await downloadModel(`${server.baseUrl}/random.bin`, path.join(dir, "b.bin"));

    const [toHf, toOtherHost] = server.requests.map((r) => r.headers);
    expect(toHf?.authorization).toBe("Bearer hf_secret");
    expect(toHf?.["x-trace"]).toBe("1");
    expect(toOtherHost?.authorization).toBeUndefined();
  });
});
