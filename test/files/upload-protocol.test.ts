import http from "node:http";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { GoogleGenAI } from "@google/genai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../../src/cli/serve.js";
import { startTestServer, waitFor } from "../support/server.js";

// Google's resumable protocol spoken by hand, for the cases the SDKs only meet when things go wrong.
let work: string;
let server: RunningServer;
const KEY = "k";
const MAX_FILE = 4096;
const MAX_TOTAL = 10_000;

beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), "genai-local-upload-test-"));
  server = await startTestServer({ apiKeys: [KEY], upstreams: ["x=openai:http://127.0.0.1:9/v1"], files: { dataDir: path.join(work, "data"), maxFileBytes: MAX_FILE, maxTotalBytes: MAX_TOTAL } });
});
afterAll(async () => {
  await server?.close();
  await rm(work, { recursive: true, force: true });
});

const bytes = (n: number, seed = 1) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + seed) % 256));

async function start(base: string, size: number, type = "application/octet-stream", body = "{}"): Promise<Response> {
  return fetch(`${base}/upload/v1beta/files`, {
    method: "POST",
    headers: {
      "x-goog-api-key": KEY,
      "content-type": "application/json",
      "x-goog-upload-protocol": "resumable",
      "x-goog-upload-command": "start",
      "x-goog-upload-header-content-length": String(size),
      "x-goog-upload-header-content-type": type,
    },
    body,
  });
}

async function uploadUrl(base: string, size: number): Promise<string> {
  const response = await start(base, size);
  expect(response.status).toBe(200);
  expect(response.headers.get("x-goog-upload-status")).toBe("active");
  return response.headers.get("x-goog-upload-url")!;
}

// Chunks carry no API key, as google-genai sends them: the upload id in the URL is the credential.
const chunk = (url: string, command: string, offset: number | undefined, body?: Buffer) =>
  fetch(url, { method: "POST", headers: { "x-goog-upload-command": command, ...(offset === undefined ? {} : { "x-goog-upload-offset": String(offset) }) }, body });

const query = (url: string) => chunk(url, "query", undefined);
const received = async (url: string) => Number((await query(url)).headers.get("x-goog-upload-size-received"));

/** Sends the head and `sent` of the `declared` body bytes, then leaves the connection open (or drops it). */
function partialChunk(url: string, offset: number, declared: number, sent: Buffer): http.ClientRequest {
  const request = http.request(url, { method: "POST", headers: { "x-goog-upload-command": "upload, finalize", "x-goog-upload-offset": String(offset), "content-length": String(declared) } });
  request.on("error", () => undefined);
  request.write(sent);
  return request;
}

describe("resumable uploads, by hand", () => {
  it("answers an absolute upload URL, takes chunks in order and finalizes into a File", async () => {
    const data = bytes(3000);
    const url = await uploadUrl(server.url, data.length);
    expect(url).toMatch(new RegExp(`^${server.url}/upload/v1beta/files\\?upload_id=[\\w-]+&upload_protocol=resumable$`));
    const first = await chunk(url, "upload", 0, data.subarray(0, 1000));
    expect(first.status).toBe(200);
    expect(first.headers.get("x-goog-upload-status")).toBe("active");
    expect(first.headers.get("x-goog-upload-size-received")).toBe("1000");
    const last = await chunk(url, "upload, finalize", 1000, data.subarray(1000));
    expect(last.headers.get("x-goog-upload-status")).toBe("final");
    const { file } = (await last.json()) as { file: { name: string; sizeBytes: string } };
    expect(file.sizeBytes).toBe("3000");
    const download = await fetch(`${server.url}/v1beta/${file.name}:download?alt=media`, { headers: { "x-goog-api-key": KEY } });
    expect(Buffer.from(await download.arrayBuffer()).equals(data)).toBe(true);
    // Asked again after it finished, the upload says final and gives the File again.
    const again = await query(url);
    expect(again.headers.get("x-goog-upload-status")).toBe("final");
    await fetch(`${server.url}/v1beta/${file.name}`, { method: "DELETE", headers: { "x-goog-api-key": KEY } });
  });

  it("resumes after a dropped connection: query the offset, send the rest from there", async () => {
    const data = bytes(4000, 7);
    const url = await uploadUrl(server.url, data.length);
    const dropped = partialChunk(url, 0, data.length, data.subarray(0, 1500));
    await waitFor(async () => (await received(url)) === 1500);
    dropped.destroy();
    await new Promise((resolve) => setTimeout(resolve, 100));
    const offset = await received(url);
    expect(offset).toBe(1500);
    expect((await query(url)).headers.get("x-goog-upload-status")).toBe("active");
    const rest = await chunk(url, "upload, finalize", offset, data.subarray(offset));
    expect(rest.headers.get("x-goog-upload-status")).toBe("final");
    const { file } = (await rest.json()) as { file: { name: string; sha256Hash: string } };
    const download = await fetch(`${server.url}/v1beta/${file.name}:download?alt=media`, { headers: { "x-goog-api-key": KEY } });
    expect(Buffer.from(await download.arrayBuffer()).equals(data)).toBe(true);
    await fetch(`${server.url}/v1beta/${file.name}`, { method: "DELETE", headers: { "x-goog-api-key": KEY } });
  });

  it("refuses a wrong offset (saying where to go on), a size that does not match, an unknown upload id, and a chunk while another is arriving", async () => {
    const url = await uploadUrl(server.url, 100);
    const wrong = await chunk(url, "upload", 10, bytes(10));
    expect(wrong.status).toBe(400);
    expect(wrong.headers.get("x-goog-upload-size-received")).toBe("0");
    expect(((await wrong.json()) as { error: { message: string } }).error.message).toContain("X-Goog-Upload-Offset 10");

    const short = await chunk(url, "upload, finalize", 0, bytes(60));
    expect(short.status).toBe(400);
    expect(((await short.json()) as { error: { status: string; message: string } }).error.message).toContain("finalized with 60 bytes; 100 were declared");
    expect(await received(url)).toBe(60);
    const long = await chunk(url, "upload", 60, bytes(41));
    expect(long.status).toBe(400);
    expect(((await long.json()) as { error: { message: string } }).error.message).toContain("larger than the 100 bytes declared");
    expect(await received(url)).toBe(60);

    const held = partialChunk(url, 60, 40, bytes(10));
    await waitFor(async () => (await received(url)) === 70);
    const meanwhile = await chunk(url, "upload", 70, bytes(30));
    expect(meanwhile.status).toBe(400);
    expect(((await meanwhile.json()) as { error: { status: string } }).error.status).toBe("FAILED_PRECONDITION");
    held.end(bytes(30));
    await waitFor(async () => (await query(url)).headers.get("x-goog-upload-status") === "final");

    const unknown = await chunk(`${server.url}/upload/v1beta/files?upload_id=nosuchupload&upload_protocol=resumable`, "upload", 0, bytes(1));
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { error: { status: string } }).error.status).toBe("NOT_FOUND");

    const cancelled = await uploadUrl(server.url, 10);
    expect((await chunk(cancelled, "cancel", undefined)).headers.get("x-goog-upload-status")).toBe("cancelled");
    expect((await chunk(cancelled, "upload", 0, bytes(10))).status).toBe(404);
  });

  it("enforces the per-file and total quotas, uploads in progress counted at their declared size", async () => {
    const big = await start(server.url, MAX_FILE + 1);
    expect(big.status).toBe(400);
    expect(((await big.json()) as { error: { message: string } }).error.message).toContain(`at most ${MAX_FILE} bytes`);
    const listed = (await (await fetch(`${server.url}/v1beta/files?pageSize=100`, { headers: { "x-goog-api-key": KEY } })).json()) as { files?: { sizeBytes: string }[] };
    const used = (listed.files ?? []).reduce((sum, f) => sum + Number(f.sizeBytes), 0);
    const room = MAX_TOTAL - used;
    const urls = [];
    let left = room;
    while (left >= MAX_FILE) {
      urls.push(await uploadUrl(server.url, MAX_FILE));
      left -= MAX_FILE;
    }
    const over = await start(server.url, left + 1);
    expect(over.status).toBe(429);
    expect(((await over.json()) as { error: { status: string; message: string } }).error.message).toContain("quota exceeded");
    for (const url of urls) await chunk(url, "cancel", undefined);
    expect((await start(server.url, left + 1)).status).toBe(200);
  });

  it("runs concurrent uploads through the SDK, each file its own bytes", async () => {
    const ai = new GoogleGenAI({ apiKey: KEY, httpOptions: { baseUrl: server.url } });
    const datas = [1, 2, 3, 4, 5].map((seed) => bytes(500 + seed * 10, seed));
    const files = await Promise.all(datas.map((data) => ai.files.upload({ file: new Blob([data], { type: "application/octet-stream" }) })));
    expect(new Set(files.map((f) => f.name)).size).toBe(5);
    for (const [i, file] of files.entries()) {
      const download = await fetch(`${server.url}/v1/${file.name}:download?alt=media`, { headers: { "x-goog-api-key": KEY } });
      expect(Buffer.from(await download.arrayBuffer()).equals(datas[i]!)).toBe(true);
      await ai.files.delete({ name: file.name! });
    }
  });

  it("takes Google's multipart form and a chosen name, and refuses a taken or malformed name", async () => {
    const data = bytes(200, 9);
    const boundary = "b0undary";
    const body = Buffer.concat([
      Buffer.from(`--${boundary}\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n${JSON.stringify({ file: { name: "files/my-notes", displayName: "notes" } })}\r\n`),
      Buffer.from(`--${boundary}\r\nContent-Type: text/plain\r\n\r\n`),
      data,
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    const send = () =>
      fetch(`${server.url}/upload/v1beta/files?uploadType=multipart`, {
        method: "POST",
        headers: { "x-goog-api-key": KEY, "x-goog-upload-protocol": "multipart", "content-type": `multipart/related; boundary=${boundary}` },
        body,
      });
    const response = await send();
    expect(response.status).toBe(200);
    const { file } = (await response.json()) as { file: { name: string; displayName: string; mimeType: string; sizeBytes: string } };
    expect(file).toMatchObject({ name: "files/my-notes", displayName: "notes", mimeType: "text/plain", sizeBytes: "200" });
    const download = await fetch(`${server.url}/v1beta/files/my-notes:download?alt=media`, { headers: { "x-goog-api-key": KEY } });
    expect(Buffer.from(await download.arrayBuffer()).equals(data)).toBe(true);
    expect((await send()).status).toBe(409);
    expect((await start(server.url, 3, "text/plain", JSON.stringify({ file: { name: "files/Bad_Name" } }))).status).toBe(400);
    await fetch(`${server.url}/v1beta/files/my-notes`, { method: "DELETE", headers: { "x-goog-api-key": KEY } });
  });
});

describe("files on disk", () => {
  it("survive a restart; what a crash left half-written is neither served nor kept", async () => {
    const dataDir = path.join(work, "restart");
    const first = await startTestServer({ apiKeys: [KEY], upstreams: ["x=openai:http://127.0.0.1:9/v1"], files: { dataDir } });
    const ai = (url: string) => new GoogleGenAI({ apiKey: KEY, httpOptions: { baseUrl: url } });
    const data = bytes(777, 3);
    const file = await ai(first.url).files.upload({ file: new Blob([data], { type: "image/png" }), config: { displayName: "kept" } });
    const unfinished = await uploadUrl(first.url, 100);
    await chunk(unfinished, "upload", 0, bytes(50));
    await first.close();
    expect((await import("node:fs")).statSync(dataDir).mode & 0o777).toBe(0o700);
    // What a crash can leave: bytes renamed into place without their metadata, a temporary metadata file.
    await writeFile(path.join(dataDir, "files", "orphan.bin"), "half");
    await writeFile(path.join(dataDir, "files", "ghost.json.abc.tmp"), "{");

    const second = await startTestServer({ apiKeys: [KEY], upstreams: ["x=openai:http://127.0.0.1:9/v1"], files: { dataDir } });
    try {
      const again = await ai(second.url).files.get({ name: file.name! });
      expect(again.sha256Hash).toBe(file.sha256Hash);
      expect(again.displayName).toBe("kept");
      expect(again.expirationTime).toBe(file.expirationTime);
      const download = await fetch(`${second.url}/v1/${file.name}:download?alt=media`, { headers: { "x-goog-api-key": KEY } });
      expect(Buffer.from(await download.arrayBuffer()).equals(data)).toBe(true);
      expect((await fetch(`${second.url}/v1/files/orphan`, { headers: { "x-goog-api-key": KEY } })).status).toBe(403); // Google's answer for a file that is not there
      expect((await readdir(path.join(dataDir, "files"))).sort()).toEqual([`${file.name!.slice(6)}.bin`, `${file.name!.slice(6)}.json`].sort());
      // An upload the first server did not finish is gone with it.
      expect((await chunk(unfinished.replace(first.url, second.url), "upload", 50, bytes(50))).status).toBe(404);
    } finally {
      await second.close();
    }
  });

  it("deletes a file from disk when it expires", async () => {
    const dataDir = path.join(work, "expiry");
    const short = await startTestServer({ apiKeys: [KEY], upstreams: ["x=openai:http://127.0.0.1:9/v1"], files: { dataDir, ttlMs: 1500 } });
    try {
      const ai = new GoogleGenAI({ apiKey: KEY, httpOptions: { baseUrl: short.url } });
      const file = await ai.files.upload({ file: new Blob([bytes(100)], { type: "text/plain" }) });
      expect(Date.parse(file.expirationTime!) - Date.parse(file.createTime!)).toBe(1500);
      expect((await ai.files.get({ name: file.name! })).name).toBe(file.name);
      await waitFor(async () => (await readdir(path.join(dataDir, "files"))).length === 0, 10_000);
      const gone = await fetch(`${short.url}/v1/${file.name}`, { headers: { "x-goog-api-key": KEY } });
      expect(gone.status).toBe(403);
      expect(((await gone.json()) as { error: { message: string } }).error.message).toBe(`You do not have permission to access the File ${file.name!.slice(6)} or it may not exist.`);
      const listed = await ai.files.list();
      expect(listed.page).toEqual([]);
    } finally {
      await short.close();
    }
  });
});
