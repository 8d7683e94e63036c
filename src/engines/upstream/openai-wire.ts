/**
 * OpenAI's chat-completions wire as TypeScript types, written once: the OpenAI surface answers in
 * them (openai/protocol.ts re-exports them beside its request schemas) and the upstream client
 * sends and reads them. They live here because engines/ may not import the surfaces.
 */

export type OpenAiFinishReason = "stop" | "length" | "tool_calls" | "content_filter";

export interface OpenAiUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details?: { cached_tokens: number };
  completion_tokens_details?: { reasoning_tokens: number };
}

export interface OpenAiTopLogprob {
  token: string;
  logprob: number;
  bytes?: number[] | null;
}

export interface OpenAiTokenLogprob extends OpenAiTopLogprob {
  top_logprobs?: OpenAiTopLogprob[];
}

export interface OpenAiLogprobs {
  content?: OpenAiTokenLogprob[] | null;
  refusal?: null;
}

export interface OpenAiToolCall {
  id: string;
  type: "function";
  function: { name: string; arguments: string };
}

/** A streamed piece of a tool call: the first names it, the rest add to its arguments. */
export interface OpenAiToolCallDelta {
  index?: number;
  id?: string;
  type?: "function";
  function?: { name?: string; arguments?: string };
}

export interface ChatCompletionDelta {
  role?: "assistant";
  content?: string | null;
  /** Reasoning, as vLLM (before 0.10), llama-server and DeepSeek stream it. */
  reasoning_content?: string;
  /** Reasoning, as newer vLLM and OpenRouter stream it. */
  reasoning?: string;
  tool_calls?: OpenAiToolCallDelta[];
}

export interface ChatCompletionChunkChoice {
  index: number;
  delta: ChatCompletionDelta;
  logprobs: OpenAiLogprobs | null;
  finish_reason: OpenAiFinishReason | null;
}

/** What every completion and chunk of one response carries. */
export interface CompletionIdentity {
  id: string;
  created: number;
  model: string;
}

export interface ChatCompletionChunk extends CompletionIdentity {
  object: "chat.completion.chunk";
  choices: ChatCompletionChunkChoice[];
  usage?: OpenAiUsage;
}

export interface ChatCompletionMessage {
  role: "assistant";
  content: string | null;
  refusal: null;
  reasoning_content?: string;
  tool_calls?: OpenAiToolCall[];
}

export interface ChatCompletionChoice {
  index: number;
  message: ChatCompletionMessage;
  logprobs: OpenAiLogprobs | null;
  finish_reason: OpenAiFinishReason;
}

export interface ChatCompletion extends CompletionIdentity {
  object: "chat.completion";
  choices: ChatCompletionChoice[];
  usage: OpenAiUsage;
}

export interface TextCompletionChoice {
  index: number;
  text: string;
  logprobs: null;
  finish_reason: OpenAiFinishReason | null;
}

/** A legacy text completion, whole or one streamed chunk (the last streamed one may hold only usage). */
export interface TextCompletion extends CompletionIdentity {
  object: "text_completion";
  choices: TextCompletionChoice[];
  usage?: OpenAiUsage;
}

export interface OpenAiModel {
  id: string;
  object: "model";
  created: number;
  owned_by: string;
  /** The context length, as vLLM reports it (some others say `context_length`). */
  max_model_len?: number;
  context_length?: number;
}

export interface OpenAiEmbedding<Vector = number[]> {
  object: "embedding";
  index: number;
  embedding: Vector;
}

export interface EmbeddingList<Vector = number[]> {
  object: "list";
  data: OpenAiEmbedding<Vector>[];
  model: string;
  usage: { prompt_tokens: number; total_tokens: number };
}

/** Request content parts: media as data: URLs (images), input_audio, or OpenAI's file part (PDFs). */
export type OpenAiContentPart =
  | { type: "text"; text: string }
  | { type: "image_url"; image_url: { url: string } }
  | { type: "input_audio"; input_audio: { data: string; format: string } }
  | { type: "file"; file: { file_data: string; filename: string } };

/**
 * A message as the upstream client sends it; a model turn's thoughts go back as `reasoning_content`,
 * its function calls as `tool_calls` (content null when it wrote nothing else), each result as a `tool` message.
 */
export interface OpenAiMessage {
  role: "system" | "user" | "assistant" | "tool";
  content: string | OpenAiContentPart[] | null;
  reasoning_content?: string;
  tool_calls?: OpenAiToolCall[];
  tool_call_id?: string;
}

export interface OpenAiToolDeclaration {
  type: "function";
  function: { name: string; description?: string; parameters?: unknown };
}

export type OpenAiToolChoice = "none" | "auto" | "required" | { type: "function"; function: { name: string } };

export type OpenAiResponseFormat =
  | { type: "text" }
  | { type: "json_object" }
  | { type: "json_schema"; json_schema: { name: string; schema: unknown; strict?: boolean } };

/** A streamed chat completion request, as the upstream client sends it. */
export interface ChatCompletionRequestBody {
  model: string;
  messages: OpenAiMessage[];
  stream: true;
  stream_options: { include_usage: boolean; continuous_usage_stats?: boolean };
  temperature?: number;
  top_p?: number;
  top_k?: number;
  max_tokens?: number;
  stop?: string[];
  seed?: number;
  presence_penalty?: number;
  frequency_penalty?: number;
  response_format?: OpenAiResponseFormat;
  logprobs?: boolean;
  top_logprobs?: number;
  tools?: OpenAiToolDeclaration[];
  tool_choice?: OpenAiToolChoice;
}

/** The same for a plain-text continuation (/completions): a prompt instead of messages, no tools. */
export type CompletionRequestBody = Omit<ChatCompletionRequestBody, "messages" | "tools" | "tool_choice"> & { prompt: string };

/**
 * A chunk as an upstream may stream it: what ours holds, every field possibly missing, with
 * its usage partial and a finish reason of any name, or an error object instead.
 */
export interface UpstreamChunk {
  /** `text`: a /completions chunk's, in place of the delta. */
  choices?: { delta?: ChatCompletionDelta; text?: string; finish_reason?: string | null; logprobs?: OpenAiLogprobs | null }[];
  /** llama-server's, on every chunk with timings_per_token: the prompt's tokens evaluated (`prompt_n`) and reused (`cache_n`). */
  timings?: { prompt_n?: unknown; cache_n?: unknown };
  usage?: {
    prompt_tokens?: number;
    completion_tokens?: number;
    prompt_tokens_details?: { cached_tokens?: number };
    completion_tokens_details?: { reasoning_tokens?: number };
  };
  error?: { message?: string; code?: unknown; type?: unknown };
}

/** An upstream's GET /models: fields are read only when they have the expected type. */
export interface UpstreamModelList {
  data?: { id?: unknown; max_model_len?: unknown; context_length?: unknown }[];
}
