import { Agent, errors as undiciErrors, request as undiciRequest } from "undici";
import { ApiError } from "../../base/api-error.js";
import type { Embeddings, Engine, FinishReason, GenerateRequest, GenerationEvent, ModelInfo, PromptInput, TokenUsage, TurnPart } from "../engine.js";
import type { OutputConstraint } from "../engine.js";
import type { UpstreamSpec } from "./upstream-spec.js";
import { fromOpenAiLogprobs, toolFields, ToolCallAssembler } from "./openai-tools.js";
import { deltaReasoning, reasoningFields } from "./reasoning-fields.js";

export interface UpstreamTimeouts {
  connectMs: number;
  /** Longest silence between two pieces of the upstream's stream. */
  readMs: number;
}

const DEFAULT_TIMEOUTS: UpstreamTimeouts = { connectMs: 5_000, readMs: 120_000 };

type ContentPart =
  | { type: "text"; text: string }
  | { type: "image_url"; image_url: { url: string } }
  | { type: "input_audio"; input_audio: { data: string; format: string } }
  | { type: "file"; file: { file_data: string; filename: string } };

type ChatMessage = { role: "system" | "user" | "assistant"; content: string | ContentPart[]; reasoning_content?: string };

/** OpenAI's input_audio `format` for an audio MIME type (audio/mpeg → mp3, audio/x-wav → wav). */
export function audioFormat(mimeType: string): string {
  const base = mimeType.split(";")[0]!.trim().toLowerCase();
  if (base.includes("wav")) return "wav";
  if (base === "audio/mpeg" || base === "audio/mp3") return "mp3";
  return base.replace(/^audio\/(x-)?/, "");
}

/** Media as OpenAI content parts: images as data: URLs, audio as input_audio, PDFs as OpenAI's file part. */
function toContentPart(part: TurnPart, index: number): ContentPart {
  if (part.type === "text") return { type: "text", text: part.text };
  if (part.kind === "image") return { type: "image_url", image_url: { url: `data:${part.mimeType};base64,${part.data}` } };
  if (part.kind === "audio") return { type: "input_audio", input_audio: { data: part.data, format: audioFormat(part.mimeType) } };
  return { type: "file", file: { file_data: `data:${part.mimeType};base64,${part.data}`, filename: `document-${index}.pdf` } };
}

/** A model turn's thoughts go back as `reasoning_content`, which the Qwen3 and DeepSeek templates in vLLM and llama-server read. */
export function toChatMessages(prompt: PromptInput): ChatMessage[] {
  const messages: ChatMessage[] = [];
  if (prompt.systemInstruction) messages.push({ role: "system", content: prompt.systemInstruction });
  for (const turn of prompt.turns) {
    const role = turn.role === "model" ? "assistant" : "user";
    // Assistant messages carry text only in OpenAI's API; a model turn's media is not replayed.
    const message: ChatMessage = { role, content: turn.parts && role === "user" ? turn.parts.map(toContentPart) : turn.text };
    if (turn.role === "model" && turn.thought) message.reasoning_content = turn.thought;
    messages.push(message);
  }
  return messages;
}

/** A prompt as plain text to continue: the system instruction, a blank line, then the turns one per line (as the local engine lays it out). */
export function plainPrompt(prompt: PromptInput): string {
  const body = prompt.turns.map((turn) => turn.text).join("\n");
  return prompt.systemInstruction ? `${prompt.systemInstruction}\n\n${body}` : body;
}

/** Upstream HTTP statuses in Google's terms: 429 stays 429, 4xx is the caller's, the rest is 503. */
function upstreamError(status: number, detail: string, id: string): ApiError {
  const message = `Upstream engine for ${id} answered ${status}: ${detail.slice(0, 500)}`;
  if (status === 429) return new ApiError("RESOURCE_EXHAUSTED", message, undefined, { "Retry-After": "1" });
  if (status >= 400 && status < 500) return new ApiError("INVALID_ARGUMENT", message);
  return new ApiError("UNAVAILABLE", message);
}

/**
 * The HTTP status an error object in an upstream's stream stands for. vLLM and llama-server put
 * a number in `code`; OpenAI puts a string there (`context_length_exceeded`) and the kind of
 * error in `type`.
 */
export function upstreamErrorStatus(error: { code?: unknown; type?: unknown }): number {
  const code = Number(error.code);
  if (Number.isInteger(code) && code >= 400 && code < 600) return code;
  const kind = `${String(error.type ?? "")} ${String(error.code ?? "")}`.toLowerCase();
  if (/rate_limit|too_many|quota/.test(kind)) return 429;
  if (/not_found|notfound/.test(kind)) return 404;
  if (/invalid|badrequest|bad_request|context_length|unsupported|validation/.test(kind)) return 400;
  return 500;
}

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
function readUsage(reported: { prompt_tokens?: number; completion_tokens?: number; prompt_tokens_details?: { cached_tokens?: number }; completion_tokens_details?: { reasoning_tokens?: number } }, usage: TokenUsage): void {
  usage.promptTokens = reported.prompt_tokens ?? usage.promptTokens;
  usage.cachedPromptTokens = reported.prompt_tokens_details?.cached_tokens ?? 0;
  const reasoning = reported.completion_tokens_details?.reasoning_tokens;
  if (typeof reasoning === "number" && (reasoning > 0 || usage.thoughtTokens !== undefined)) usage.thoughtTokens = reasoning;
  if (reported.completion_tokens !== undefined) usage.outputTokens = Math.max(0, reported.completion_tokens - (usage.thoughtTokens ?? 0));
}

function transportError(error: unknown, id: string): ApiError {
  if (error instanceof ApiError) return error;
  const text = error instanceof Error ? error.message : String(error);
  if (error instanceof undiciErrors.BodyTimeoutError) return new ApiError("DEADLINE_EXCEEDED", `Upstream engine for ${id} went silent: ${text}`);
  return new ApiError("UNAVAILABLE", `Upstream engine for ${id} is unreachable: ${text}`);
}

/**
 * A model whose generation runs on a remote OpenAI-compatible engine (vLLM, SGLang,
 * llama-server, Ollama, another genai-local): engine requests become streaming chat
 * completions and the stream comes back as engine events. Connections are pooled and kept
 * alive; aborting the request aborts the upstream request.
 */
export class OpenAiUpstreamEngine implements Engine {
  readonly info: ModelInfo;
  private readonly agent: Agent;
  private inFlight = 0;

  constructor(
    private readonly spec: UpstreamSpec,
    private readonly timeouts: UpstreamTimeouts = DEFAULT_TIMEOUTS,
  ) {
    this.agent = new Agent({ connect: { timeout: timeouts.connectMs }, bodyTimeout: timeouts.readMs, headersTimeout: timeouts.readMs, keepAliveTimeout: 30_000 });
    this.info = {
      id: spec.id,
      displayName: spec.id,
      description: `${spec.model} served by the OpenAI-compatible engine at ${spec.baseUrl}`,
      inputTokenLimit: 32_768,
      outputTokenLimit: 8_192,
      hasChatTemplate: true,
      canEmbed: true,
      nativeTools: true,
      ...(spec.inputKinds?.length ? { inputKinds: [...spec.inputKinds] } : {}),
    };
  }

  /** The engine, with its context length read from the upstream if it says (see readLimits). */
  static async connect(spec: UpstreamSpec, timeouts?: UpstreamTimeouts): Promise<OpenAiUpstreamEngine> {
    const engine = new OpenAiUpstreamEngine(spec, timeouts);
    await engine.readLimits();
    return engine;
  }

  /**
   * Reads the model's context length from the upstream's /models, where it says: vLLM, SGLang and
   * genai-local give `max_model_len`, some others `context_length`. An upstream that is down,
   * unreachable or silent for 2 s leaves the default; the server starts either way.
   */
  async readLimits(): Promise<void> {
    try {
      const response = await undiciRequest(`${this.spec.baseUrl}/models`, {
        headers: { ...this.headers(), accept: "application/json" },
        dispatcher: this.agent,
        signal: AbortSignal.timeout(2_000), // connecting included
      });
      if (response.statusCode !== 200) {
        await response.body.dump();
        return;
      }
      const body = (await response.body.json()) as { data?: { id?: unknown; max_model_len?: unknown; context_length?: unknown }[] };
      const entry = Array.isArray(body.data) ? body.data.find((model) => model.id === this.spec.model) : undefined;
      const limit = Number(entry?.max_model_len ?? entry?.context_length);
      if (!Number.isSafeInteger(limit) || limit <= 0) return;
      this.info.inputTokenLimit = limit;
      this.info.outputTokenLimit = Math.min(this.info.outputTokenLimit, limit);
    } catch {
      // unreachable or not JSON: the default stays
    }
  }

  load(): { active: number; queued: number } {
    return { active: this.inFlight, queued: 0 };
  }

  private headers(): Record<string, string> {
    const headers: Record<string, string> = { "content-type": "application/json", accept: "text/event-stream" };
    const key = this.spec.keyEnv ? process.env[this.spec.keyEnv] : undefined;
    if (key) headers.authorization = `Bearer ${key}`;
    return headers;
  }

  /** Structured output travels as OpenAI's response_format, which vLLM, SGLang and llama-server enforce. */
  private responseFormat(constraint: OutputConstraint | undefined): object | undefined {
    if (!constraint) return undefined;
    if (constraint.kind === "json") return { type: "json_object" };
    if (constraint.kind === "json-schema") return { type: "json_schema", json_schema: { name: "response", schema: constraint.schema, strict: true } };
    throw new ApiError("INVALID_ARGUMENT", `text/x.enum output is not available for the upstream model ${this.spec.id}.`);
  }

  async countTokens(): Promise<number> {
    throw new ApiError("FAILED_PRECONDITION", `countTokens is not available for ${this.spec.id}: its tokens are counted by the upstream engine, which has no standard counting endpoint.`);
  }

  /** Embeddings from the upstream's /embeddings, if it serves them. */
  async embed(texts: string[]): Promise<Embeddings> {
    let response: Awaited<ReturnType<typeof undiciRequest>>;
    try {
      response = await undiciRequest(`${this.spec.baseUrl}/embeddings`, {
        method: "POST",
        headers: this.headers(),
        body: JSON.stringify({ model: this.spec.model, input: texts }),
        dispatcher: this.agent,
      });
    } catch (error) {
      throw transportError(error, this.spec.id);
    }
    const text = await response.body.text();
    if (response.statusCode !== 200) throw upstreamError(response.statusCode, text, this.spec.id);
    const body = JSON.parse(text) as { data: { index: number; embedding: number[] }[]; usage?: { prompt_tokens?: number } };
    const vectors = [...body.data].sort((a, b) => a.index - b.index).map((item) => item.embedding);
    return { vectors, tokens: body.usage?.prompt_tokens ?? 0 };
  }

  /** `extraFields`: request fields of the upstream's own beyond OpenAI's (llama-server's `grammar`), from an engine that knows it. */
  async *generate(request: GenerateRequest, extraFields: Record<string, unknown> = {}): AsyncGenerator<GenerationEvent> {
    const { sampling } = request;
    // A raw prompt is continued as plain text through /completions where the upstream is known to serve it.
    const plain = request.prompt.raw === true && this.spec.completions === true;
    const body = {
      model: this.spec.model,
      ...(plain ? { prompt: plainPrompt(request.prompt) } : { messages: toChatMessages(request.prompt) }),
      stream: true,
      // vLLM (and SGLang) can put usage on every chunk: the prompt's count is then known from the first.
      stream_options: { include_usage: true, ...(this.spec.reasoning === "vllm" ? { continuous_usage_stats: true } : {}) },
      temperature: sampling.temperature,
      top_p: sampling.topP,
      top_k: sampling.topK,
      max_tokens: sampling.maxOutputTokens,
      stop: sampling.stopSequences,
      seed: sampling.seed,
      presence_penalty: sampling.presencePenalty,
      frequency_penalty: sampling.frequencyPenalty,
      response_format: this.responseFormat(sampling.constraint),
      ...(sampling.logprobs === undefined ? {} : { logprobs: true, top_logprobs: sampling.logprobs }),
      ...(plain ? {} : toolFields(request.tools)),
      ...reasoningFields(this.spec.reasoning ?? "openai", request.thinking),
      ...extraFields,
    };
    this.inFlight++;
    try {
      let response: Awaited<ReturnType<typeof undiciRequest>>;
      try {
        response = await undiciRequest(`${this.spec.baseUrl}/${plain ? "completions" : "chat/completions"}`, {
          method: "POST",
          headers: this.headers(),
          body: JSON.stringify(body),
          dispatcher: this.agent,
          signal: request.signal,
        });
      } catch (error) {
        if (request.signal?.aborted) return;
        throw transportError(error, this.spec.id);
      }
      if (response.statusCode !== 200) {
        const detail = await response.body.text().catch(() => "");
        throw upstreamError(response.statusCode, detail, this.spec.id);
      }
      yield* this.translateStream(response.body, request.signal);
    } finally {
      this.inFlight--;
    }
  }

  private async *translateStream(body: AsyncIterable<Buffer>, signal?: AbortSignal): AsyncGenerator<GenerationEvent> {
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
          const chunk = JSON.parse(data);
          if (chunk.error) throw upstreamError(upstreamErrorStatus(chunk.error), chunk.error.message ?? data, this.spec.id);
          const choice = chunk.choices?.[0];
          if (choice?.finish_reason) finishReason = upstreamFinishReason(choice.finish_reason);
          calls.add(choice?.delta?.tool_calls);
          const thought = deltaReasoning(choice?.delta);
          const text: unknown = choice?.delta?.content ?? choice?.text; // chat completions, or /completions' text
          const hasText = typeof text === "string" && text.length > 0;
          // Counted here until the upstream's own count arrives (every chunk with vLLM's continuous usage, else the last).
          if (thought) usage.thoughtTokens = (usage.thoughtTokens ?? 0) + 1;
          if (hasText) usage.outputTokens++;
          if (chunk.usage) readUsage(chunk.usage, usage);
          if (thought) yield { type: "thought", text: thought, usage: { ...usage } };
          if (hasText) {
            const logprobs = fromOpenAiLogprobs(choice.logprobs);
            yield logprobs ? { type: "text", text, usage: { ...usage }, logprobs } : { type: "text", text, usage: { ...usage } };
          }
        }
        buffer = buffer.slice(start);
      }
    } catch (error) {
      if (signal?.aborted) return;
      throw transportError(error, this.spec.id);
    }
    if (signal?.aborted) return;
    if (!finishReason) throw new ApiError("UNAVAILABLE", `Upstream engine for ${this.spec.id} ended its stream without a finish reason.`);
    if (calls.size > 0) yield { type: "calls", calls: calls.take(this.spec.id), usage: { ...usage } };
    yield { type: "end", finishReason, usage: { ...usage } };
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}
