import "../support/env.js";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { GoogleGenAI, Modality, type LiveServerMessage } from "@google/genai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../../src/cli/serve.js";
import { makePng, makeWav } from "../support/media-files.js";
import { startRecordingUpstream, type RecordingUpstream } from "../support/recording-upstream.js";
import { startTestServer } from "../support/server.js";
import { connectSdk, replyText } from "./live-clients.js";

// Media in Live clientContent turns through @google/genai's ai.live.connect: inline and uploaded
// parts reach a recording upstream in order, and turnComplete's usage splits the prompt per modality.
let upstream: RecordingUpstream;
let server: RunningServer;
let work: string;
const png = makePng();
const wav = makeWav();

beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), "genai-local-live-media-"));
  upstream = await startRecordingUpstream();
  server = await startTestServer({
    apiKeys: ["k"],
    upstreams: [`vision=openai:${upstream.url},model=vision-model,input=image+audio`, `blind=openai:${upstream.url},model=blind-model`],
    files: { dataDir: path.join(work, "data") },
  });
});
afterAll(async () => {
  await server?.close();
  await upstream?.close();
  await rm(work, { recursive: true, force: true });
});

const TEXT = { responseModalities: [Modality.TEXT] };
const turnDone = (m: LiveServerMessage) => m.serverContent?.turnComplete === true;

describe("media in Live turns", () => {
  it("inline and uploaded parts reach the engine in order, every turn, and usage splits the prompt per modality", async () => {
    const ai = new GoogleGenAI({ apiKey: "k", httpOptions: { baseUrl: server.url } });
    const file = await ai.files.upload({ file: new Blob([wav], { type: "audio/wav" }) });
    upstream.requests.length = 0;
    const { session, inbox } = await connectSdk(server.url, { model: "vision", config: TEXT });
    try {
      session.sendClientContent({
        turns: [{ role: "user", parts: [{ text: "What do you see and hear?" }, { inlineData: { mimeType: "image/png", data: png.toString("base64") } }, { fileData: { fileUri: file.uri!, mimeType: "audio/wav" } }] }],
        turnComplete: true,
      });
      const first = await inbox.until(turnDone);
      expect(replyText(first)).toBe("seen");
      const content = upstream.requests[0]!.messages.at(-1)!.content;
      expect(content).toEqual([
        { type: "text", text: "What do you see and hear?" },
        { type: "image_url", image_url: { url: `data:image/png;base64,${png.toString("base64")}` } },
        { type: "input_audio", input_audio: { data: wav.toString("base64"), format: "wav" } },
      ]);
      // The upstream counted 300 prompt tokens: 258 for the image, 8 for 0.25 s of audio, TEXT the rest.
      const usage = first.at(-1)!.usageMetadata!;
      expect(usage.promptTokenCount).toBe(300);
      expect(usage.promptTokensDetails?.map(({ modality, tokenCount }) => ({ modality, tokenCount }))).toEqual([
        { modality: "TEXT", tokenCount: 34 },
        { modality: "IMAGE", tokenCount: 258 },
        { modality: "AUDIO", tokenCount: 8 },
      ]);

      // The next turn replays the history: the uploaded file is sent again without being named again.
      session.sendClientContent({ turns: [{ role: "user", parts: [{ text: "And now?" }] }], turnComplete: true });
      await inbox.until(turnDone);
      expect(upstream.requests[1]!.messages[0]!.content).toEqual(content);
    } finally {
      session.close();
    }
  }, 60_000);

  it("a model that takes no images closes the session naming the part, its MIME type and the model", async () => {
    upstream.requests.length = 0;
    const { session, inbox } = await connectSdk(server.url, { model: "blind", config: TEXT });
    try {
      session.sendClientContent({ turns: [{ role: "user", parts: [{ text: "Look." }, { inlineData: { mimeType: "image/png", data: png.toString("base64") } }] }], turnComplete: true });
      await expect(inbox.until(turnDone)).rejects.toThrow(/closed \(1007 .*parts\[1\]\.inlineData: model blind cannot take image\/png/);
      expect(upstream.requests).toHaveLength(0);
    } finally {
      session.close();
    }
  });

  it("a fileData naming no file of this server closes the session with Google's 403 wording", async () => {
    const { session, inbox } = await connectSdk(server.url, { model: "vision", config: TEXT });
    try {
      session.sendClientContent({ turns: [{ role: "user", parts: [{ fileData: { fileUri: "files/nosuchfile", mimeType: "image/png" } }] }], turnComplete: true });
      await expect(inbox.until(turnDone)).rejects.toThrow(/closed \(1008 .*permission to access the File nosuchfile/);
    } finally {
      session.close();
    }
  });
});
