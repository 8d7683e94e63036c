import { describe, expect, it } from "vitest";
import { ApiError } from "../../src/route-kit/errors.js";
import { SetupSchema } from "../../src/live/protocol.js";
import { parseBody } from "../../src/route-kit/validate.js";
import {
  closeReason,
  goAwayMessage,
  MAX_CLOSE_REASON_BYTES,
  modelTurn,
  realtimeText,
  setupModel,
  toLiveClose,
  toLiveConfig,
  toLiveUsage,
  toolResponseTurn,
  toTurnRequest,
} from "../../src/live/translate.js";

/** Live messages ⇄ engine requests, without sockets. */
const setup = (fields: Record<string, unknown>) => parseBody(SetupSchema, { model: "models/smol", ...fields });
const signal = new AbortController().signal;

describe("Live setup → session settings", () => {
  it("takes sampling, system instruction and tools, in either spelling", () => {
    const parsed = setup({
      generation_config: { temperature: 0.5, max_output_tokens: 7, response_modalities: ["TEXT"] },
      system_instruction: { parts: [{ text: "Be brief." }] },
      tools: [{ function_declarations: [{ name: "f" }] }],
    });
    const config = toLiveConfig(parsed);
    expect(setupModel(parsed)).toBe("smol");
    expect(config.sampling).toMatchObject({ temperature: 0.5, maxOutputTokens: 7 });
    expect(config.tools?.functions.map((f) => f.name)).toEqual(["f"]);
    expect(toTurnRequest(config, [{ role: "user", parts: [{ text: "hi" }] }], signal).prompt.systemInstruction).toBe("Be brief.");
  });

  it.each([
    [{ generationConfig: { responseModalities: ["AUDIO"] } }, /response_modalities AUDIO: genai-local has no speech engine yet/],
    [{ generationConfig: { speechConfig: { voiceConfig: {} } } }, /speech_config: genai-local has no speech engine/],
    [{ inputAudioTranscription: {} }, /input_audio_transcription/],
    [{ outputAudioTranscription: {} }, /output_audio_transcription/],
  ])("refuses %j by name, in a reason that fits a close frame", (fields, reason) => {
    let error: unknown;
    try {
      toLiveConfig(setup(fields));
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ApiError);
    const close = toLiveClose(error as ApiError);
    expect(close.code).toBe(1007);
    expect(close.reason).toMatch(reason);
    expect(Buffer.byteLength(close.reason)).toBeLessThanOrEqual(MAX_CLOSE_REASON_BYTES);
  });

  it("refuses audio and video realtime input; text is a turn", () => {
    expect(realtimeText({ text: "hi" })).toBe("hi");
    expect(() => realtimeText({ audio: {} })).toThrow(/realtime_input.audio/);
    expect(() => realtimeText({ video: {} })).toThrow(/realtime_input.video/);
    expect(() => realtimeText({ mediaChunks: [] })).toThrow(/realtime_input.media_chunks|mediaChunks/);
  });
});

describe("Live history → engine request", () => {
  it("turn N's prompt starts with turns 1…N-1 as they were (so the engine reuses their KV state)", () => {
    const config = toLiveConfig(setup({}));
    const history = [
      { role: "user", parts: [{ text: "Hello" }] },
      { role: "model", parts: [{ text: "Hi!" }] },
    ];
    const first = toTurnRequest(config, history.slice(0, 1), signal).prompt.turns;
    const second = toTurnRequest(config, [...history, { role: "user", parts: [{ text: "Again" }] }], signal).prompt.turns;
    expect(second.slice(0, first.length)).toEqual(first);
    expect(second).toHaveLength(3);
  });

  it("after a tool response, mode ANY becomes AUTO so that the model can answer in words", () => {
    const config = toLiveConfig(setup({ tools: [{ functionDeclarations: [{ name: "f" }] }], toolConfig: { functionCallingConfig: { mode: "ANY" } } }));
    const history = [{ role: "user", parts: [{ text: "x" }] }];
    expect(toTurnRequest(config, history, signal).tools?.mode).toBe("ANY");
    expect(toTurnRequest(config, history, signal, true).tools?.mode).toBe("AUTO");
  });

  it("a tool response for an unknown call id is refused; a known one becomes a user turn", () => {
    const pending = [{ id: "c1", name: "f", args: {} }];
    expect(() => toolResponseTurn({ functionResponses: [{ id: "zz", name: "f", response: {} }] }, pending)).toThrow(/answers no pending/);
    expect(toolResponseTurn({ functionResponses: [{ id: "c1", name: "f", response: { ok: 1 } }] }, pending)).toEqual({
      role: "user",
      parts: [{ functionResponse: { name: "f", response: { ok: 1 } } }],
    });
  });
});

describe("Live function-call history", () => {
  it("keeps a call's id in the model turn, and puts responses in the order of the calls they answer, so they pair by name in order", () => {
    const pending = [
      { id: "c1", name: "f", args: { n: 1 } },
      { id: "c2", name: "f", args: { n: 2 } },
    ];
    const call = modelTurn("", pending)!;
    const result = toolResponseTurn({ functionResponses: [{ id: "c2", name: "f", response: { n: 2 } }, { id: "c1", name: "f", response: { n: 1 } }] }, pending);
    const signal = new AbortController().signal;
    const prompt = toTurnRequest(toLiveConfig(setup({})), [{ role: "user", parts: [{ text: "x" }] }, call, result], signal).prompt;
    const parts = prompt.turns.flatMap((turn) => turn.parts ?? []);
    expect(parts).toEqual([
      { type: "call", id: "c1", name: "f", args: { n: 1 } },
      { type: "call", id: "c2", name: "f", args: { n: 2 } },
      { type: "result", id: "c1", name: "f", response: { n: 1 } },
      { type: "result", id: "c2", name: "f", response: { n: 2 } },
    ]);
  });
});

describe("Live outgoing messages", () => {
  it("usage in Live's names (responseTokenCount), cached tokens only when some were", () => {
    expect(toLiveUsage({ promptTokens: 10, cachedPromptTokens: 0, outputTokens: 3 })).toEqual({
      promptTokenCount: 10,
      promptTokensDetails: [{ modality: "TEXT", tokenCount: 10 }],
      responseTokenCount: 3,
      totalTokenCount: 13,
      responseTokensDetails: [{ modality: "TEXT", tokenCount: 3 }],
    });
    expect(toLiveUsage({ promptTokens: 10, cachedPromptTokens: 8, outputTokens: 3 }).cachedContentTokenCount).toBe(8);
  });

  it("goAway's timeLeft is a protobuf Duration", () => {
    expect(goAwayMessage(9500)).toEqual({ goAway: { timeLeft: "9.5s" } });
  });

  it("close reasons are cut to 123 bytes of UTF-8, never inside a character", () => {
    for (const text of ["a".repeat(500), "é".repeat(200), "😀".repeat(100)]) {
      const reason = closeReason(text);
      expect(Buffer.byteLength(reason)).toBeLessThanOrEqual(MAX_CLOSE_REASON_BYTES);
      expect(reason.endsWith("…")).toBe(true);
      expect(Buffer.from(reason).toString()).toBe(reason);
    }
    expect(closeReason("short")).toBe("short");
  });
});
