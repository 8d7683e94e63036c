import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Engine, GenerateRequest, GenerationEvent } from "../engines/engine.js";
import { checkBearerKey, type ApiKeys } from "../route-kit/auth.js";
import { errorHandler } from "../route-kit/error-handler.js";
import { ApiError, invalidArgument, openAiErrorBody } from "../route-kit/errors.js";
import { serveGeneration } from "../serving/generation.js";
import type { ServerMetrics } from "../serving/metrics.js";
import { streamReply } from "../route-kit/stream-reply.js";
import type { StreamTracker } from "../serving/stream-tracker.js";
import { parseBody } from "../route-kit/validate.js";
import type { ModelRegistry } from "../models/registry.js";
import { collectCandidates } from "../serving/candidates.js";
import { embedTexts } from "../serving/embedding-vectors.js";
import { randomId } from "../base/random-id.js";
import { SSE_DONE } from "../route-kit/sse.js";
import { ChatCompletionRequestSchema, CompletionRequestSchema, EmbeddingRequestSchema, type ChatCompletionChunk, type CompletionIdentity, type TextCompletion } from "./protocol.js";
import { chatToGenerateRequest, completionToGenerateRequest } from "./translate.js";
import { toChatChunks, toChatCompletion, toCompletionChunks, toEmbeddingList, toOpenAiModel, toTextCompletion } from "./translate-response.js";

export interface OpenAiRoutesOptions {
  models: ModelRegistry;
  keys: ApiKeys;
  metrics: ServerMetrics;
  streams: StreamTracker;
  chunkWindowMs: number;
}

/** OpenAI's framing ends a complete stream with `data: [DONE]`; one cut short (aborted) gets none. */
async function* endedWithDone<T>(chunks: AsyncGenerator<T, boolean>): AsyncGenerator<T | typeof SSE_DONE> {
  if (yield* chunks) yield SSE_DONE;
}

/** Routes on paths the Gemini surface also serves (GET /v1/models) answer only OpenAI clients. */
const OPENAI_ONLY = { constraints: { wire: "openai" } };

/** The OpenAI-compatible surface under /v1, over the same engines, keys and model registry. */
export async function openAiRoutes(app: FastifyInstance, options: OpenAiRoutesOptions): Promise<void> {
  const { models, keys, metrics, streams, chunkWindowMs } = options;

  app.setErrorHandler(errorHandler(openAiErrorBody));
  app.addHook("onRequest", async (request) => checkBearerKey(keys, request));

  function engineOr404(model: string): Engine {
    const engine = models.engineFor(model);
    if (!engine) throw new ApiError("NOT_FOUND", `The model \`${model}\` does not exist or you do not have access to it.`);
    return engine;
  }

  app.get("/models", OPENAI_ONLY, async () => ({
    object: "list",
    data: models.listed().map(({ name, info }) => toOpenAiModel(info, name)),
  }));
  app.get<{ Params: { model: string } }>("/models/:model", OPENAI_ONLY, async (request) => {
    const engine = engineOr404(request.params.model);
    return toOpenAiModel(engine.info, request.params.model);
  });

  async function complete(
    request: FastifyRequest,
    reply: FastifyReply,
    body: { model: string; stream?: boolean | null; stream_options?: { include_usage?: boolean } | null },
    buildRequest: (signal: AbortSignal) => GenerateRequest,
    kind: "chat" | "text",
  ): Promise<unknown> {
    const startedAt = performance.now();
    const engine = engineOr404(body.model);
    const identity: CompletionIdentity = {
      id: `${kind === "chat" ? "chatcmpl" : "cmpl"}-${randomId(12)}`,
      created: Math.floor(Date.now() / 1000),
      model: body.model,
    };
    return serveGeneration({ request, reply, engine, metrics, streams, startedAt, chunkWindowMs }, buildRequest, async (candidates: AsyncIterable<GenerationEvent>[], lifecycle) => {
      if (body.stream) {
        const includeUsage = body.stream_options?.include_usage === true;
        const chunks: AsyncGenerator<ChatCompletionChunk | TextCompletion, boolean> =
          kind === "chat" ? toChatChunks(candidates, identity, includeUsage) : toCompletionChunks(candidates, identity, includeUsage);
        await streamReply(request, reply, endedWithDone(chunks), lifecycle, "sse", openAiErrorBody);
        return undefined;
      }
      const whole = await collectCandidates(candidates);
      if (!whole) throw lifecycle.abortError ?? new Error("The generation ended without a result.");
      return kind === "chat" ? toChatCompletion(whole, identity) : toTextCompletion(whole, identity);
    });
  }

  app.post("/chat/completions", async (request, reply) => {
    const body = parseBody(ChatCompletionRequestSchema, request.body);
    return complete(request, reply, body, (signal) => chatToGenerateRequest(body, signal), "chat");
  });
  app.post("/completions", async (request, reply) => {
    const body = parseBody(CompletionRequestSchema, request.body);
    return complete(request, reply, body, (signal) => completionToGenerateRequest(body, signal), "text");
  });
  app.post("/embeddings", async (request) => {
    const body = parseBody(EmbeddingRequestSchema, request.body);
    const engine = engineOr404(body.model);
    if (!engine.info.canEmbed) throw invalidArgument(`${body.model} does not serve embeddings.`);
    const inputs = typeof body.input === "string" ? [body.input] : body.input;
    const { vectors, tokens } = await embedTexts(engine, inputs, () => body.dimensions ?? undefined);
    return toEmbeddingList(vectors, tokens, body.model, body.encoding_format === "base64");
  });
}
