import { createHash, randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { downloadFile } from "../../src/models/download.js";
import { parseRemoteSource } from "../../src/models/hf-uri.js";
import { ensureModelFile, ModelNotAvailableError } from "../../src/models/model-cache.js";
import { modelsDir } from "../support/server.js";

const gguf = readFileSync(path.join(modelsDir(), "stories260K.gguf"));
const sha256 = (data: Buffer) => createHash("sha256").update(data).digest("hex");
const requests: string[] = [];
let server: http.Server;
let base: string;
let dir: string;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    requests.push(req.url ?? "");
    if (req.url === "/ggml-org/tiny-llamas/resolve/main/stories260K.gguf") {
      res.writeHead(200, { "Content-Length": gguf.length });
      // in slices, so progress is reported more than once
      let at = 0;
      const pump = () => {
        if (at >= gguf.length) return res.end();
        res.write(gguf.subarray(at, (at += 64 * 1024)));
        setImmediate(pump);
      };
      pump();
    } else if (req.url === "/cut/model.gguf") {
      res.writeHead(200, { "Content-Length": 300_000 });
      res.write(randomBytes(150_000), () => res.socket?.destroy());
    } else if (req.url === "/slow/model.gguf") {
      res.writeHead(200, { "Content-Length": 300_000 });
      res.write(randomBytes(10_000)); // then nothing: the client aborts
    } else {
      res.writeHead(404).end("not found");
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "genai-local-dl-"));
  requests.length = 0;
  process.env.GENAI_LOCAL_HF_ENDPOINT = base;
});
afterEach(async () => {
  delete process.env.GENAI_LOCAL_HF_ENDPOINT;
  server.closeAllConnections();
  await rm(dir, { recursive: true, force: true });
});

describe("hf: URIs", () => {
  it("map to Hugging Face's resolve URL and keep the file name", () => {
    expect(parseRemoteSource("hf:ggml-org/tiny-llamas/sub dir/m.gguf", "https://huggingface.co")).toEqual({
      url: "https://huggingface.co/ggml-org/tiny-llamas/resolve/main/sub%20dir/m.gguf",
      fileName: "m.gguf",
    });
    expect(parseRemoteSource("./models/m.gguf")).toBeUndefined();
    expect(() => parseRemoteSource("hf:only-owner")).toThrow(/hf:owner\/repo/);
    expect(() => parseRemoteSource("hf:o/r/../../etc/passwd")).toThrow();
  });
});

describe("downloads", () => {
  it("downloads the default model's hf: URI into the models dir, byte for byte, with progress", async () => {
    const file = await ensureModelFile("hf:ggml-org/tiny-llamas/stories260K.gguf", { modelsDir: dir });
    expect(requests).toEqual(["/ggml-org/tiny-llamas/resolve/main/stories260K.gguf"]);
    expect(file).toBe(path.join(dir, "stories260K.gguf"));
    expect(sha256(readFileSync(file))).toBe("270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d");

    const progress: number[] = [];
    await downloadFile(`${base}/ggml-org/tiny-llamas/resolve/main/stories260K.gguf`, path.join(dir, "again.gguf"), {
      onProgress: (received, total) => {
        expect(total).toBe(gguf.length);
        progress.push(received);
      },
    });
    expect(progress.length).toBeGreaterThan(1);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
    expect(progress.at(-1)).toBe(gguf.length);
  });

  it("finds a file already in the models dir without any request", async () => {
    const file = await ensureModelFile("hf:ggml-org/tiny-llamas/stories260K.gguf", { modelsDir: modelsDir() });
    expect(file).toBe(path.join(modelsDir(), "stories260K.gguf"));
    expect(requests).toEqual([]);
  });

  it("shares one download between concurrent callers", async () => {
    const [a, b] = await Promise.all([
      ensureModelFile("hf:ggml-org/tiny-llamas/stories260K.gguf", { modelsDir: dir }),
      ensureModelFile("hf:ggml-org/tiny-llamas/stories260K.gguf", { modelsDir: dir }),
    ]);
    expect(a).toBe(b);
    expect(requests).toHaveLength(1);
  });

  it.each([
    ["a 404", "/missing/model.gguf", /HTTP 404/],
    ["a connection cut halfway", "/cut/model.gguf", /of 300000 bytes/],
  ])("leaves no file behind after %s", async (_name, urlPath, message) => {
    const destination = path.join(dir, "model.gguf");
    await expect(downloadFile(`${base}${urlPath}`, destination)).rejects.toThrow(message);
    expect(await readdir(dir)).toEqual([]);
  });

  it("leaves no file behind when aborted mid-download", async () => {
    const controller = new AbortController();
    const destination = path.join(dir, "model.gguf");
    const download = downloadFile(`${base}/slow/model.gguf`, destination, {
      signal: controller.signal,
      onProgress: () => controller.abort(),
    });
    await expect(download).rejects.toThrow(/failed/);
    expect(existsSync(destination)).toBe(false);
    expect(await readdir(dir)).toEqual([]);
  });

  it("offline with the file missing: names the models dir and the file to put there", async () => {
    const error = await ensureModelFile("hf:ggml-org/tiny-llamas/stories260K.gguf", { modelsDir: dir, offline: true }).catch((e) => e);
    expect(error).toBeInstanceOf(ModelNotAvailableError);
    expect(error.message).toContain(dir);
    expect(error.message).toContain('"stories260K.gguf"');
    expect(requests).toEqual([]);
  });

  it("a failed download explains itself the same way", async () => {
    const error = await ensureModelFile("hf:nobody/nothing/model.gguf", { modelsDir: dir }).catch((e) => e);
    expect(error).toBeInstanceOf(ModelNotAvailableError);
    expect(error.message).toContain("HTTP 404");
    expect(error.message).toContain("genai-local pull hf:nobody/nothing/model.gguf");
    expect(await readdir(dir)).toEqual([]);
  });
});
