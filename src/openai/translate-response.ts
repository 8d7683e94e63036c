import type { FinishReason, FunctionCall, GenerationEvent, ModelInfo, TokenLogprob, TokenUsage } from "../engines/engine.js";
import { totalUsage, type CollectedCandidate } from "../serving/candidates.js";
import { interleave } from "../serving/interleave.js";
import type {
  ChatCompletion,
  ChatCompletionChoice,
  ChatCompletionChunk,
  ChatCompletionChunkChoice,
  ChatCompletionMessage,
  CompletionIdentity,
  EmbeddingList,
  OpenAiFinishReason,
  OpenAiLogprobs,
  OpenAiModel,
  OpenAiToolCall,
  OpenAiUsage,
  TextCompletion,
} from "./protocol.js";

/**
 * Pure translation of the engine's events into OpenAI's responses: streamed chunks, whole
 * completions, usage, logprobs, models. A chunk stream returns true once it is complete, when
 * OpenAI's protocol ends it with `data: [DONE]` (the route's framing adds that line).
 */

// MALFORMED_FUNCTION_CALL is the Gemini surface's (the OpenAI surface asks for the text instead).
const OPENAI_FINISH: Record<FinishReason, OpenAiFinishReason> = { STOP: "stop", MAX_TOKENS: "length", SAFETY: "content_filter", MALFORMED_FUNCTION_CALL: "stop" };
export const toFinishReason = (reason: FinishReason, called = false): OpenAiFinishReason => (called ? "tool_calls" : OPENAI_FINISH[reason]);

export function toUsage(usage: TokenUsage): OpenAiUsage {
  // OpenAI's usage requires a number: unknown prompt tokens (an upstream that reports none) are 0.
  // OpenAI counts reasoning inside completion_tokens and says how much of it in the details.
  const prompt = usage.promptTokens ?? 0;
  const completion = usage.outputTokens + (usage.thoughtTokens ?? 0);
  const openai: OpenAiUsage = {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    prompt_tokens_details: { cached_tokens: usage.cachedPromptTokens },
  };
  if (usage.thoughtTokens !== undefined) openai.completion_tokens_details = { reasoning_tokens: usage.thoughtTokens };
  return openai;
}

const byteValues = (token: string) => [...Buffer.from(token, "utf8")];

/** OpenAI's `logprobs.content` for the tokens of one delta. */
export function toOpenAiLogprobs(logprobs: TokenLogprob[] | undefined): OpenAiLogprobs | null {
  if (!logprobs) return null;
  return {
    content: logprobs.map((l) => ({
      token: l.token,
      logprob: l.logProbability,
      bytes: byteValues(l.token),
      top_logprobs: l.top.map((t) => ({ token: t.token, logprob: t.logProbability, bytes: byteValues(t.token) })),
    })),
    refusal: null,
  };
}

const toToolCalls = (calls: FunctionCall[]): OpenAiToolCall[] =>
  calls.map((call) => ({ id: call.id, type: "function", function: { name: call.name, arguments: JSON.stringify(call.args) } }));

/** Chat completion chunks as OpenAI streams them, every choice interleaved: role first (with the first delta), deltas, finish, usage; true once complete. */
export async function* toChatChunks(
  candidates: AsyncIterable<GenerationEvent>[],
  identity: CompletionIdentity,
  includeUsage: boolean,
): AsyncGenerator<ChatCompletionChunk, boolean> {
  const chunk = (choices: ChatCompletionChunkChoice[], usage?: OpenAiUsage): ChatCompletionChunk =>
    usage ? { ...identity, object: "chat.completion.chunk", choices, usage } : { ...identity, object: "chat.completion.chunk", choices };
  const usages: (TokenUsage | undefined)[] = candidates.map(() => undefined);
  const calls = candidates.map(() => 0);
  // A choice's role chunk waits for its first delta and leaves with it, in the same write: nothing
  // wakes the client (and takes a core from the engine) while the prompt is still being evaluated.
  const roleSent = candidates.map(() => false);
  let ended = 0;
  for await (const [index, event] of interleave(candidates)) {
    if (event.type === "start") continue;
    if (!roleSent[index]) {
      roleSent[index] = true;
      yield chunk([{ index, delta: { role: "assistant", content: "" }, logprobs: null, finish_reason: null }]);
    }
    if (event.type === "thought") {
      yield chunk([{ index, delta: { reasoning_content: event.text }, logprobs: null, finish_reason: null }]);
    } else if (event.type === "text") {
      yield chunk([{ index, delta: { content: event.text }, logprobs: toOpenAiLogprobs(event.logprobs), finish_reason: null }]);
    } else if (event.type === "calls") {
      const first = calls[index]!;
      const tool_calls = toToolCalls(event.calls).map((call, i) => ({ index: first + i, ...call }));
      yield chunk([{ index, delta: { tool_calls }, logprobs: null, finish_reason: null }]);
      calls[index]! += event.calls.length;
    } else {
      usages[index] = event.usage;
      yield chunk([{ index, delta: {}, logprobs: toOpenAiLogprobs(event.logprobs), finish_reason: toFinishReason(event.finishReason, calls[index]! > 0) }]);
      if (++ended < candidates.length) continue;
      if (includeUsage) yield chunk([], toUsage(totalUsage(usages)));
      return true;
    }
  }
  return false;
}

/** Legacy text completion chunks; true once complete. */
export async function* toCompletionChunks(
  candidates: AsyncIterable<GenerationEvent>[],
  identity: CompletionIdentity,
  includeUsage: boolean,
): AsyncGenerator<TextCompletion, boolean> {
  const chunk = (index: number, text: string, finish: OpenAiFinishReason | null): TextCompletion => ({
    ...identity,
    object: "text_completion",
    choices: [{ index, text, logprobs: null, finish_reason: finish }],
  });
  const usages: (TokenUsage | undefined)[] = candidates.map(() => undefined);
  let ended = 0;
  for await (const [index, event] of interleave(candidates)) {
    if (event.type === "text") yield chunk(index, event.text, null);
    else if (event.type === "end") {
      usages[index] = event.usage;
      yield chunk(index, "", toFinishReason(event.finishReason));
      if (++ended < candidates.length) continue;
      if (includeUsage) yield { ...identity, object: "text_completion", choices: [], usage: toUsage(totalUsage(usages)) };
      return true;
    }
  }
  return false;
}

/** One choice of a whole chat completion. */
export function toChatChoice(choice: CollectedCandidate, index: number): ChatCompletionChoice {
  const message: ChatCompletionMessage = { role: "assistant", content: choice.calls.length && !choice.text ? null : choice.text, refusal: null };
  if (choice.thought) message.reasoning_content = choice.thought;
  if (choice.calls.length) message.tool_calls = toToolCalls(choice.calls);
  return { index, message, logprobs: toOpenAiLogprobs(choice.logprobs), finish_reason: toFinishReason(choice.finishReason, choice.calls.length > 0) };
}

/** A whole chat completion, over every candidate. */
export function toChatCompletion(candidates: CollectedCandidate[], identity: CompletionIdentity): ChatCompletion {
  const choices = candidates.map((choice, index) => toChatChoice(choice, index));
  return { ...identity, object: "chat.completion", choices, usage: toUsage(totalUsage(candidates.map((choice) => choice.usage))) };
}

/** A whole legacy text completion, over every candidate. */
export function toTextCompletion(candidates: CollectedCandidate[], identity: CompletionIdentity): TextCompletion {
  const choices = candidates.map((choice, index) => ({ index, text: choice.text, logprobs: null, finish_reason: toFinishReason(choice.finishReason) }));
  return { ...identity, object: "text_completion", choices, usage: toUsage(totalUsage(candidates.map((choice) => choice.usage))) };
}

/** An OpenAI model object; `max_model_len` (the context, as vLLM reports it) lets a front learn it. */
export function toOpenAiModel(info: ModelInfo, id = info.id): OpenAiModel {
  return { id, object: "model", created: 0, owned_by: "genai-local", max_model_len: info.inputTokenLimit };
}

/** A list of embeddings, each as floats or (`encoding_format: "base64"`) as little-endian float32 bytes in base64. */
export function toEmbeddingList(vectors: number[][], tokens: number, model: string, base64: boolean): EmbeddingList<number[] | string> {
  const data = vectors.map((values, index) => {
    const embedding = base64 ? Buffer.from(new Float32Array(values).buffer).toString("base64") : values;
    return { object: "embedding" as const, index, embedding };
  });
  return { object: "list", data, model, usage: { prompt_tokens: tokens, total_tokens: tokens } };
}
