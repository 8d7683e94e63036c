import { randomBytes } from "node:crypto";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Engine, GenerationEvent } from "../engines/engine.js";
import { checkGeminiKey, type ApiKeys } from "../http/auth.js";
import { errorBody, internalError, invalidArgument, notFound, toApiError } from "../http/errors.js";
import type { ServerMetrics } from "../http/metrics.js";
import { openJsonArrayStream, openSseStream } from "../http/sse.js";
import { parseBody } from "../http/validate.js";
import type { ModelRegistry } from "../models/registry.js";
import { CountTokensRequestSchema, GenerateContentRequestSchema } from "./protocol.js";
import { collectResponse, toResponseChunks } from "./response-stream.js";
import { countTokensPrompt, toGenerateRequest, toModelResource, MODEL_METHODS } from "./translate.js";

export interface GeminiRoutesOptions {
  models: ModelRegistry;
  keys: ApiKeys;
  metrics: ServerMetrics;
}

const newResponseId = (): string => randomBytes(16).toString("base64url");

/** The Gemini REST surface; registered once under /v1beta and once under /v1. */
export async function geminiRoutes(app: FastifyInstance, options: GeminiRoutesOptions): Promise<void> {
  const { models, keys, metrics } = options;
  const version = app.prefix.replace(/^\//, "");

  app.addHook("onRequest", async (request) => checkGeminiKey(keys, request));

  function engineOr404(requested: string, method: string): Engine {
    const engine = models.engineFor(requested);
    if (engine) return engine;
    const name = requested.startsWith("models/") ? requested : `models/${requested}`;
    throw notFound(
      `${name} is not found for API version ${version}, or is not supported for ${method}. Call ListModels to see the list of available models and their supported methods.`,
    );
  }

  app.get("/models", async () => ({
    models: models.listed().map(({ name, info }) => toModelResource(info, name)),
  }));

  app.get<{ Params: { model: string } }>("/models/:model", async (request) => {
    const engine = engineOr404(request.params.model, "get");
    return toModelResource(engine.info, request.params.model.replace(/^models\//, ""));
  });

  app.post<{ Params: { target: string }; Querystring: { alt?: string } }>("/models/:target", async (request, reply) => {
    const [model = "", method = ""] = splitTarget(request.params.target);
    if (!MODEL_METHODS.includes(method)) {
      throw notFound(`Method "${method || "(none)"}" is not served here; use ${MODEL_METHODS.join(", ")}.`);
    }
    const engine = engineOr404(model, method);
    if (method === "countTokens") {
      const totalTokens = await engine.countTokens(countTokensPrompt(parseBody(CountTokensRequestSchema, request.body)));
      return { totalTokens, promptTokensDetails: [{ modality: "TEXT", tokenCount: totalTokens }] };
    }
    const body = parseBody(GenerateContentRequestSchema, request.body);
    const abort = abortWhenClientLeaves(reply);
    const events = engine.generate(toGenerateRequest(body, abort.signal));
    const identity = { modelVersion: engine.info.id, responseId: newResponseId() };
    if (method === "generateContent") {
      const response = await collectResponse(metered(events, metrics, engine.info.id), identity);
      if (!response) throw internalError("The generation ended without a result.");
      return response;
    }
    const alt = request.query.alt;
    if (alt !== undefined && alt !== "sse" && alt !== "json") {
      throw invalidArgument(`Invalid value for alt: "${alt}" (use sse or json).`);
    }
    await streamResponse(request, reply, metered(events, metrics, engine.info.id), identity, alt === "sse", abort);
  });
}

/** `gemini-2.5-flash:streamGenerateContent` → [model, method]. */
function splitTarget(target: string): string[] {
  const at = target.lastIndexOf(":");
  return at === -1 ? [target, ""] : [target.slice(0, at), target.slice(at + 1)];
}

function abortWhenClientLeaves(reply: FastifyReply): AbortController {
  const abort = new AbortController();
  reply.raw.on("close", () => {
    if (!reply.raw.writableFinished) abort.abort(new Error("The client closed the connection."));
  });
  return abort;
}

async function* metered(
  events: AsyncIterable<GenerationEvent>,
  metrics: ServerMetrics,
  model: string,
): AsyncGenerator<GenerationEvent> {
  let counted = 0;
  for await (const event of events) {
    if (event.type !== "start") {
      metrics.generatedTokens.inc({ model }, event.usage.outputTokens - counted);
      counted = event.usage.outputTokens;
    }
    yield event;
  }
}

async function* startingWith<T>(first: IteratorResult<T>, rest: AsyncIterator<T>): AsyncGenerator<T> {
  if (first.done) return;
  yield first.value;
  for (let next = await rest.next(); !next.done; next = await rest.next()) yield next.value;
}

/**
 * Streams chunks as they are generated. The first engine event is awaited before any byte is
 * written, so validation, queueing and prompt-size failures still answer with a plain HTTP
 * error; a failure after that is one last error item on the stream.
 */
async function streamResponse(
  request: FastifyRequest,
  reply: FastifyReply,
  events: AsyncIterable<GenerationEvent>,
  identity: { modelVersion: string; responseId: string },
  sse: boolean,
  abort: AbortController,
): Promise<void> {
  const iterator = events[Symbol.asyncIterator]();
  const first = await iterator.next();
  reply.hijack();
  const writer = sse ? openSseStream(reply.raw) : openJsonArrayStream(reply.raw);
  try {
    for await (const chunk of toResponseChunks(startingWith(first, iterator), identity)) await writer.write(chunk);
  } catch (error) {
    if (!abort.signal.aborted) {
      const apiError = toApiError(error);
      request.log.error({ err: error }, "generation failed mid-stream");
      await writer.write(errorBody(apiError));
    }
  } finally {
    writer.end();
    await iterator.return?.();
  }
}
