/**
 * The one engine interface both wire surfaces use: plain data in, an async iterable of
 * plain events out, so an engine can live in-process, in a child process or behind HTTP.
 */

export type TurnRole = "user" | "model";

export interface ChatTurn {
  role: TurnRole;
  text: string;
}

export interface PromptInput {
  systemInstruction?: string;
  /** Already merged: no two consecutive turns share a role. */
  turns: ChatTurn[];
  /** Plain text continuation even when the model has a chat template (legacy completions). */
  raw?: boolean;
}

import type { OutputConstraint } from "../serving/output-constraint.js";

export interface SamplingOptions {
  temperature?: number;
  topP?: number;
  topK?: number;
  seed?: number;
  maxOutputTokens?: number;
  stopSequences?: string[];
  presencePenalty?: number;
  frequencyPenalty?: number;
  /** Generation is constrained (by a grammar) to this shape. */
  constraint?: OutputConstraint;
}

export interface GenerateRequest {
  prompt: PromptInput;
  sampling: SamplingOptions;
  signal?: AbortSignal;
}

export type FinishReason = "STOP" | "MAX_TOKENS";

export interface TokenUsage {
  promptTokens: number;
  /** Prompt tokens that were already in the KV cache and not recomputed. */
  cachedPromptTokens: number;
  outputTokens: number;
}

export type GenerationEvent =
  | { type: "start"; usage: TokenUsage }
  | { type: "text"; text: string; usage: TokenUsage }
  | { type: "end"; finishReason: FinishReason; usage: TokenUsage };

export interface ModelInfo {
  id: string;
  displayName: string;
  description: string;
  inputTokenLimit: number;
  outputTokenLimit: number;
  hasChatTemplate: boolean;
  /** Whether `embed` is served. */
  canEmbed: boolean;
}

export interface Embeddings {
  /** One vector per input text, as the model computes it (not normalised). */
  vectors: number[][];
  /** Input tokens over all texts. */
  tokens: number;
}

export interface Engine {
  readonly info: ModelInfo;
  /** Yields one `start`, any number of `text`, then one `end`; stops early when `signal` aborts. */
  generate(request: GenerateRequest): AsyncIterable<GenerationEvent>;
  countTokens(prompt: PromptInput): Promise<number>;
  embed(texts: string[]): Promise<Embeddings>;
  /** Streams currently holding a sequence, and requests waiting for one. */
  load(): { active: number; queued: number };
  close(): Promise<void>;
}

/** Thrown (or surfaced as a final error event) when the engine itself fails. */
export class EngineError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "EngineError";
  }
}

/** The request cannot be served as asked (e.g. the prompt exceeds the context); a client error. */
export class RequestRejectedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RequestRejectedError";
  }
}
