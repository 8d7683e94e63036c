import { Agent, request as undiciRequest } from "undici";
import { ApiError } from "../../base/api-error.js";
import type { Embeddings, Engine, GenerateRequest, GenerationEvent, ModelInfo, Occupancy, OutputConstraint } from "../engine.js";
import type { UpstreamSpec } from "./upstream-spec.js";
import { toolFields } from "./openai-tools.js";
import { reasoningFields } from "./reasoning-fields.js";
import { plainPrompt, toChatMessages } from "./openai-messages.js";
import { upstreamEvents } from "./openai-stream.js";
import { transportError, upstreamError } from "./upstream-errors.js";
import type { ChatCompletionRequestBody, CompletionRequestBody, EmbeddingList, OpenAiResponseFormat, UpstreamModelList } from "./openai-wire.js";
import { environment } from "../../base/config.js";

export interface UpstreamTimeouts {
  connectMs: number;
  /** Longest silence between two pieces of the upstream's stream. */
  readMs: number;
  /** A new connection per request (undici's pipelining 0), for an upstream that drops reused ones. */
  noKeepAlive?: boolean;
  /** Connect to this Unix socket instead of the base URL's host and port (a llama-server child of ours). */
  socketPath?: string;
}

const DEFAULT_TIMEOUTS: UpstreamTimeouts = { connectMs: 5_000, readMs: 120_000 };

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
    this.agent = new Agent({
      connect: { timeout: timeouts.connectMs, ...(timeouts.socketPath ? { socketPath: timeouts.socketPath } : {}) },
      bodyTimeout: timeouts.readMs,
      headersTimeout: timeouts.readMs,
      ...(timeouts.noKeepAlive ? { pipelining: 0 } : { keepAliveTimeout: 30_000 }),
    });
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
      const body = (await response.body.json()) as UpstreamModelList;
      const entry = Array.isArray(body.data) ? body.data.find((model) => model.id === this.spec.model) : undefined;
      const limit = Number(entry?.max_model_len ?? entry?.context_length);
      if (!Number.isSafeInteger(limit) || limit <= 0) return;
      this.info.inputTokenLimit = limit;
      this.info.outputTokenLimit = Math.min(this.info.outputTokenLimit, limit);
    } catch {
      // unreachable or not JSON: the default stays
    }
  }

  occupancy(): Occupancy {
    return { active: this.inFlight, queued: 0 };
  }

  private headers(): Record<string, string> {
    const headers: Record<string, string> = { "content-type": "application/json", accept: "text/event-stream" };
    const key = this.spec.keyEnv ? environment.named(this.spec.keyEnv) : undefined;
    if (key) headers.authorization = `Bearer ${key}`;
    return headers;
  }

  /** Structured output travels as OpenAI's response_format, which vLLM, SGLang and llama-server enforce. */
  private responseFormat(constraint: OutputConstraint | undefined): OpenAiResponseFormat | undefined {
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
    const body = JSON.parse(text) as Pick<EmbeddingList, "data"> & { usage?: Partial<EmbeddingList["usage"]> };
    const vectors = [...body.data].sort((a, b) => a.index - b.index).map((item) => item.embedding);
    return { vectors, tokens: body.usage?.prompt_tokens ?? 0 };
  }

  /** `extraFields`: request fields of the upstream's own beyond OpenAI's (llama-server's `grammar`), from an engine that knows it. */
  async *generate(request: GenerateRequest, extraFields: Record<string, unknown> = {}): AsyncGenerator<GenerationEvent> {
    const { sampling } = request;
    // A raw prompt is continued as plain text through /completions where the upstream is known to serve it.
    const plain = request.prompt.raw === true && this.spec.completions === true;
    const shared = {
      model: this.spec.model,
      stream: true as const,
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
      ...reasoningFields(this.spec.reasoning ?? "openai", request.thinking),
    };
    const wire: ChatCompletionRequestBody | CompletionRequestBody = plain
      ? { ...shared, prompt: plainPrompt(request.prompt) }
      : { ...shared, messages: toChatMessages(request.prompt), ...toolFields(request.tools) };
    const body = { ...wire, ...extraFields };
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
      yield* upstreamEvents(response.body, this.spec.id, request.signal);
    } finally {
      this.inFlight--;
    }
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}
