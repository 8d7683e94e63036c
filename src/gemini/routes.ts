import type { FastifyInstance } from "fastify";
import type { Engine } from "../engines/engine.js";
import { checkGeminiKey, type ApiKeys } from "../route-kit/auth.js";
import { invalidArgument, notFound } from "../route-kit/errors.js";
import type { ServerMetrics } from "../serving/metrics.js";
import { serveGeneration } from "../serving/generation.js";
import { streamReply } from "../route-kit/stream-reply.js";
import type { StreamTracker } from "../serving/stream-tracker.js";
import { parseBody } from "../route-kit/validate.js";
import type { ModelRegistry } from "../models/registry.js";
import { embedTexts } from "../serving/embedding-vectors.js";
import { BatchEmbedContentsRequestSchema, CountTokensRequestSchema, EmbedContentRequestSchema, GenerateContentRequestSchema } from "./protocol.js";
import { collectResponse, newResponseId, toCandidateChunks } from "./response-stream.js";
import { applyCachedContent, applyCachedContentToCount, withSavedPrefix, type CachedContent } from "./cached-contents-translate.js";
import type { CachedContents } from "../serving/cached-contents.js";
import { countTokensPrompt, embedText, toGenerateRequest } from "./translate.js";
import { MODEL_METHODS, toModelResource } from "./translate-response.js";
import { loadReferencedFiles, newMediaContext } from "./media.js";
import type { Content } from "./protocol.js";
import type { FileStore } from "../files/file-store.js";
import { fileUriResolver } from "../files/resolve.js";
import { promptMediaTokens, promptTokensDetails } from "../serving/media-usage.js";

export interface GeminiRoutesOptions {
  models: ModelRegistry;
  keys: ApiKeys;
  metrics: ServerMetrics;
  streams: StreamTracker;
  chunkWindowMs: number;
  /** Cached contents a request may name (context caching). */
  caches?: CachedContents<CachedContent>;
  /** Uploaded files a fileData part may name. */
  files?: FileStore;
}

/** `gemini-2.5-flash:streamGenerateContent` → [model, method]. */
function splitTarget(target: string): [string, string] {
  const at = target.lastIndexOf(":");
  return at === -1 ? [target, ""] : [target.slice(0, at), target.slice(at + 1)];
}

async function embed(engine: Engine, method: string, rawBody: unknown) {
  if (!engine.info.canEmbed) throw invalidArgument(`${engine.info.id} does not support embedContent.`);
  const requests =
    method === "embedContent" ? [parseBody(EmbedContentRequestSchema, rawBody)] : parseBody(BatchEmbedContentsRequestSchema, rawBody).requests;
  const texts = requests.map((r, i) => embedText(r, method === "embedContent" ? "content" : `requests[${i}].content`));
  const { vectors } = await embedTexts(engine, texts, (i) => requests[i]?.outputDimensionality);
  const embeddings = vectors.map((values) => ({ values }));
  return method === "embedContent" ? { embedding: embeddings[0] } : { embeddings };
}

/** The Gemini REST surface; registered once under /v1beta and once under /v1. */
export async function geminiRoutes(app: FastifyInstance, options: GeminiRoutesOptions): Promise<void> {
  const { models, keys, metrics, streams, chunkWindowMs } = options;
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
    const startedAt = performance.now();
    const [model, method] = splitTarget(request.params.target);
    if (!MODEL_METHODS.includes(method)) {
      throw notFound(`Method "${method || "(none)"}" is not served here; use ${MODEL_METHODS.join(", ")}.`);
    }
    const engine = engineOr404(model, method);
    if (method === "embedContent" || method === "batchEmbedContents") return embed(engine, method, request.body);
    const filesOf = (contents: Content[]) => loadReferencedFiles(contents, (uri, where) => {
      if (!options.files) throw invalidArgument(`${where}.fileData: this server keeps no files.`);
      return fileUriResolver(options.files, request.host)(uri, where);
    });
    if (method === "countTokens") {
      const counted = applyCachedContentToCount(options.caches, parseBody(CountTokensRequestSchema, request.body), engine, model);
      const contents = counted.body.generateContentRequest?.contents ?? counted.body.contents ?? [];
      const prompt = countTokensPrompt(counted.body, engine.info, newMediaContext(await filesOf(contents)));
      // Text is counted by the engine; media at the fixed rates of serving/media-parts, on every engine alike.
      const textTokens = await engine.countTokens(prompt);
      const promptMedia = promptMediaTokens(prompt);
      const totalTokens = textTokens + Object.values(promptMedia ?? {}).reduce((sum, n) => sum + n, 0);
      const cached = counted.cachedTokens === undefined ? {} : { cachedContentTokenCount: counted.cachedTokens };
      return { totalTokens, ...cached, promptTokensDetails: promptTokensDetails(totalTokens, promptMedia) };
    }
    const alt = request.query.alt;
    if (alt !== undefined && alt !== "sse" && alt !== "json") {
      throw invalidArgument(`Invalid value for alt: "${alt}" (use sse or json).`);
    }
    const { body, prefix } = applyCachedContent(options.caches, parseBody(GenerateContentRequestSchema, request.body), engine, model);
    const files = await filesOf(body.contents);
    const identity = { modelVersion: engine.info.id, responseId: newResponseId() };
    const display = { includeThoughts: body.generationConfig?.thinkingConfig?.includeThoughts ?? false };
    const context = { request, reply, engine, metrics, streams, startedAt, chunkWindowMs };
    return serveGeneration(
      context,
      (signal) => withSavedPrefix({ ...toGenerateRequest(body, signal, newMediaContext(files, engine.info)), malformedCallsEnd: true }, prefix),
      async (candidates, lifecycle) => {
        if (method === "generateContent") {
          const response = await collectResponse(candidates, identity, display);
          if (!response) throw lifecycle.abortError ?? new Error("The generation ended without a result.");
          return response;
        }
        await streamReply(request, reply, toCandidateChunks(candidates, identity, display), lifecycle, alt === "sse" ? "sse" : "json-array");
        return undefined;
      },
    );
  });
}
