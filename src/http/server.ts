import { randomUUID } from "node:crypto";
import path from "node:path";
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply } from "fastify";
import type { Logger } from "pino";
import { geminiRoutes } from "../gemini/routes.js";
import { cachedContentsRoutes } from "../gemini/cached-contents-routes.js";
import type { CachedContent } from "../gemini/cached-contents-translate.js";
import { CachedContents, DEFAULT_CACHE_MAX_TOKENS } from "../serving/cached-contents.js";
import { openAiRoutes } from "../openai/routes.js";
import { playgroundPlugin } from "../web/playground-plugin.js";
import { DEFAULT_LIVE_SERVER_LIMITS, liveRoutes, type LiveServerLimits } from "../live/routes.js";
import { DEFAULT_LIVE_LIMITS } from "../live/session-deps.js";
import type { ModelRegistry } from "../models/registry.js";
import { DEFAULT_CHUNK_WINDOW_MS } from "../base/chunk-timing.js";
import cors from "@fastify/cors";
import { ApiKeys, speaksOpenAi } from "../route-kit/auth.js";
import { clientErrorHandler, createHttpServer, DEFAULT_LIMITS, type ConnectionLimits, type TlsFiles } from "./connection-limits.js";
import { errorBody, invalidArgument, notFound } from "../route-kit/errors.js";
import type { ServerMetrics } from "../serving/metrics.js";
import { errorHandler } from "../route-kit/error-handler.js";
import { RequestLogs } from "./logger.js";
import { parseJsonText } from "../base/json-depth.js";
import type { StreamTracker } from "../serving/stream-tracker.js";
import { DEFAULT_FILE_TTL_MS, DEFAULT_MAX_FILE_BYTES, DEFAULT_MAX_TOTAL_BYTES, FileStore } from "../files/file-store.js";
import { defaultDataDir } from "../files/data-dir.js";
import { KEY_FILE_NAME as THOUGHT_KEY_FILE, thoughtSigner } from "../serving/thought-signatures.js";
import { filesRoutes } from "../files/routes.js";
import { UPLOAD_REQUEST_HEADERS, UPLOAD_RESPONSE_HEADERS, uploadRoutes } from "../files/upload-routes.js";

export interface ServerOptions {
  models: ModelRegistry;
  metrics: ServerMetrics;
  streams: StreamTracker;
  apiKeys?: readonly string[];
  logger: Logger;
  limits?: Partial<ConnectionLimits>;
  /** Browser origins allowed by CORS; none (CORS off) by default. */
  corsOrigins?: readonly string[];
  /** See serving/chunk-policy.ts; 0 sends every token as its own chunk. */
  chunkWindowMs?: number;
  /** Tokens all cached contents may hold together (context caching). */
  cacheMaxTokens?: number;
  /** Uploaded files (the Files API): where, how large each and all together, how long they live. */
  files?: { dataDir?: string; maxFileBytes?: number; maxTotalBytes?: number; ttlMs?: number };
  /** Live API (WebSocket) limits. */
  live?: Partial<LiveServerLimits>;
  /** The goAway notice a shutting-down server gives Live sessions (its drain timeout). */
  drainTimeoutMs?: number;
  /** A certificate and key: HTTPS and WSS on the same port instead of HTTP and WS. */
  tls?: TlsFiles;
}

/** Every REST route is served under each API version the SDKs call. */
export const API_VERSIONS = ["v1beta", "v1", "v1alpha"] as const;

/** Assembles the HTTP server: each wire surface and the operational routes are plugins. */
export async function buildServer(options: ServerOptions): Promise<FastifyInstance> {
  const limits: ConnectionLimits = { ...DEFAULT_LIMITS, ...options.limits };
  const app = Fastify({
    loggerInstance: options.logger as FastifyBaseLogger,
    logController: new RequestLogs(),
    bodyLimit: limits.maxBodyBytes,
    serverFactory: createHttpServer(limits, options.tls),
    // Errors Fastify meets before routing (a malformed URL such as /models/%zz), in Google's shape.
    frameworkErrors: (error, _request, reply) => {
      const apiError = invalidArgument(`Invalid request URL: ${error.message}`);
      return (reply as FastifyReply).code(apiError.code).send(errorBody(apiError));
    },
    clientErrorHandler: clientErrorHandler(limits),
    genReqId: (req) => {
      const given = req.headers["x-request-id"];
      return typeof given === "string" && /^[\w.-]{1,128}$/.test(given) ? given : randomUUID();
    },
    routerOptions: { ignoreTrailingSlash: true },
  });
  const { metrics, streams } = options;
  const chunkWindowMs = options.chunkWindowMs ?? DEFAULT_CHUNK_WINDOW_MS;
  const keys = new ApiKeys(options.apiKeys ?? []);

  if (options.corsOrigins?.length) {
    await app.register(cors, {
      origin: [...options.corsOrigins],
      allowedHeaders: ["content-type", "x-goog-api-key", "authorization", "x-server-timeout", "x-goog-api-client", ...UPLOAD_REQUEST_HEADERS],
      exposedHeaders: [...UPLOAD_RESPONSE_HEADERS],
    });
  }

  // Google reads the body as JSON whatever its Content-Type says; so do we. Every body of every
  // route, on both surfaces, is parsed here, behind the depth guard (see json-depth.ts).
  app.removeContentTypeParser(["application/json", "text/plain"]);
  app.addContentTypeParser("*", { parseAs: "string" }, (_request, body, done) => {
    const text = body as string;
    if (text.trim() === "") return done(null, undefined);
    try {
      done(null, parseJsonText(text));
    } catch (error) {
      done(error instanceof SyntaxError ? invalidArgument(`Invalid JSON payload received. ${error.message}`) : (error as Error), undefined);
    }
  });

  app.addHook("onRequest", async (request, reply) => {
    reply.raw.once("close", () => {
      const route = request.routeOptions.url ?? "unmatched";
      metrics.requests.inc({ route, status: String(reply.raw.statusCode) });
    });
  });

  app.setErrorHandler(errorHandler(errorBody));
  app.setNotFoundHandler((request, reply) => {
    const error = notFound(`The requested URL ${request.url.split("?")[0]} was not found on this server.`);
    return reply.code(error.code).send(errorBody(error));
  });

  // GET /v1/models is both Gemini's and OpenAI's: a request with a bearer key gets OpenAI's.
  app.addConstraintStrategy({
    name: "wire",
    mustMatchWhenDerived: false,
    storage() {
      const handlers = new Map<string, unknown>();
      return { get: (value: string) => (handlers.get(value) ?? null) as never, set: (value: string, store: unknown) => void handlers.set(value, store) };
    },
    deriveConstraint: (request: { headers: Record<string, string | string[] | undefined> }) => (speaksOpenAi(request.headers) ? "openai" : "gemini"),
  });
  // Cached contents are shared by /v1beta and /v1 and freed (their KV state files too) on close.
  const caches = new CachedContents<CachedContent>({
    maxTokens: options.cacheMaxTokens ?? DEFAULT_CACHE_MAX_TOKENS,
    release: (cached) => cached.engine.dropSavedPrefix?.(cached.prefix),
    onReleaseError: (error) => app.log.warn({ err: error }, "freeing a cached content's state failed"),
  });
  app.addHook("onClose", async () => caches.close());
  await app.register(openAiRoutes, { prefix: "/v1", models: options.models, keys, metrics, streams, chunkWindowMs });
  const dataDir = options.files?.dataDir ?? defaultDataDir();
  // Thought signatures stay readable across restarts: their key lives beside the uploaded files.
  thoughtSigner.useKeyFile(path.join(dataDir, THOUGHT_KEY_FILE));
  const files = await FileStore.open({
    dataDir,
    maxFileBytes: options.files?.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES,
    maxTotalBytes: options.files?.maxTotalBytes ?? DEFAULT_MAX_TOTAL_BYTES,
    ttlMs: options.files?.ttlMs ?? DEFAULT_FILE_TTL_MS,
  });
  app.addHook("onClose", async () => files.close());
  for (const version of API_VERSIONS) {
    const prefix = `/${version}`;
    await app.register(geminiRoutes, { prefix, models: options.models, keys, metrics, streams, chunkWindowMs, caches, files });
    await app.register(cachedContentsRoutes, { prefix, models: options.models, keys, caches });
    await app.register(filesRoutes, { prefix, store: files, keys });
    await app.register(uploadRoutes, { prefix: `/upload${prefix}`, store: files, keys });
  }
  await app.register(liveRoutes, {
    models: options.models,
    keys,
    metrics,
    streams,
    chunkWindowMs,
    limits: { ...DEFAULT_LIVE_LIMITS, ...DEFAULT_LIVE_SERVER_LIMITS, ...options.live },
    drainNoticeMs: options.drainTimeoutMs ?? 10_000,
    files,
  });
  app.get("/metrics", async (_request, reply) => {
    reply.type(metrics.registry.contentType);
    return metrics.registry.metrics();
  });
  await app.register(playgroundPlugin);
  app.get("/healthz", async () => ({ status: "ok" }));
  app.get("/readyz", async (_request, reply) => {
    const ready = options.models.loaded.length === options.models.specs.length;
    return reply.code(ready ? 200 : 503).send({ status: ready ? "ready" : "loading", models: options.models.loaded.map((e) => e.info.id) });
  });
  return app;
}
