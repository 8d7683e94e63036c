import type { FunctionCall, GenerateRequest, SamplingOptions, TokenUsage, ToolUse } from "../engines/engine.js";
import { ApiError, invalidArgument, type GoogleStatus } from "../route-kit/errors.js";
import type { Content } from "../gemini/protocol.js";
import type { MediaContext } from "../gemini/media.js";
import { toPromptInput, toSampling, toToolUse } from "../gemini/translate.js";
import { promptTokensDetails } from "../serving/media-usage.js";
import type { ClientContent, LiveServerMessage, LiveUsageMetadata, RealtimeInput, Setup, ToolResponse } from "./protocol.js";

/** Pure translation between Live messages and the engine's requests and events (no sockets here). */

// Close reasons hold 123 bytes at most, so refusals say it in few words.
const NO_SPEECH = "genai-local has no speech engine yet; it answers in TEXT only";

/** A session's settings, fixed by its setup message. */
export interface LiveConfig {
  sampling: SamplingOptions;
  tools?: ToolUse;
  systemInstruction?: Content;
}

/** The setup's model name as the REST surface takes it (`models/x` → `x`). */
export const setupModel = (setup: Setup): string => setup.model.replace(/^models\//, "");

/** setup → the session's settings; speech and other unserved features are refused by name. */
export function toLiveConfig(setup: Setup): LiveConfig {
  const config = setup.generationConfig ?? {};
  const modalities = config.responseModalities ?? [];
  if (modalities.some((m) => m.toUpperCase() !== "TEXT")) {
    throw invalidArgument(`response_modalities ${modalities.join(",")}: ${NO_SPEECH}; ask for ["TEXT"].`);
  }
  for (const [field, value] of [
    ["generation_config.speech_config", config.speechConfig],
    ["generation_config.enable_affective_dialog", config.enableAffectiveDialog],
    ["input_audio_transcription", setup.inputAudioTranscription],
    ["output_audio_transcription", setup.outputAudioTranscription],
    ["proactivity", setup.proactivity],
  ] as const) {
    if (value !== undefined) throw invalidArgument(`setup.${field}: ${NO_SPEECH}.`);
  }
  const { speechConfig: _s, enableAffectiveDialog: _a, mediaResolution: _m, candidateCount: _c, ...sampled } = config;
  const sampling = toSampling({ ...sampled, responseModalities: undefined });
  const tools = toToolUse(setup.tools, setup.toolConfig);
  return { sampling, ...(tools ? { tools } : {}), ...(setup.systemInstruction ? { systemInstruction: setup.systemInstruction } : {}) };
}

/**
 * The engine request for the next reply: the whole history, so turn N's prompt starts with turns
 * 1…N-1. `media`: the files its fileData parts name and the model that must take its media parts.
 */
export function toTurnRequest(config: LiveConfig, history: Content[], signal: AbortSignal, afterToolResponse = false, media?: MediaContext): GenerateRequest {
  // After a tool response the model may answer in words; in mode ANY it would be forced to call again forever.
  const tools = afterToolResponse && config.tools?.mode === "ANY" ? { ...config.tools, mode: "AUTO" as const, allowed: undefined } : config.tools;
  return {
    prompt: toPromptInput(history, config.systemInstruction, media),
    sampling: config.sampling,
    ...(tools ? { tools } : {}),
    malformedCallsEnd: false,
    signal,
  };
}

/** What a clientContent adds to the history, and whether it asks for a reply. */
export function clientContentTurns(message: ClientContent): { turns: Content[]; reply: boolean } {
  return { turns: (message.turns ?? []).map((turn) => ({ role: turn.role ?? "user", parts: turn.parts ?? [] })), reply: message.turnComplete === true };
}

/** realtimeInput: text is a user turn answered at once; audio and video are refused, activity signals need nothing. */
export function realtimeText(message: RealtimeInput): string | undefined {
  for (const field of ["audio", "video", "mediaChunks"] as const) {
    if (message[field] !== undefined) throw invalidArgument(`realtime_input.${field}: ${NO_SPEECH}; send text.`);
  }
  return message.text;
}

/** toolResponse → the user turn that hands the results to the model; unknown call ids are refused. */
export function toolResponseTurn(message: ToolResponse, pending: readonly FunctionCall[]): Content {
  const responses = message.functionResponses ?? [];
  if (responses.length === 0) throw invalidArgument("tool_response.function_responses must not be empty.");
  for (const [i, response] of responses.entries()) {
    if (response.id !== undefined && !pending.some((call) => call.id === response.id)) {
      throw invalidArgument(`tool_response.function_responses[${i}].id "${response.id}" answers no pending function call.`);
    }
  }
  // In the order of the calls they answer: results without ids pair with calls by name in order (see CallPairing).
  const order = (id: string | undefined) => (id === undefined ? pending.length : pending.findIndex((call) => call.id === id));
  const ordered = [...responses].sort((a, b) => order(a.id) - order(b.id));
  return { role: "user", parts: ordered.map(({ name, response }) => ({ functionResponse: { name, response } })) };
}

/** The model turn a reply leaves in the history: its text, or its calls. */
export function modelTurn(text: string, calls: readonly FunctionCall[] = []): Content | undefined {
  if (calls.length > 0) return { role: "model", parts: calls.map(({ id, name, args }) => ({ functionCall: { id, name, args } })) };
  return text ? { role: "model", parts: [{ text }] } : undefined;
}

export const setupCompleteMessage = (): LiveServerMessage => ({ setupComplete: {} });
export const textMessage = (text: string): LiveServerMessage => ({ serverContent: { modelTurn: { role: "model", parts: [{ text }] } } });
export const interruptedMessage = (): LiveServerMessage => ({ serverContent: { interrupted: true } });
export const generationCompleteMessage = (): LiveServerMessage => ({ serverContent: { generationComplete: true } });
export const turnCompleteMessage = (usage: TokenUsage): LiveServerMessage => ({ serverContent: { turnComplete: true }, usageMetadata: toLiveUsage(usage) });
export const resumptionMessage = (newHandle: string): LiveServerMessage => ({ sessionResumptionUpdate: { newHandle, resumable: true } });
export const usageMessage = (usage: TokenUsage): LiveServerMessage => ({ usageMetadata: toLiveUsage(usage) });
export const toolCallMessage = (calls: readonly FunctionCall[]): LiveServerMessage => ({
  toolCall: { functionCalls: calls.map(({ id, name, args }) => ({ id, name, args })) },
});
export const toolCallCancellationMessage = (ids: string[]): LiveServerMessage => ({ toolCallCancellation: { ids } });
/** `timeLeft` as a protobuf Duration in JSON ("9.5s"). */
export const goAwayMessage = (timeLeftMs: number): LiveServerMessage => ({ goAway: { timeLeft: `${Math.max(0, timeLeftMs) / 1000}s` } });

export function toLiveUsage(usage: TokenUsage): LiveUsageMetadata {
  const prompt = usage.promptTokens;
  return {
    ...(prompt === undefined ? {} : { promptTokenCount: prompt, promptTokensDetails: promptTokensDetails(prompt, usage.promptMedia) }),
    ...(usage.cachedPromptTokens > 0 ? { cachedContentTokenCount: usage.cachedPromptTokens } : {}),
    responseTokenCount: usage.outputTokens,
    totalTokenCount: (prompt ?? 0) + usage.outputTokens,
    responseTokensDetails: [{ modality: "TEXT", tokenCount: usage.outputTokens }],
  };
}

/** WebSocket close codes for Google's statuses, as the Live API closes a session it cannot serve. */
const CLOSE_CODE: Record<GoogleStatus, number> = {
  INVALID_ARGUMENT: 1007,
  FAILED_PRECONDITION: 1007,
  NOT_FOUND: 1008,
  ALREADY_EXISTS: 1008,
  PERMISSION_DENIED: 1008,
  UNAUTHENTICATED: 1008,
  RESOURCE_EXHAUSTED: 1013,
  INTERNAL: 1011,
  UNAVAILABLE: 1001,
  DEADLINE_EXCEEDED: 1000,
};

/** A close frame's reason holds at most 123 bytes of UTF-8. */
export const MAX_CLOSE_REASON_BYTES = 123;

export function closeReason(message: string): string {
  if (Buffer.byteLength(message) <= MAX_CLOSE_REASON_BYTES) return message;
  let cut = message;
  while (Buffer.byteLength(`${cut}…`) > MAX_CLOSE_REASON_BYTES) cut = cut.slice(0, -1);
  // Never end on half a surrogate pair.
  if (/[\ud800-\udbff]$/.test(cut)) cut = cut.slice(0, -1);
  return `${cut}…`;
}

export interface LiveClose {
  code: number;
  reason: string;
}

export function toLiveClose(error: ApiError): LiveClose {
  return { code: CLOSE_CODE[error.status], reason: closeReason(error.message) };
}
