import { ApiError } from "../../base/api-error.js";
import type { FinishReason, GenerationEvent, TokenUsage } from "../engine.js";
import { fromOpenAiLogprobs, ToolCallAssembler } from "./openai-tools.js";
import { deltaReasoning } from "./reasoning-fields.js";
import type { UpstreamChunk } from "./openai-wire.js";
import { transportError, upstreamError, upstreamErrorStatus } from "./upstream-errors.js";

/** An upstream's finish_reason in Google's terms (tool_calls and function_call end with STOP there). */
export function upstreamFinishReason(reason: string): FinishReason {
  if (reason === "length") return "MAX_TOKENS";
  if (reason === "content_filter") return "SAFETY";
  return "STOP";
}

/**
 * An upstream's usage into ours. Its completion_tokens include the reasoning; the reasoning's
 * share is its `completion_tokens_details.reasoning_tokens` where it says (OpenAI, OpenRouter),
 * else the reasoning deltas counted (vLLM and llama-server send about one token per delta).
 */
function readUsage(reported: NonNullable<UpstreamChunk["usage"]>, usage: TokenUsage): void {
  usage.promptTokens = reported.prompt_tokens ?? usage.promptTokens;
  usage.cachedPromptTokens = reported.prompt_tokens_details?.cached_tokens ?? 0;
  const reasoning = reported.completion_tokens_details?.reasoning_tokens;
  if (typeof reasoning === "number" && (reasoning > 0 || usage.thoughtTokens !== undefined)) usage.thoughtTokens = reasoning;
  if (reported.completion_tokens !== undefined) usage.outputTokens = Math.max(0, reported.completion_tokens - (usage.thoughtTokens ?? 0));
}

/** llama-server's `timings` (on every chunk when asked with timings_per_token): the prompt's tokens, evaluated and reused. */
function readTimings(timings: { prompt_n?: unknown; cache_n?: unknown }, usage: TokenUsage): void {
  const evaluated = Number(timings.prompt_n);
  const cached = Number(timings.cache_n);
  if (!Number.isSafeInteger(evaluated) || !Number.isSafeInteger(cached)) return;
  usage.promptTokens = evaluated + cached;
  usage.cachedPromptTokens = cached;
}

/**
 * An upstream's streamed chat completion (SSE lines of chunks) as engine events: text, thoughts,
 * tool calls assembled from their deltas, usage as the upstream reports it, and the end.
 */
export async function* upstreamEvents(body: AsyncIterable<Buffer>, id: string, signal?: AbortSignal): AsyncGenerator<GenerationEvent> {
  // The prompt's tokens are known only if the upstream reports usage (stream_options.include_usage).
  const usage: TokenUsage = { cachedPromptTokens: 0, outputTokens: 0 };
  const calls = new ToolCallAssembler();
  let finishReason: FinishReason | undefined;
  yield { type: "start", usage: { ...usage } };
  let buffer = "";
  const decoder = new TextDecoder();
  try {
    for await (const piece of body) {
      buffer += decoder.decode(piece, { stream: true });
      // Lines are read in place; only the unfinished tail is kept (one slice per read, not per line).
      let start = 0;
      for (let end = buffer.indexOf("\n"); end !== -1; start = end + 1, end = buffer.indexOf("\n", start)) {
        const line = buffer.slice(start, end).trim();
        if (!line.startsWith("data:")) continue;
        const data = line.slice(5).trim();
        if (data === "[DONE]") continue;
        const chunk = JSON.parse(data) as UpstreamChunk;
        if (chunk.error) throw upstreamError(upstreamErrorStatus(chunk.error), chunk.error.message ?? data, id);
        const choice = chunk.choices?.[0];
        if (choice?.finish_reason) finishReason = upstreamFinishReason(choice.finish_reason);
        calls.add(choice?.delta?.tool_calls);
        const thought = deltaReasoning(choice?.delta);
        const text: unknown = choice?.delta?.content ?? choice?.text; // chat completions, or /completions' text
        const hasText = typeof text === "string" && text.length > 0;
        // Counted here until the upstream's own count arrives (every chunk with vLLM's continuous usage, else the last).
        if (thought) usage.thoughtTokens = (usage.thoughtTokens ?? 0) + 1;
        if (hasText) usage.outputTokens++;
        if (chunk.timings && !chunk.usage) readTimings(chunk.timings, usage);
        if (chunk.usage) readUsage(chunk.usage, usage);
        if (thought) yield { type: "thought", text: thought, usage: { ...usage } };
        if (hasText) {
          const logprobs = fromOpenAiLogprobs(choice?.logprobs);
          yield logprobs ? { type: "text", text, usage: { ...usage }, logprobs } : { type: "text", text, usage: { ...usage } };
        }
      }
      buffer = buffer.slice(start);
    }
  } catch (error) {
    if (signal?.aborted) return;
    throw transportError(error, id);
  }
  if (signal?.aborted) return;
  if (!finishReason) throw new ApiError("UNAVAILABLE", `Upstream engine for ${id} ended its stream without a finish reason.`);
  if (calls.size > 0) yield { type: "calls", calls: calls.take(id), usage: { ...usage } };
  yield { type: "end", finishReason, usage: { ...usage } };
}
