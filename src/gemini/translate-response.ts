import type { FunctionCall, ModelInfo, TokenLogprob, TokenUsage } from "../engines/engine.js";
import { promptTokensDetails } from "../serving/media-usage.js";
import { thoughtSigner } from "../serving/thought-signatures.js";
import type { Candidate, FunctionCallPart, GenerateContentResponse, LogprobsResult, ModelResource, TextPart, UsageMetadata } from "./protocol.js";

/** Pure translation of the engine's events and models into the Gemini wire's responses and model resources. */

/**
 * Usage as Google counts it: the total is prompt + candidates + thoughts, thoughts are counted
 * (once started) on every chunk, and the prompt's modality breakdown rides on every chunk too.
 * A zero candidatesTokenCount is left out while the model is still thinking, as Google's proto
 * encoding leaves out zeros there.
 */
export function toUsageMetadata(usage: TokenUsage): UsageMetadata {
  // Unknown prompt tokens are left out (every field is optional on Google's wire), not said to be 0.
  const thoughts = usage.thoughtTokens;
  const metadata: UsageMetadata = {
    ...(usage.promptTokens === undefined ? {} : { promptTokenCount: usage.promptTokens }),
    ...(usage.outputTokens === 0 && thoughts ? {} : { candidatesTokenCount: usage.outputTokens }),
    totalTokenCount: (usage.promptTokens ?? 0) + usage.outputTokens + (thoughts ?? 0),
  };
  if (usage.cachedPromptTokens > 0) metadata.cachedContentTokenCount = usage.cachedPromptTokens;
  if (usage.promptTokens !== undefined) metadata.promptTokensDetails = promptTokensDetails(usage.promptTokens, usage.promptMedia);
  if (thoughts !== undefined) metadata.thoughtsTokenCount = thoughts;
  return metadata;
}

export interface ResponseIdentity {
  modelVersion: string;
  responseId: string;
}

/** What one chunk (or the one response) of a candidate holds. */
export interface CandidatePiece {
  text: string;
  /** Reasoning, sent as a `thought: true` part before the text. */
  thought?: string;
  /** The turn's thoughtSignature: on its first function call, or else on its last part. */
  signature?: string;
  calls?: FunctionCall[];
  logprobs?: TokenLogprob[];
  finishReason?: Candidate["finishReason"];
  finishMessage?: string;
}

export function toLogprobsResult(logprobs: TokenLogprob[]): LogprobsResult {
  return {
    topCandidates: logprobs.map((l) => ({ candidates: l.top.map(({ token, tokenId, logProbability }) => ({ token, tokenId, logProbability })) })),
    chosenCandidates: logprobs.map(({ token, tokenId, logProbability }) => ({ token, tokenId, logProbability })),
    logProbabilitySum: logprobs.reduce((sum, l) => sum + l.logProbability, 0),
  };
}

export function toCandidate(piece: CandidatePiece, index = 0): Candidate {
  const withheld = piece.finishReason === "MALFORMED_FUNCTION_CALL" && !piece.text && !piece.calls?.length;
  const parts: (TextPart | FunctionCallPart)[] = piece.thought ? [{ text: piece.thought, thought: true }] : [];
  if (piece.text || (!piece.calls?.length && !piece.thought)) parts.push({ text: piece.text });
  for (const { id, name, args } of piece.calls ?? []) parts.push({ functionCall: { id, name, args } });
  if (piece.signature) (parts.find((p) => "functionCall" in p) ?? parts.at(-1)!).thoughtSignature = piece.signature;
  const candidate: Candidate = { content: withheld ? {} : { parts, role: "model" }, index };
  if (piece.finishReason) candidate.finishReason = piece.finishReason;
  if (piece.finishMessage) candidate.finishMessage = piece.finishMessage;
  if (piece.logprobs) candidate.logprobsResult = toLogprobsResult(piece.logprobs);
  return candidate;
}

export function toCandidatesResponse(candidates: Candidate[], usageMetadata: UsageMetadata, identity: ResponseIdentity): GenerateContentResponse {
  return { candidates, usageMetadata, modelVersion: identity.modelVersion, responseId: identity.responseId };
}

/** A thoughtSignature for a turn that thought (undefined for a model that does not think, which gets none). */
export function turnSignature(thought: string, usage: TokenUsage | undefined): string | undefined {
  return thought || usage?.thoughtTokens !== undefined ? thoughtSigner.sign(thought) : undefined;
}

export const MODEL_METHODS = ["generateContent", "streamGenerateContent", "countTokens", "embedContent", "batchEmbedContents"];
const GENERATION_METHODS = ["generateContent", "streamGenerateContent", "countTokens"];


const INPUT_MODALITY = { image: "IMAGE", audio: "AUDIO", pdf: "DOCUMENT" } as const;

export function toModelResource(info: ModelInfo, name = info.id): ModelResource {
  return {
    name: `models/${name}`,
    inputModalities: ["TEXT", ...(info.inputKinds ?? []).map((kind) => INPUT_MODALITY[kind])],
    version: "001",
    displayName: name === info.id ? info.displayName : `${name} (alias of ${info.id})`,
    description: info.description,
    inputTokenLimit: info.inputTokenLimit,
    outputTokenLimit: info.outputTokenLimit,
    supportedGenerationMethods: info.canEmbed ? [...GENERATION_METHODS, "embedContent", "batchEmbedContents"] : GENERATION_METHODS,
    temperature: 1,
    topP: 0.95,
    topK: 64,
    maxTemperature: 2,
  };
}
