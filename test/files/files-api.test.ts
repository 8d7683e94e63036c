import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { createHash } from "node:crypto";
import { ApiError as SdkApiError, createPartFromBase64, createPartFromUri, createUserContent, GoogleGenAI, type File as GenaiFile, type GenerateContentResponseUsageMetadata } from "@google/genai";
import { GoogleGenAI as GoogleGenAIv2 } from "google-genai-v2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../../src/cli/serve.js";
import { makePdf, makePng, makeWav } from "../support/media-files.js";
import { startRecordingUpstream, type RecordingUpstream } from "../support/recording-upstream.js";
import { startTestServer } from "../support/server.js";

let upstream: RecordingUpstream;
let server: RunningServer;
let work: string;
const KEY = "files-key";
const png = makePng();
const wav = makeWav();
const pdf = makePdf();

beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), "genai-local-files-test-"));
  await writeFile(path.join(work, "red.png"), png);
  await writeFile(path.join(work, "tone.wav"), wav);
  await writeFile(path.join(work, "page.pdf"), pdf);
  upstream = await startRecordingUpstream();
  server = await startTestServer({
    apiKeys: [KEY],
    models: ["stories-260k=stories260K.gguf"],
    upstreams: [`vision=openai:${upstream.url},model=vision-model,input=image+audio+pdf`, `blind=openai:${upstream.url},model=blind-model`],
    files: { dataDir: path.join(work, "data") },
  });
});
afterAll(async () => {
  await server?.close();
  await upstream?.close();
  await rm(work, { recursive: true, force: true });
});

const sdk = (apiVersion?: string) => new GoogleGenAI({ apiKey: KEY, httpOptions: { baseUrl: server.url, ...(apiVersion ? { apiVersion } : {}) } });
// Google's sha256Hash is the base64 of the hex digest: a real upload's "MTgzNjUw…ZQ==" decodes to 64 hex digits (googleapis/js-genai#381).
const sha256 = (bytes: Buffer) => Buffer.from(createHash("sha256").update(bytes).digest("hex")).toString("base64");

async function sdkError(promise: Promise<unknown>): Promise<SdkApiError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(SdkApiError);
  return error as SdkApiError;
}

describe("the Files API through @google/genai", () => {
  const uploaded: Record<string, GenaiFile> = {};

  it("uploads a PNG, a WAV and a PDF by path; the File resources say what Google's do", async () => {
    const before = Date.now();
    uploaded.png = await sdk().files.upload({ file: path.join(work, "red.png"), config: { displayName: "red square" } });
    uploaded.wav = await sdk().files.upload({ file: path.join(work, "tone.wav") });
    uploaded.pdf = await sdk().files.upload({ file: path.join(work, "page.pdf") });
    for (const [kind, bytes, mime] of [["png", png, "image/png"], ["wav", wav, "audio/wav"], ["pdf", pdf, "application/pdf"]] as const) {
      const file = uploaded[kind]!;
      // Google sets downloadUri on generated files only; an uploaded one has none.
      expect(file.downloadUri).toBeUndefined();
      expect(file.name).toMatch(/^files\/[a-z0-9]{12}$/);
      expect(file.mimeType).toBe(mime);
      expect(file.sizeBytes).toBe(String(bytes.length));
      expect(file.sha256Hash).toBe(sha256(bytes));
      expect(file.state).toBe("ACTIVE");
      expect(file.source).toBe("UPLOADED");
      expect(file.uri).toBe(`${server.url}/v1/${file.name}`); // @google/genai 3 speaks v1 by default
      const created = Date.parse(file.createTime!);
      expect(created).toBeGreaterThanOrEqual(before - 1000);
      expect(Date.parse(file.expirationTime!) - created).toBe(48 * 3600_000);
      expect(file.updateTime).toBe(file.createTime);
    }
    expect(uploaded.png.displayName).toBe("red square");
  });

  it("gets, lists page by page, downloads the same bytes and deletes", async () => {
    const got = await sdk().files.get({ name: uploaded.png!.name! });
    expect(got).toEqual(uploaded.png);
    const names: string[] = [];
    const pager = await sdk().files.list({ config: { pageSize: 2 } });
    expect(pager.page.length).toBe(2);
    for await (const file of pager) names.push(file.name!);
    expect(names.sort()).toEqual([uploaded.png!.name, uploaded.wav!.name, uploaded.pdf!.name].sort());

    const target = path.join(work, "downloaded.wav");
    await sdk().files.download({ file: uploaded.wav!.name!, downloadPath: target });
    expect((await readFile(target)).equals(wav)).toBe(true);

    const extra = await sdk().files.upload({ file: new Blob([Buffer.from("scratch")], { type: "text/plain" }) });
    await sdk().files.delete({ name: extra.name! });
    // Google answers a file that is not there (deleted, expired, never uploaded) with 403, not 404.
    const gone = await sdkError(sdk().files.get({ name: extra.name! }));
    expect(gone.status).toBe(403);
    expect(gone.message).toContain(`You do not have permission to access the File ${extra.name!.slice(6)} or it may not exist.`);
    expect((await sdkError(sdk().files.delete({ name: extra.name! }))).status).toBe(403);
    expect((await sdkError(sdk().files.get({ name: "files/does-not-exist" }))).status).toBe(403);
  });

  it("serves the same files under v1beta and v1alpha (older SDKs and Python upload to /upload/v1beta)", async () => {
    const viaBeta = await sdk("v1beta").files.upload({ file: path.join(work, "red.png") });
    expect(viaBeta.uri).toBe(`${server.url}/v1beta/${viaBeta.name}`);
    expect((await sdk("v1alpha").files.get({ name: viaBeta.name! })).sha256Hash).toBe(sha256(png));
    expect((await sdk("v1alpha").models.get({ model: "vision" })).name).toBe("models/vision");
    const answer = await sdk("v1alpha").models.generateContent({ model: "vision", contents: createUserContent(["Look:", createPartFromUri(viaBeta.uri!, "image/png")]) });
    expect(answer.text).toBe("seen");
    await sdk("v1").files.delete({ name: viaBeta.name! });
  });

  it("works with @google/genai 2.x too, which speaks v1beta", async () => {
    const older = new GoogleGenAIv2({ apiKey: KEY, httpOptions: { baseUrl: server.url } });
    const file = await older.files.upload({ file: path.join(work, "tone.wav") });
    expect(file.uri).toBe(`${server.url}/v1beta/${file.name}`);
    expect((await older.files.get({ name: file.name! })).sha256Hash).toBe(sha256(wav));
    upstream.requests.length = 0;
    await older.models.generateContent({ model: "vision", contents: [{ role: "user", parts: [{ fileData: { fileUri: file.uri!, mimeType: file.mimeType! } }] }] });
    expect(upstream.requests[0]!.messages.at(-1)!.content).toEqual([{ type: "input_audio", input_audio: { data: wav.toString("base64"), format: "wav" } }]);
    await older.files.delete({ name: file.name! });
  });

  it("refuses every files route without the key", async () => {
    for (const url of ["/v1beta/files", `/v1beta/${uploaded.png!.name}`, `/v1/${uploaded.png!.name}:download?alt=media`]) {
      expect((await fetch(`${server.url}${url}`)).status).toBe(403);
    }
    const start = await fetch(`${server.url}/upload/v1beta/files`, {
      method: "POST",
      headers: { "x-goog-upload-protocol": "resumable", "x-goog-upload-command": "start", "x-goog-upload-header-content-length": "3", "x-goog-upload-header-content-type": "text/plain" },
    });
    expect(start.status).toBe(403);
    const wrong = await fetch(`${server.url}/v1beta/files?key=nope`);
    expect(wrong.status).toBe(400);
  });

  it("sends uploaded files and inline parts upstream as OpenAI content parts, bytes and order intact", async () => {
    upstream.requests.length = 0;
    const stream = await sdk().models.generateContentStream({
      model: "vision",
      contents: createUserContent([
        "Describe these:",
        createPartFromUri(uploaded.png!.uri!, uploaded.png!.mimeType!),
        createPartFromUri(uploaded.wav!.uri!, uploaded.wav!.mimeType!),
        createPartFromBase64(png.toString("base64"), "image/png"),
        createPartFromUri(uploaded.pdf!.uri!, uploaded.pdf!.mimeType!),
        createPartFromBase64(Buffer.from("notes in a text file").toString("base64"), "text/plain"),
        "Thanks.",
      ]),
    });
    let text = "";
    for await (const chunk of stream) text += chunk.text ?? "";
    expect(text).toBe("seen");
    const content = upstream.requests[0]!.messages.at(-1)!.content as { type: string; [key: string]: unknown }[];
    expect(content.map((part) => part.type)).toEqual(["text", "image_url", "input_audio", "image_url", "file", "text", "text"]);
    expect(content[0]).toEqual({ type: "text", text: "Describe these:" });
    expect(content[1]).toEqual({ type: "image_url", image_url: { url: `data:image/png;base64,${png.toString("base64")}` } });
    expect(content[2]).toEqual({ type: "input_audio", input_audio: { data: wav.toString("base64"), format: "wav" } });
    expect(content[3]).toEqual(content[1]);
    const file = content[4] as { file: { file_data: string } };
    expect(file.file.file_data).toBe(`data:application/pdf;base64,${pdf.toString("base64")}`);
    expect(content[5]).toEqual({ type: "text", text: "notes in a text file" });
    expect(content[6]).toEqual({ type: "text", text: "Thanks." });
  });

  it("splits the engine's prompt count per modality: every chunk of a stream and the whole response", async () => {
    const details = (usage: GenerateContentResponseUsageMetadata | undefined) => usage?.promptTokensDetails?.map(({ modality, tokenCount }) => ({ modality, tokenCount }));
    try {
      // The upstream counts 300 prompt tokens, images included: the image gets its 258, TEXT the rest.
      upstream.promptTokens = 300;
      const stream = await sdk().models.generateContentStream({
        model: "vision",
        contents: createUserContent(["What is in this picture?", createPartFromBase64(png.toString("base64"), "image/png")]),
      });
      const chunks = [];
      for await (const chunk of stream) chunks.push(chunk);
      expect(chunks.length).toBeGreaterThan(1);
      for (const chunk of chunks) {
        expect(chunk.usageMetadata?.promptTokenCount).toBe(300);
        expect(details(chunk.usageMetadata)).toEqual([
          { modality: "TEXT", tokenCount: 42 },
          { modality: "IMAGE", tokenCount: 258 },
        ]);
      }

      const whole = await sdk().models.generateContent({
        model: "vision",
        contents: createUserContent(["Describe both:", createPartFromUri(uploaded.png!.uri!, "image/png"), createPartFromUri(uploaded.wav!.uri!, "audio/wav")]),
      });
      expect(whole.usageMetadata?.promptTokenCount).toBe(300);
      // 32 tokens a second of audio: the WAV is 0.25 s.
      expect(details(whole.usageMetadata)).toEqual([
        { modality: "TEXT", tokenCount: 34 },
        { modality: "IMAGE", tokenCount: 258 },
        { modality: "AUDIO", tokenCount: 8 },
      ]);

      // An engine that counts media below the rates (2 images and a PDF page are 774 at the rates):
      // the media shares its 100 in proportion and the details still add up to promptTokenCount.
      upstream.promptTokens = 100;
      const small = await sdk().models.generateContent({
        model: "vision",
        contents: createUserContent(["Compare:", createPartFromUri(uploaded.png!.uri!, "image/png"), createPartFromUri(uploaded.pdf!.uri!, "application/pdf"), createPartFromBase64(png.toString("base64"), "image/png")]),
      });
      expect(small.usageMetadata?.promptTokenCount).toBe(100);
      expect(details(small.usageMetadata)).toEqual([
        { modality: "TEXT", tokenCount: 1 },
        { modality: "IMAGE", tokenCount: 66 },
        { modality: "DOCUMENT", tokenCount: 33 },
      ]);

      // Text alone: TEXT alone, as before.
      const plain = await sdk().models.generateContent({ model: "vision", contents: "Hello" });
      expect(details(plain.usageMetadata)).toEqual([{ modality: "TEXT", tokenCount: 100 }]);
    } finally {
      upstream.promptTokens = 300;
    }
  });

  it("a model that takes no images answers an image part with 400 naming the part, the MIME type and the model", async () => {
    upstream.requests.length = 0;
    for (const model of ["stories-260k", "blind"]) {
      const error = await sdkError(
        sdk().models.generateContent({ model, contents: createUserContent(["What is this?", createPartFromUri(uploaded.png!.uri!, "image/png")]) }),
      );
      expect(error.status).toBe(400);
      expect(error.message).toContain("contents[0].parts[1].fileData");
      expect(error.message).toContain("image/png");
      expect(error.message).toContain(`model ${model}`);
    }
    const audio = await sdkError(sdk().models.generateContent({ model: "blind", contents: createUserContent([createPartFromBase64(wav.toString("base64"), "audio/wav")]) }));
    expect(audio.message).toContain("contents[0].parts[0].inlineData");
    expect(upstream.requests).toHaveLength(0); // refused before anything went upstream
  });

  it("refuses URIs that are not ours without fetching them, and names unknown files", async () => {
    for (const uri of ["gs://bucket/cat.png", "https://generativelanguage.googleapis.com/v1beta/files/abc123", "http://127.0.0.1:9/v1beta/files/abc"]) {
      const error = await sdkError(sdk().models.generateContent({ model: "vision", contents: createUserContent([createPartFromUri(uri, "image/png")]) }));
      expect(error.status).toBe(400);
      expect(error.message).toContain("is not a file of this server");
    }
    const missing = await sdkError(
      sdk().models.generateContent({ model: "vision", contents: createUserContent([createPartFromUri(`${server.url}/v1beta/files/nosuchfile`, "image/png")]) }),
    );
    expect(missing.status).toBe(403);
    expect(missing.message).toContain("You do not have permission to access the File nosuchfile or it may not exist.");
    const video = await sdkError(sdk().models.generateContent({ model: "vision", contents: createUserContent([createPartFromBase64("AAAA", "video/mp4")]) }));
    expect(video.message).toMatch(/MIME type .*video\/mp4.* is not supported/);
  });

  it("shows each model's input kinds on models.get and counts media tokens per modality", async () => {
    const raw = async (model: string) => (await fetch(`${server.url}/v1beta/models/${model}`, { headers: { "x-goog-api-key": KEY } })).json();
    expect((await raw("vision")).inputModalities).toEqual(["TEXT", "IMAGE", "AUDIO", "DOCUMENT"]);
    expect((await raw("stories-260k")).inputModalities).toEqual(["TEXT"]);
    // Raw: the SDK keeps totalTokens of a countTokens answer and drops promptTokensDetails.
    const contents = [createUserContent(["Once upon a time", createPartFromUri(uploaded.png!.uri!, "image/png"), createPartFromUri(uploaded.wav!.uri!, "audio/wav"), createPartFromUri(uploaded.pdf!.uri!, "application/pdf")])];
    const response = await fetch(`${server.url}/v1beta/models/stories-260k:countTokens`, { method: "POST", headers: { "x-goog-api-key": KEY }, body: JSON.stringify({ contents }) });
    const counted = (await response.json()) as { totalTokens: number; promptTokensDetails: unknown };
    const text = (await sdk().models.countTokens({ model: "stories-260k", contents: "Once upon a time" })).totalTokens!;
    // 258 an image, 32 a second of audio (the WAV is 0.25 s), 258 a PDF page.
    expect(counted.totalTokens).toBe(text + 258 + 8 + 258);
    expect(counted.promptTokensDetails).toEqual([
      { modality: "TEXT", tokenCount: text },
      { modality: "IMAGE", tokenCount: 258 },
      { modality: "AUDIO", tokenCount: 8 },
      { modality: "DOCUMENT", tokenCount: 258 },
    ]);
  });
});
