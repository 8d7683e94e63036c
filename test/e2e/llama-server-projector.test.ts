import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { GoogleGenAI } from "@google/genai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../../src/cli/serve.js";
import { makePng, makeWav } from "../support/media-files.js";
import { modelsDir, repoRoot, startTestServer } from "../support/server.js";

// What genai-local sends a llama-server given a projector, seen by a stand-in for llama-server
// (test/support/fake-llama-server.mjs): no vision GGUF is available offline to run the real one on.
let server: RunningServer;
let logDir: string;
let ai: GoogleGenAI;
const logged = async (): Promise<{ args?: string[]; body?: { messages: { role: string; content: unknown }[] } }[]> =>
  (await readFile(path.join(logDir, "log"), "utf8")).trim().split("\n").map((line) => JSON.parse(line));

beforeAll(async () => {
  logDir = await mkdtemp(path.join(os.tmpdir(), "genai-local-projector-test-"));
  process.env.FAKE_LLAMA_SERVER_LOG = path.join(logDir, "log");
  server = await startTestServer({
    models: ["vlm=SmolLM2-135M-Instruct.Q4_1.gguf,mmproj=stories260K.gguf"],
    engine: "llama-server",
    llamaServer: path.join(repoRoot, "test/support/fake-llama-server.mjs"),
  });
  ai = new GoogleGenAI({ apiKey: "k", httpOptions: { baseUrl: server.url } });
});
afterAll(async () => {
  await server?.close();
  delete process.env.FAKE_LLAMA_SERVER_LOG;
  await rm(logDir, { recursive: true, force: true });
});

describe("a local model with a projector (--model ID=GGUF,mmproj=PROJECTOR) on the llama-server engine", () => {
  it("starts llama-server with --mmproj and takes what its /props reports: images", async () => {
    const [{ args }] = await logged();
    expect(args?.slice(args.indexOf("--mmproj"), args.indexOf("--mmproj") + 2)).toEqual(["--mmproj", path.join(modelsDir(), "stories260K.gguf")]);
    const model = (await (await fetch(`${server.url}/v1beta/models/vlm`)).json()) as { inputModalities: string[] };
    expect(model.inputModalities).toEqual(["TEXT", "IMAGE"]);
  });

  it("sends an image part to llama-server as an OpenAI image_url part, bytes and order kept", async () => {
    const png = makePng();
    let text = "";
    const stream = await ai.models.generateContentStream({
      model: "vlm",
      contents: [{ role: "user", parts: [{ text: "What is in this picture?" }, { inlineData: { mimeType: "image/png", data: png.toString("base64") } }, { text: "One word." }] }],
    });
    for await (const chunk of stream) text += chunk.text ?? "";
    expect(text).toBe("seen");
    const body = (await logged()).at(-1)!.body!;
    expect(body.messages.at(-1)).toEqual({
      role: "user",
      content: [
        { type: "text", text: "What is in this picture?" },
        { type: "image_url", image_url: { url: `data:image/png;base64,${png.toString("base64")}` } },
        { type: "text", text: "One word." },
      ],
    });
  });

  it("refuses an audio part, which the projector does not read, naming the model", async () => {
    const wav = makeWav();
    await expect(ai.models.generateContent({ model: "vlm", contents: [{ role: "user", parts: [{ inlineData: { mimeType: "audio/wav", data: wav.toString("base64") } }] }] })).rejects.toThrow(
      /model vlm cannot take audio\/wav input \(audio\); it takes text, image/,
    );
  });
});
