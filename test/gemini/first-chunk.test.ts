import { GoogleGenAI } from "@google/genai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../../src/cli/serve.js";
import { COMMA_MODEL, DIGIT_MODEL, startPacedUpstream, type PacedUpstream } from "../support/paced-upstream.js";
import { startTestServer } from "../support/server.js";

/**
 * The first chunk when the model's first piece is one character. The Gemini surface holds back
 * the last character of the text so far (finishReason must ride on a chunk with parts); a first
 * piece of one character still leaves at once, and a reply that stops right after it ends with
 * an empty text part, as Google's own streams may. The replies come from a paced engine behind
 * the server (one piece every PACE_MS), so what the client can have at each moment is known.
 */
const PACE_MS = 150;

let engine: PacedUpstream;
let server: RunningServer;

beforeAll(async () => {
  engine = await startPacedUpstream(PACE_MS);
  server = await startTestServer({ upstreams: [COMMA_MODEL, DIGIT_MODEL].map((model) => `${model}=openai:${engine.url},model=${model}`) });
});
afterAll(async () => {
  await server?.close();
  await engine?.close();
});

const ai = () => new GoogleGenAI({ apiKey: "any", httpOptions: { baseUrl: server.url } });

describe("a first piece of one character", () => {
  it("reaches @google/genai on its own, a whole pace before the next piece", async () => {
    const chunks: { text: string | undefined; at: number; finishReason?: string }[] = [];
    for await (const chunk of await ai().models.generateContentStream({ model: COMMA_MODEL, contents: "Go on" })) {
      chunks.push({ text: chunk.text, at: performance.now(), finishReason: chunk.candidates?.[0]?.finishReason });
    }
    expect(chunks[0]?.text).toBe(",");
    expect(chunks[1]!.at - chunks[0]!.at).toBeGreaterThan(PACE_MS / 2);
    // After it the last character is held again, so finishReason rides on text.
    expect(chunks.map((c) => c.text).join("")).toBe(", then more");
    expect(chunks.at(-1)).toMatchObject({ text: "e", finishReason: "STOP" });
  });

  it("that is the whole reply ends with an empty text part carrying finishReason, and a chat goes on", async () => {
    const chat = ai().chats.create({ model: DIGIT_MODEL });
    const chunks = [];
    for await (const chunk of await chat.sendMessageStream({ message: "2 + 2?" })) chunks.push(chunk);
    expect(chunks.map((c) => c.candidates?.[0]?.content?.parts)).toEqual([[{ text: "4" }], [{ text: "" }]]);
    expect(chunks.map((c) => c.candidates?.[0]?.finishReason)).toEqual([undefined, "STOP"]);
    // @google/genai keeps the turn (the empty part included) and sends it back; the server takes it.
    const history = chat.getHistory(true);
    expect(history.map((turn) => turn.role)).toEqual(["user", "model", "model"]);
    expect(history.flatMap((turn) => turn.parts?.map((p) => p.text) ?? [])).toEqual(["2 + 2?", "4", ""]);
    const again = await chat.sendMessage({ message: "And 2 + 3?" });
    expect(again.text).toBe("4");
    expect(chat.getHistory(true)).toHaveLength(5);
  });
});
