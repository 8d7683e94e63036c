/**
 * The one engine interface both wire surfaces use: plain data in, an async iterable of
 * plain events out, so an engine can live in-process, in a child process or behind HTTP.
 */

export type TurnRole = "user" | "model";

/** Media an engine may take besides text (text files arrive as text). */
export type InputKind = "image" | "audio" | "pdf";

/** Google's names for the media modalities of a prompt (usage's promptTokensDetails). */
export type MediaModality = "IMAGE" | "AUDIO" | "DOCUMENT";

/**
 * One piece of a turn, in the order the client sent it; media travels as base64. A model turn's
 * `call` and a later user turn's `result` share an `id` (the client's, or one the surface made).
 */
export type TurnPart =
  | { type: "text"; text: string }
  | { type: "media"; kind: InputKind; mimeType: string; data: string }
  | { type: "call"; id: string; name: string; args: Record<string, unknown> }
  /** `response` as the client sent it: an object on Gemini's wire, text on OpenAI's. */
  | { type: "result"; id: string; name: string; response: unknown };

export interface ChatTurn {
  role: TurnRole;
  /** The turn's text parts joined, function calls and results written out as text: what a text-only engine reads. */
  text: string;
  /** Set only when the turn holds media, function calls or results: every part (text too), in order. */
  parts?: TurnPart[];
  /** A model turn's own reasoning, given back so the model's next step continues from it (see docs/thinking.md). */
  thought?: string;
}

export interface PromptInput {
  systemInstruction?: string;
  /** Already merged: no two consecutive turns share a role. */
  turns: ChatTurn[];
  /** Plain text continuation even when the model has a chat template (legacy completions). */
  raw?: boolean;
  /** A saved prefix (see Engine.savePrefix) this prompt starts with: its KV state is restored, not recomputed. */
  savedPrefix?: string;
  /**
   * Functions the model may call, for an engine that writes them into the prompt in its model's
   * own format (ModelInfo.toolCallFormat); the serving layer describes them otherwise.
   */
  functions?: FunctionDeclaration[];
}

/**
 * What generated text must look like, as plain data the engine turns into a grammar:
 * any JSON value, JSON matching a schema, or exactly one of a list of strings.
 */
export type OutputConstraint =
  | { kind: "json" }
  /** One call of one of these functions in the engine's own ToolCallFormat (mode ANY on a tool-trained model). */
  | { kind: "function-call"; functions: FunctionDeclaration[] }
  | { kind: "json-schema"; schema: JsonSchema }
  | { kind: "enum"; values: string[] };

export type JsonSchema = { [key: string]: unknown };


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
  /** Report each generated token's log probability and this many top alternatives (0: none). */
  logprobs?: number;
}

/** A function the model may call (Gemini's functionDeclarations, OpenAI's tools). */
export interface FunctionDeclaration {
  name: string;
  description?: string;
  /** JSON Schema of the arguments object, as far as a grammar enforces it (mode ANY). */
  parameters: JsonSchema;
  /** The arguments schema as declared, advisory keywords (minimum, pattern, …) included: what the model reads. */
  declaredParameters?: JsonSchema;
}

/** AUTO: the model decides; ANY: it must call one of `allowed` (all when absent); NONE: it must not. */
export interface ToolUse {
  functions: FunctionDeclaration[];
  mode: "AUTO" | "ANY" | "NONE";
  allowed?: string[];
}

export interface FunctionCall {
  id: string;
  name: string;
  args: Record<string, unknown>;
}

/**
 * How much a reasoning model thinks. `budget`: 0 off (or as little as the model allows), -1 the
 * model decides, N at most N thought tokens; `level` the model's own effort setting. Engines
 * without thinking ignore it. Thoughts are always reported as `thought` events; whether they
 * reach the client (`includeThoughts`) is the surface's business.
 */
export interface ThinkingOptions {
  includeThoughts: boolean;
  budget?: number;
  level?: "MINIMAL" | "LOW" | "MEDIUM" | "HIGH";
}

export interface GenerateRequest {
  prompt: PromptInput;
  thinking?: ThinkingOptions;
  sampling: SamplingOptions;
  /** Functions the model may call instead of answering with text. */
  tools?: ToolUse;
  /** Independent replies to generate (seeds differ); served by the serving layer, not the engine. */
  candidateCount?: number;
  /**
   * A reply that set out to call a function and is no valid call ends with MALFORMED_FUNCTION_CALL
   * and none of its text (Gemini's way), instead of coming back as text (what OpenAI-compatible
   * servers do). Only for function calling done by the serving layer (see extractCalls).
   */
  malformedCallsEnd?: boolean;
  signal?: AbortSignal;
}

/**
 * SAFETY: an upstream engine withheld the rest (OpenAI's content_filter). MALFORMED_FUNCTION_CALL:
 * the model tried to call a function and wrote no valid call (see GenerateRequest.malformedCallsEnd).
 */
export type FinishReason = "STOP" | "MAX_TOKENS" | "SAFETY" | "MALFORMED_FUNCTION_CALL";

export interface TokenUsage {
  /** Absent when the engine cannot say (an upstream whose stream reports no usage). */
  promptTokens?: number;
  /** Prompt tokens that were already in the KV cache and not recomputed. */
  cachedPromptTokens: number;
  outputTokens: number;
  /** Reasoning tokens, not counted in outputTokens; absent when the model has not thought. */
  thoughtTokens?: number;
  /**
   * The prompt's media per modality at the serving layer's fixed rates (serving/media-usage.ts),
   * set by the serving layer, never by an engine (engines count the prompt as one number);
   * absent when the prompt holds no media.
   */
  promptMedia?: Partial<Record<MediaModality, number>>;
}

export interface TokenChoice {
  token: string;
  /** Absent when an upstream engine does not say. */
  tokenId?: number;
  logProbability: number;
}

/** A generated token's log probability, with the most likely alternatives at that step. */
export interface TokenLogprob extends TokenChoice {
  top: TokenChoice[];
}

export type GenerationEvent =
  | { type: "start"; usage: TokenUsage }
  /**
   * `at`: when the engine produced it (ms since the epoch, performance.timeOrigin + now()), set
   * by an engine that delivers text later than it makes it (a runner batching its messages).
   */
  | { type: "text"; text: string; usage: TokenUsage; logprobs?: TokenLogprob[]; at?: number }
  /** A piece of the model's reasoning, generated before its answer (reasoning_content upstream, a thought segment locally). */
  | { type: "thought"; text: string; usage: TokenUsage }
  /** The model called functions instead of (or after) answering with text. */
  | { type: "calls"; calls: FunctionCall[]; usage: TokenUsage }
  | { type: "end"; finishReason: FinishReason; usage: TokenUsage; logprobs?: TokenLogprob[]; finishMessage?: string };

export interface ModelInfo {
  id: string;
  displayName: string;
  description: string;
  inputTokenLimit: number;
  outputTokenLimit: number;
  hasChatTemplate: boolean;
  /** Whether `embed` is served. */
  canEmbed: boolean;
  /** The engine takes `tools` itself (an upstream with its own tool calling); otherwise the serving layer prompts and parses. */
  nativeTools?: boolean;
  /**
   * The model's own function-calling format (a local model trained for tools): the engine renders
   * `PromptInput.functions` in it and constrains mode ANY to it, the serving layer reads calls
   * written in it. Absent: declarations go into the system instruction as JSON (the fallback).
   */
  toolCallFormat?: ToolCallFormat;
  /** Media parts the engine takes (absent: text only). */
  inputKinds?: InputKind[];
}

/**
 * How a model writes a call: `prefix` NAME `paramsPrefix` JSON-ARGS `suffix`, several calls
 * between `sectionPrefix` and `sectionSuffix`, apart by `betweenCalls`. Plain text, as generated.
 */
export interface ToolCallFormat {
  /** The chat format it comes from (node-llama-cpp's wrapper name), for logs and docs. */
  name: string;
  prefix: string;
  paramsPrefix: string;
  suffix: string;
  sectionPrefix?: string;
  betweenCalls?: string;
  sectionSuffix?: string;
}

/** A saved prompt prefix: `tokens` of KV state a later prompt naming `id` starts from. */
export interface SavedPrefix {
  id: string;
  tokens: number;
}

export interface Embeddings {
  /** One vector per input text, as the model computes it (not normalised). */
  vectors: number[][];
  /** Input tokens over all texts. */
  tokens: number;
}

/** Streams currently holding a sequence, and requests waiting for one. */
export interface Occupancy {
  active: number;
  queued: number;
}

export interface Engine {
  readonly info: ModelInfo;
  /** Yields one `start`, any number of `thought` and `text` (thoughts first), then one `end`; stops early when `signal` aborts. */
  generate(request: GenerateRequest): AsyncIterable<GenerationEvent>;
  countTokens(prompt: PromptInput): Promise<number>;
  embed(texts: string[]): Promise<Embeddings>;
  /** How busy the engine is now (`load` is reserved for loading a model). */
  occupancy(): Occupancy;
  /** Evaluates a prompt prefix and keeps its KV state (context caching); absent where the engine cannot. */
  savePrefix?(prompt: PromptInput): Promise<SavedPrefix>;
  dropSavedPrefix?(id: string): Promise<void>;
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
