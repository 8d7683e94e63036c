import type { ChatTurn, FinishReason, GenerateRequest, GenerationEvent, ModelInfo, SamplingOptions, TokenUsage } from "../engines/engine.js";
import { invalidArgument } from "../http/errors.js";
import { SSE_DONE } from "../http/sse.js";
import { toGrammarSchema, type OutputConstraint } from "../serving/output-constraint.js";
import type { ChatCompletionRequest, ChatMessage, CompletionRequest, OpenAiFinishReason, OpenAiUsage } from "./protocol.js";

/** Pure translation between OpenAI's chat/completions wire and the engine's request and events. */

const NOT_YET = "is not supported by genai-local yet";

function messageText(message: ChatMessage, index: number): string {
  const content = message.content;
  if (content === undefined || content === null) return "";
  if (typeof content === "string") return content;
  return content
    .map((part, j) => {
      if (part.type !== "text" || typeof (part as { text?: unknown }).text !== "string") {
        throw invalidArgument(`messages[${index}].content[${j}]: content parts of type "${part.type}" ${NOT_YET}; send text.`);
      }
      return (part as { text: string }).text;
    })
    .join("");
}

function sampling(body: CompletionRequest | ChatCompletionRequest, maxTokens: number | null | undefined): SamplingOptions {
  if ((body.n ?? 1) > 1) throw invalidArgument(`n: ${body.n} completions ${NOT_YET}; use n = 1.`);
  if (body.logprobs) throw invalidArgument(`logprobs ${NOT_YET}.`);
  if (body.logit_bias && Object.keys(body.logit_bias).length) throw invalidArgument(`logit_bias ${NOT_YET}.`);
  return {
    temperature: body.temperature ?? undefined,
    topP: body.top_p ?? undefined,
    topK: body.top_k ?? undefined,
    seed: body.seed ?? undefined,
    maxOutputTokens: maxTokens ?? undefined,
    stopSequences: typeof body.stop === "string" ? [body.stop] : (body.stop ?? undefined),
    presencePenalty: body.presence_penalty ?? undefined,
    frequencyPenalty: body.frequency_penalty ?? undefined,
  };
}

export function chatToGenerateRequest(body: ChatCompletionRequest, signal?: AbortSignal): GenerateRequest {
  if (body.tools?.length) throw invalidArgument(`tools ${NOT_YET}.`);

  const system: string[] = [];
  const turns: ChatTurn[] = [];
  body.messages.forEach((message, index) => {
    if (message.role === "tool" || message.role === "function" || message.tool_calls?.length) {
      throw invalidArgument(`messages[${index}]: tool messages and tool calls ${NOT_YET}.`);
    }
    const text = messageText(message, index);
    if (message.role === "system" || message.role === "developer") {
      system.push(text);
      return;
    }
    const role = message.role === "assistant" ? "model" : "user";
    const last = turns.at(-1);
    if (last && last.role === role) last.text += `\n${text}`;
    else turns.push({ role, text });
  });
  if (turns.length === 0) throw invalidArgument("messages: at least one user or assistant message is required.");
  return {
    prompt: { turns, systemInstruction: system.length ? system.join("\n") : undefined },
    sampling: { ...sampling(body, body.max_completion_tokens ?? body.max_tokens), constraint: toConstraint(body.response_format) },
    signal,
  };
}

/** response_format → the constraint generation must follow. */
function toConstraint(format: ChatCompletionRequest["response_format"]): OutputConstraint | undefined {
  if (!format || format.type === "text") return undefined;
  if (format.type === "json_object") return { kind: "json" };
  if (format.type === "json_schema") {
    const schema = (format as { json_schema?: { schema?: unknown } }).json_schema?.schema;
    return schema === undefined ? { kind: "json" } : { kind: "json-schema", schema: toGrammarSchema(schema, "response_format.json_schema.schema") };
  }
  throw invalidArgument(`response_format.type: "${format.type}" is not supported; use text, json_object or json_schema.`);
}

export function completionToGenerateRequest(body: CompletionRequest, signal?: AbortSignal): GenerateRequest {
  if (body.echo) throw invalidArgument(`echo ${NOT_YET}.`);
  if (body.suffix) throw invalidArgument(`suffix ${NOT_YET}.`);
  if ((body.best_of ?? 1) > 1) throw invalidArgument(`best_of ${NOT_YET}.`);
  const prompt = typeof body.prompt === "string" ? body.prompt : (body.prompt[0] as string);
  // The legacy completions API continues text as given: no chat template, default 16 tokens as OpenAI.
  return { prompt: { turns: [{ role: "user", text: prompt }], raw: true }, sampling: sampling(body, body.max_tokens ?? 16), signal };
}

export const toFinishReason = (reason: FinishReason): OpenAiFinishReason => (reason === "STOP" ? "stop" : "length");

export function toUsage(usage: TokenUsage): OpenAiUsage {
  return {
    prompt_tokens: usage.promptTokens,
    completion_tokens: usage.outputTokens,
    total_tokens: usage.promptTokens + usage.outputTokens,
    prompt_tokens_details: { cached_tokens: usage.cachedPromptTokens },
  };
}

export interface CompletionIdentity {
  id: string;
  created: number;
  model: string;
}

/** Chat completion chunks as OpenAI streams them: role first, content deltas, finish, usage, [DONE]. */
export async function* toChatChunks(
  events: AsyncIterable<GenerationEvent>,
  identity: CompletionIdentity,
  includeUsage: boolean,
): AsyncGenerator<unknown> {
  const chunk = (choices: unknown[], extra: object = {}) => ({ ...identity, object: "chat.completion.chunk", choices, ...extra });
  for await (const event of events) {
    if (event.type === "start") {
      yield chunk([{ index: 0, delta: { role: "assistant", content: "" }, logprobs: null, finish_reason: null }]);
    } else if (event.type === "text") {
      yield chunk([{ index: 0, delta: { content: event.text }, logprobs: null, finish_reason: null }]);
    } else {
      yield chunk([{ index: 0, delta: {}, logprobs: null, finish_reason: toFinishReason(event.finishReason) }]);
      if (includeUsage) yield chunk([], { usage: toUsage(event.usage) });
      yield SSE_DONE;
      return;
    }
  }
}

/** Legacy text completion chunks. */
export async function* toCompletionChunks(
  events: AsyncIterable<GenerationEvent>,
  identity: CompletionIdentity,
  includeUsage: boolean,
): AsyncGenerator<unknown> {
  const chunk = (text: string, finish: OpenAiFinishReason | null) => ({
    ...identity,
    object: "text_completion",
    choices: [{ index: 0, text, logprobs: null, finish_reason: finish }],
  });
  for await (const event of events) {
    if (event.type === "text") yield chunk(event.text, null);
    else if (event.type === "end") {
      yield chunk("", toFinishReason(event.finishReason));
      if (includeUsage) yield { ...identity, object: "text_completion", choices: [], usage: toUsage(event.usage) };
      yield SSE_DONE;
      return;
    }
  }
}

/** One whole response (stream: false). */
export async function collectText(
  events: AsyncIterable<GenerationEvent>,
): Promise<{ text: string; finishReason: OpenAiFinishReason; usage: OpenAiUsage } | undefined> {
  let text = "";
  for await (const event of events) {
    if (event.type === "text") text += event.text;
    else if (event.type === "end") return { text, finishReason: toFinishReason(event.finishReason), usage: toUsage(event.usage) };
  }
  return undefined;
}

export function toOpenAiModel(info: ModelInfo | { id: string }, id = info.id) {
  return { id, object: "model", created: 0, owned_by: "genai-local" };
}
