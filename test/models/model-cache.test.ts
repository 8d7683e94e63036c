import { readFileSync, writeFileSync } from "node:fs";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { defaultModelsDir, ensureModelFile, ModelNotAvailableError } from "../../src/models/model-cache.js";
import {
  readStoriesGguf,
  serveInSlices,
  restoreEnv,
  setEnv,
  sha256,
  startFixtureServer,
  STORIES_GGUF_SHA256,
  STORIES_HF_PATH,
  STORIES_HF_URI,
  type FixtureServer,
} from "./fixture-server.js";

const gguf = readStoriesGguf();
let server: FixtureServer;
let modelsDir: string;

beforeAll(async () => {
  server = await startFixtureServer();
  // Slow enough that concurrent callers overlap and can abort mid-body.
  server.routes.set(STORIES_HF_PATH, serveInSlices(gguf, { sliceBytes: 32 * 1024, delayMs: 2 }));
});
afterAll(() => server.close());

beforeEach(async () => {
  modelsDir = await mkdtemp(path.join(os.tmpdir(), "genai-local-models-"));
  server.requests.length = 0;
  setEnv({ GENAI_LOCAL_HF_ENDPOINT: server.baseUrl, GENAI_LOCAL_OFFLINE: undefined, HF_TOKEN: undefined });
});
afterEach(async () => {
  restoreEnv();
  vi.restoreAllMocks();
  await rm(modelsDir, { recursive: true, force: true });
});

const requestCount = (): number => server.requests.length;

describe("ensureModelFile", () => {
  it("downloads an hf: model into the models dir once, with progress lines on stderr", async () => {
    const stderr = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    const file = await ensureModelFile(STORIES_HF_URI, { modelsDir, progress: true });

    expect(file).toBe(path.join(modelsDir, "stories260K.gguf"));
    expect(sha256(readFileSync(file))).toBe(STORIES_GGUF_SHA256);
    expect(server.requests.map((r) => r.path)).toEqual([STORIES_HF_PATH]);
    expect(await readdir(modelsDir)).toEqual(["stories260K.gguf"]);
    if (!process.stderr.isTTY) {
      expect(stderr.mock.calls.map(([text]) => text)).toEqual(["Downloading stories260K.gguf...\n", "Downloaded stories260K.gguf (1.2 MB)\n"]);
    }

    expect(await ensureModelFile(STORIES_HF_URI, { modelsDir })).toBe(file);
    expect(requestCount()).toBe(1);
  });

  it("finds a model already in the models dir without any request", async () => {
    writeFileSync(path.join(modelsDir, "stories260K.gguf"), gguf);
    expect(await ensureModelFile(STORIES_HF_URI, { modelsDir })).toBe(path.join(modelsDir, "stories260K.gguf"));
    expect(await ensureModelFile(`${server.baseUrl}/any/stories260K.gguf`, { modelsDir })).toBe(path.join(modelsDir, "stories260K.gguf"));
    expect(requestCount()).toBe(0);
  });

  it("returns local paths resolved: absolute, relative, or a bare name in the models dir", async () => {
    const file = path.join(modelsDir, "local.gguf");
    writeFileSync(file, "GGUF");
    expect(await ensureModelFile(file, { modelsDir: os.tmpdir() })).toBe(file);
    expect(await ensureModelFile(path.relative(process.cwd(), file), { modelsDir: os.tmpdir() })).toBe(file);
    expect(await ensureModelFile("local.gguf", { modelsDir })).toBe(file);
    await expect(ensureModelFile("./nowhere/missing.gguf", { modelsDir })).rejects.toThrow(ModelNotAvailableError);
    expect(requestCount()).toBe(0);
  });

  it.each([
    ["the offline option", { offline: true }, {}],
    ["GENAI_LOCAL_OFFLINE=1", {}, { GENAI_LOCAL_OFFLINE: "1" }],
  ])("offline via %s: names the models dir and the file to put there", async (_how, options, env) => {
    setEnv(env);
    const error = await ensureModelFile(STORIES_HF_URI, { modelsDir, ...options }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModelNotAvailableError);
    expect((error as Error).message).toBe(
      `Model file "stories260K.gguf" is not in ${modelsDir} and downloading is off. ` +
        `Put the file there (or set GENAI_LOCAL_MODELS_DIR) or run: genai-local pull ${STORIES_HF_URI}`,
    );
    expect(requestCount()).toBe(0);
  });

  it("explains a failed download in one line, with the same guidance and the reason", async () => {
    const error = await ensureModelFile("hf:nobody/nothing/model.gguf", { modelsDir }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModelNotAvailableError);
    const { message } = error as Error;
    expect(message).toMatch(/^Model file "model\.gguf" is not in .+ and could not be downloaded: Download of .+ failed: HTTP 404 Not Found\./);
    expect(message).toContain("genai-local pull hf:nobody/nothing/model.gguf");
    expect(message).not.toContain("\n");
    expect(await readdir(modelsDir)).toEqual([]);
  });

  it("explains an unreachable endpoint (no network)", async () => {
    const closed = await startFixtureServer();
    await closed.close();
    setEnv({ GENAI_LOCAL_HF_ENDPOINT: closed.baseUrl });
    await expect(ensureModelFile(STORIES_HF_URI, { modelsDir })).rejects.toThrow(/could not be downloaded: .*ECONNREFUSED.*genai-local pull/);
  });

  it("shares one download between concurrent callers", async () => {
    const paths = await Promise.all([1, 2, 3].map(() => ensureModelFile(STORIES_HF_URI, { modelsDir })));
    expect(new Set(paths)).toEqual(new Set([path.join(modelsDir, "stories260K.gguf")]));
    expect(requestCount()).toBe(1);
    expect(sha256(readFileSync(paths[0] as string))).toBe(STORIES_GGUF_SHA256);
  });

  it("keeps a shared download going when one of its callers aborts", async () => {
    const controller = new AbortController();
    const leaving = ensureModelFile(STORIES_HF_URI, { modelsDir, signal: controller.signal });
    const staying = ensureModelFile(STORIES_HF_URI, { modelsDir });
    await vi.waitFor(() => expect(requestCount()).toBe(1));
    controller.abort();
    await expect(leaving).rejects.toBe(controller.signal.reason);
    expect(sha256(readFileSync(await staying))).toBe(STORIES_GGUF_SHA256);
    expect(requestCount()).toBe(1);
  });

  it("stops the download when its only caller aborts, leaving no file", async () => {
    const controller = new AbortController();
    const download = ensureModelFile(STORIES_HF_URI, { modelsDir, signal: controller.signal });
    await vi.waitFor(() => expect(requestCount()).toBe(1));
    controller.abort();
    await expect(download).rejects.toBe(controller.signal.reason);
    expect(await readdir(modelsDir)).toEqual([]);

    expect(await ensureModelFile(STORIES_HF_URI, { modelsDir })).toBe(path.join(modelsDir, "stories260K.gguf"));
    expect(requestCount()).toBe(2);
  });
});

describe("defaultModelsDir", () => {
  it("prefers GENAI_LOCAL_MODELS_DIR, then XDG_CACHE_HOME, then ~/.cache", () => {
    setEnv({ GENAI_LOCAL_MODELS_DIR: "rel/models", XDG_CACHE_HOME: "/xdg" });
    expect(defaultModelsDir()).toBe(path.resolve("rel/models"));
    delete process.env.GENAI_LOCAL_MODELS_DIR;
    expect(defaultModelsDir()).toBe("/xdg/genai-local/models");
    delete process.env.XDG_CACHE_HOME;
    expect(defaultModelsDir()).toBe(path.join(os.homedir(), ".cache", "genai-local", "models"));
  });
});
