import { describe, expect, it } from "vitest";
import type { GenerationEvent, TokenUsage } from "../../src/engines/engine.js";
import { GenerateContentRequestSchema } from "../../src/gemini/protocol.js";
import { collectResponse, toResponseChunks } from "../../src/gemini/response-stream.js";
import { toGenerateRequest, toPromptInput } from "../../src/gemini/translate.js";
import { ApiError } from "../../src/route-kit/errors.js";
import { parseBody } from "../../src/route-kit/validate.js";

const parse = (body: unknown) => parseBody(GenerateContentRequestSchema, body);

function rejection(fn: () => unknown): ApiError {
  try {
    fn();
  } catch (error) {
    if (error instanceof ApiError) return error;
    throw error;
  }
  throw new Error("expected an ApiError");
}

describe("request validation", () => {
  it("accepts snake_case field names and nulls as Google's parser does", () => {
    const body = parse({
      contents: [{ role: "user", parts: [{ text: "Hi" }] }],
      generation_config: { max_output_tokens: 7, temperature: null, stop_sequences: ["x"] },
      system_instruction: { parts: [{ text: "Be brief." }] },
    });
    expect(body.generationConfig).toEqual({ maxOutputTokens: 7, stopSequences: ["x"] });
    expect(toGenerateRequest(body).prompt.systemInstruction).toBe("Be brief.");
  });

  it("names a field of the wrong type", () => {
    const error = rejection(() => parse({ contents: [], generationConfig: { temperature: "hot" } }));
    expect(error.status).toBe("INVALID_ARGUMENT");
    expect(error.message).toContain("generation_config.temperature");
    expect(error.message).toContain('"hot"');
  });

  it("names an unknown field", () => {
    const error = rejection(() => parse({ contents: [], bogus: 1 }));
    expect(error.message).toBe('Invalid JSON payload received. Unknown name "bogus": Cannot find field.');
  });

  it("rejects out-of-range sampling values", () => {
    const error = rejection(() => parse({ contents: [], generationConfig: { temperature: 2.5 } }));
    expect(error.message).toContain("generation_config.temperature");
  });

  it("rejects a body that is not an object", () => {
    expect(rejection(() => parse([1, 2])).code).toBe(400);
  });
});

describe("contents → prompt", () => {
  it("merges consecutive turns of the same role", () => {
    const prompt = toPromptInput([
      { role: "user", parts: [{ text: "Once " }] },
      { role: "user", parts: [{ text: "upon" }, { text: " a time" }] },
      { role: "model", parts: [{ text: "there was" }] },
      { parts: [{ text: "Go on." }] },
    ]);
    expect(prompt.turns).toEqual([
      { role: "user", text: "Once upon a time" },
      { role: "model", text: "there was" },
      { role: "user", text: "Go on." },
    ]);
  });

  it("rejects empty contents, empty parts, bad roles and non-text parts, naming them", () => {
    expect(rejection(() => toPromptInput([])).message).toContain("contents is not specified");
    expect(rejection(() => toPromptInput([{ role: "user", parts: [] }])).message).toContain("contents[0].parts");
    expect(rejection(() => toPromptInput([{ role: "system", parts: [{ text: "x" }] }])).message).toContain("valid role");
    const inline = rejection(() => toPromptInput([{ parts: [{ text: "a" }, { inlineData: { mimeType: "image/png", data: "" } }] }]));
    expect(inline.message).toContain("contents[0].parts[1].inlineData");
  });

  it("rejects generation features that are not built yet instead of ignoring them", () => {
    const image = parse({ contents: [{ parts: [{ text: "x" }, { inlineData: { mimeType: "image/png", data: "AA==" } }] }] });
    expect(rejection(() => toGenerateRequest(image)).message).toContain("contents[0].parts[1].inlineData");
    const search = parse({ contents: [{ parts: [{ text: "x" }] }], tools: [{ googleSearch: {} }] });
    expect(rejection(() => toGenerateRequest(search)).message).toContain("tools[0].googleSearch");
  });
});

const usage = (outputTokens: number): TokenUsage => ({ promptTokens: 5, cachedPromptTokens: 0, outputTokens });

async function* events(list: GenerationEvent[]): AsyncGenerator<GenerationEvent> {
  yield* list;
}

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

describe("engine events → streamed responses", () => {
  const identity = { modelVersion: "stories-260k", responseId: "r1" };

  it("puts finishReason on the last chunk that still has text, holding back only the last character", async () => {
    const chunks = await collect(
      toResponseChunks(
        events([
          { type: "start", usage: usage(0) },
          { type: "text", text: "Once", usage: usage(1) },
          { type: "text", text: " upon", usage: usage(2) },
          { type: "end", finishReason: "STOP", usage: usage(3) },
        ]),
        identity,
      ),
    );
    // The first piece leaves before the second exists (time to first token), less one character.
    expect(chunks.map((c) => c.candidates[0]?.content.parts[0]?.text)).toEqual(["Onc", "e upo", "n"]);
    expect(chunks.slice(0, 2).map((c) => c.candidates[0]?.finishReason)).toEqual([undefined, undefined]);
    expect(chunks[2]?.candidates[0]?.finishReason).toBe("STOP");
    expect(chunks[1]?.usageMetadata).toEqual({ promptTokenCount: 5, candidatesTokenCount: 2, totalTokenCount: 7, promptTokensDetails: [{ modality: "TEXT", tokenCount: 5 }] });
    expect(chunks[2]?.usageMetadata).toEqual({ promptTokenCount: 5, candidatesTokenCount: 3, totalTokenCount: 8, promptTokensDetails: [{ modality: "TEXT", tokenCount: 5 }] });
    for (const chunk of chunks) expect(chunk).toMatchObject(identity);
  });

  it("never splits a surrogate pair, and joins a one-character first piece with what comes in the same turn", async () => {
    const chunks = await collect(
      toResponseChunks(
        events([
          { type: "text", text: "I", usage: usage(1) },
          { type: "text", text: " 😀", usage: usage(2) },
          { type: "text", text: "😀", usage: usage(3) },
          { type: "end", finishReason: "MAX_TOKENS", usage: usage(3) },
        ]),
        identity,
      ),
    );
    expect(chunks.map((c) => c.candidates[0]?.content.parts[0]?.text)).toEqual(["I ", "😀", "😀"]);
    expect(chunks.map((c) => c.candidates[0]?.finishReason)).toEqual([undefined, undefined, "MAX_TOKENS"]);
  });

  it("sends a one-character first piece whole once its turn is over: time to first token does not wait for the next token", async () => {
    let release!: () => void;
    const next = new Promise<void>((resolve) => (release = resolve));
    const arrived: string[] = [];
    const source = async function* (): AsyncGenerator<GenerationEvent> {
      yield { type: "text", text: ",", usage: usage(1) };
      await next;
      yield { type: "text", text: " the", usage: usage(2) };
      yield { type: "end", finishReason: "STOP", usage: usage(2) };
    };
    const chunks = toResponseChunks(source(), identity);
    const first = await chunks.next();
    arrived.push(first.value!.candidates[0]!.content.parts[0]!.text!);
    expect(first.value!.candidates[0]?.finishReason).toBeUndefined();
    release();
    for await (const chunk of chunks) arrived.push(`${chunk.candidates[0]!.content.parts[0]!.text}|${chunk.candidates[0]!.finishReason ?? ""}`);
    // The hold resumes after it: the last character still rides with finishReason.
    expect(arrived).toEqual([",", " th|", "e|STOP"]);
  });

  it("ends with an empty text part and the finishReason when the model stops right after a one-character first piece, as Google's streams may", async () => {
    const source = async function* (): AsyncGenerator<GenerationEvent> {
      yield { type: "text", text: "4", usage: usage(1) };
      await new Promise((resolve) => setTimeout(resolve, 5));
      yield { type: "end", finishReason: "STOP", usage: usage(1) };
    };
    const chunks = await collect(toResponseChunks(source(), identity));
    expect(chunks.map((c) => c.candidates[0]?.content)).toEqual([
      { role: "model", parts: [{ text: "4" }] },
      { role: "model", parts: [{ text: "" }] },
    ]);
    expect(chunks.map((c) => c.candidates[0]?.finishReason)).toEqual([undefined, "STOP"]);
    // An end that comes in the same turn as the piece (a limit of one token) makes one chunk.
    const together = await collect(
      toResponseChunks(events([{ type: "text", text: "4", usage: usage(1) }, { type: "end", finishReason: "MAX_TOKENS", usage: usage(1) }]), identity),
    );
    expect(together.map((c) => [c.candidates[0]?.content.parts?.[0]?.text, c.candidates[0]?.finishReason])).toEqual([["4", "MAX_TOKENS"]]);
  });

  it("stops reading the events when its reader stops, also while a one-character first piece waits", async () => {
    let closed = false;
    const source = async function* (): AsyncGenerator<GenerationEvent> {
      try {
        yield { type: "text", text: "a", usage: usage(1) };
        yield { type: "text", text: "bc", usage: usage(2) };
        await new Promise((resolve) => setTimeout(resolve, 5));
        yield { type: "text", text: "d", usage: usage(3) };
      } finally {
        closed = true;
      }
    };
    const chunks = toResponseChunks(source(), identity);
    expect((await chunks.next()).value?.candidates[0]?.content.parts[0]?.text).toBe("ab");
    await chunks.return(undefined);
    expect(closed).toBe(true);
  });

  it("sends held text before a function call, and the call as the last chunk", async () => {
    const call = { id: "c1", name: "f", args: {} };
    const chunks = await collect(
      toResponseChunks(
        events([
          { type: "text", text: "ok", usage: usage(1) },
          { type: "calls", calls: [call], usage: usage(2) },
          { type: "end", finishReason: "STOP", usage: usage(2) },
        ]),
        identity,
      ),
    );
    expect(chunks.map((c) => c.candidates[0]?.content.parts)).toEqual([[{ text: "o" }], [{ text: "k" }], [{ functionCall: call }]]);
    expect(chunks[2]?.candidates[0]?.finishReason).toBe("STOP");
  });

  it("a malformed function call is one chunk with empty content, its finishReason and finishMessage, as Google sends it", async () => {
    const end = { type: "end", finishReason: "MALFORMED_FUNCTION_CALL", finishMessage: 'Malformed function call: {"name":"rm_rf"}', usage: usage(4) } as const;
    const chunks = await collect(toResponseChunks(events([{ type: "start", usage: usage(0) }, end]), identity));
    expect(chunks).toEqual([
      {
        candidates: [{ content: {}, index: 0, finishReason: "MALFORMED_FUNCTION_CALL", finishMessage: 'Malformed function call: {"name":"rm_rf"}' }],
        usageMetadata: { promptTokenCount: 5, candidatesTokenCount: 4, totalTokenCount: 9, promptTokensDetails: [{ modality: "TEXT", tokenCount: 5 }] },
        ...identity,
      },
    ]);
    const whole = await collectResponse([events([{ type: "start", usage: usage(0) }, end])], identity);
    expect(whole?.candidates).toEqual(chunks[0]!.candidates);
  });

  it("ends without a final chunk when the generation was aborted", async () => {
    const chunks = await collect(
      toResponseChunks(events([{ type: "start", usage: usage(0) }, { type: "text", text: "a", usage: usage(1) }]), identity),
    );
    expect(chunks).toEqual([]);
  });

  it("collects one response for generateContent", async () => {
    const response = await collectResponse(
      [
        events([
          { type: "start", usage: usage(0) },
          { type: "text", text: "a", usage: usage(1) },
          { type: "text", text: "b", usage: usage(2) },
          { type: "end", finishReason: "MAX_TOKENS", usage: usage(2) },
        ]),
      ],
      identity,
    );
    expect(response?.candidates[0]).toEqual({ content: { parts: [{ text: "ab" }], role: "model" }, index: 0, finishReason: "MAX_TOKENS" });
  });
});
