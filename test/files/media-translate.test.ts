import { describe, expect, it } from "vitest";
import { toChatMessages } from "../../src/engines/upstream/openai-messages.js";
import { parseUpstreamSource } from "../../src/engines/upstream/upstream-spec.js";
import type { ModelInfo } from "../../src/engines/engine.js";
import { newMediaContext } from "../../src/gemini/media.js";
import { GenerateContentRequestSchema } from "../../src/gemini/protocol.js";
import { toGenerateRequest, toPromptInput } from "../../src/gemini/translate.js";
import { MAX_MEDIA_PART_BYTES, mediaKind, mediaTokens, mediaTokensByModality } from "../../src/serving/media-parts.js";
import { parseMultipart } from "../../src/files/multipart.js";
import { makePdf, makeWav } from "../support/media-files.js";

// Pure translation of media parts, no sockets: Gemini parts → engine turn parts → OpenAI content parts.
const vision: ModelInfo = { id: "vision", displayName: "v", description: "", inputTokenLimit: 1, outputTokenLimit: 1, hasChatTemplate: true, canEmbed: false, inputKinds: ["image"] };
const b64 = (text: string) => Buffer.from(text).toString("base64");

function rejection(run: () => unknown): Error {
  try {
    run();
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected a rejection");
}

describe("media parts", () => {
  it("keep their order inside a turn and across merged same-role turns; text files become text", () => {
    const files = new Map([["files/abc", { mimeType: "image/jpeg", data: b64("jpeg bytes") }]]);
    const prompt = toPromptInput(
      [
        { role: "user", parts: [{ text: "a " }, { inlineData: { mimeType: "image/png", data: b64("png") } }] },
        { role: "user", parts: [{ fileData: { fileUri: "files/abc" } }, { inlineData: { mimeType: "text/plain; charset=utf-8", data: b64("notes") } }] },
      ],
      undefined,
      newMediaContext(files, vision),
    );
    expect(prompt.turns).toHaveLength(1);
    expect(prompt.turns[0]!.text).toBe("a notes");
    expect(prompt.turns[0]!.parts).toEqual([
      { type: "text", text: "a " },
      { type: "media", kind: "image", mimeType: "image/png", data: b64("png") },
      { type: "media", kind: "image", mimeType: "image/jpeg", data: b64("jpeg bytes") },
      { type: "text", text: "notes" },
    ]);
    expect(toChatMessages(prompt)[0]!.content).toEqual([
      { type: "text", text: "a " },
      { type: "image_url", image_url: { url: `data:image/png;base64,${b64("png")}` } },
      { type: "image_url", image_url: { url: `data:image/jpeg;base64,${b64("jpeg bytes")}` } },
      { type: "text", text: "notes" },
    ]);
  });

  it("a text-only turn stays a plain string upstream, as before; merged with a media turn its text leads", () => {
    const prompt = toPromptInput([{ parts: [{ text: "hi" }] }], undefined, newMediaContext());
    expect(prompt.turns[0]).toEqual({ role: "user", text: "hi" });
    expect(toChatMessages(prompt)).toEqual([{ role: "user", content: "hi" }]);
    const merged = toPromptInput([{ parts: [{ text: "look" }] }, { parts: [{ inlineData: { mimeType: "image/gif", data: "R0lG" } }] }], undefined, newMediaContext(new Map(), vision));
    expect(merged.turns[0]!.parts).toEqual([{ type: "text", text: "look" }, { type: "media", kind: "image", mimeType: "image/gif", data: "R0lG" }]);
  });

  it("refuses what the model cannot take, unknown MIME types, bad base64 and oversized parts, naming the part", () => {
    const request = (part: object) => GenerateContentRequestSchema.parse({ contents: [{ parts: [{ text: "x" }, part] }] });
    const audio = rejection(() => toGenerateRequest(request({ inlineData: { mimeType: "audio/wav", data: "AAAA" } }), undefined, newMediaContext(new Map(), vision)));
    expect(audio.message).toBe("contents[0].parts[1].inlineData: model vision cannot take audio/wav input (audio); it takes text, image.");
    expect(rejection(() => toGenerateRequest(request({ inlineData: { mimeType: "video/mp4", data: "AAAA" } }), undefined, newMediaContext(new Map(), vision))).message).toContain('"video/mp4" is not supported');
    expect(rejection(() => toGenerateRequest(request({ inlineData: { mimeType: "image/png", data: "@@@" } }), undefined, newMediaContext(new Map(), vision))).message).toContain("Base64 decoding failed");
    const huge = "A".repeat(Math.ceil(((MAX_MEDIA_PART_BYTES + 3) * 4) / 3));
    expect(rejection(() => toGenerateRequest(request({ inlineData: { mimeType: "image/png", data: huge } }), undefined, newMediaContext(new Map(), vision))).message).toContain("a media part may have at most");
    // Without a media context (embedContent, cached contents) media is refused as before.
    expect(rejection(() => toGenerateRequest(request({ inlineData: { mimeType: "image/png", data: "AAAA" } }))).message).toContain("contents[0].parts[1].inlineData");
  });

  it("audio goes as input_audio with OpenAI's format names, PDFs as OpenAI's file part", () => {
    const prompt = {
      turns: [
        {
          role: "user" as const,
          text: "",
          parts: [
            { type: "media" as const, kind: "audio" as const, mimeType: "audio/mpeg", data: "AA==" },
            { type: "media" as const, kind: "audio" as const, mimeType: "audio/x-wav", data: "AA==" },
            { type: "media" as const, kind: "pdf" as const, mimeType: "application/pdf", data: "AA==" },
          ],
        },
      ],
    };
    expect(toChatMessages(prompt)[0]!.content).toEqual([
      { type: "input_audio", input_audio: { data: "AA==", format: "mp3" } },
      { type: "input_audio", input_audio: { data: "AA==", format: "wav" } },
      { type: "file", file: { file_data: "data:application/pdf;base64,AA==", filename: "document-2.pdf" } },
    ]);
  });

  it("counts media at fixed rates: 258 an image, 32 a second of WAV, 258 a PDF page", () => {
    expect(mediaTokens("image", "AA==")).toBe(258);
    expect(mediaTokens("audio", makeWav(2, 8000).toString("base64"))).toBe(64);
    expect(mediaTokens("pdf", makePdf().toString("base64"))).toBe(258);
    const counts = mediaTokensByModality({ turns: [{ role: "user", text: "", parts: [{ type: "media", kind: "image", mimeType: "image/png", data: "" }, { type: "media", kind: "image", mimeType: "image/gif", data: "" }] }] });
    expect([...counts]).toEqual([["IMAGE", 516]]);
    expect(mediaKind("IMAGE/PNG")).toBe("image");
    expect(mediaKind("application/zip")).toBeUndefined();
  });

  it("--upstream takes input=image+audio+pdf and refuses unknown kinds", () => {
    expect(parseUpstreamSource("v", "openai:http://h:1/v1,input=image+audio").inputKinds).toEqual(["image", "audio"]);
    expect(() => parseUpstreamSource("v", "openai:http://h:1/v1,input=image+video")).toThrow('unknown input kind "video"');
    expect(parseUpstreamSource("v", "openai:http://h:1/v1").inputKinds).toBeUndefined();
  });

  it("splits a multipart body on its boundary, bytes intact", () => {
    const binary = Buffer.from([0, 13, 10, 45, 45, 255]);
    const body = Buffer.concat([Buffer.from("--xx\r\nContent-Type: application/json\r\n\r\n{}\r\n--xx\r\nContent-Type: image/png\r\n\r\n"), binary, Buffer.from("\r\n--xx--\r\n")]);
    const parts = parseMultipart(body, "xx");
    expect(parts.map((p) => p.contentType)).toEqual(["application/json", "image/png"]);
    expect(parts[1]!.body.equals(binary)).toBe(true);
  });
});
