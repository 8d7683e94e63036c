import type { FastifyInstance } from "fastify";
import { checkGeminiKey, type ApiKeys } from "../route-kit/auth.js";
import { invalidArgument, notFound } from "../route-kit/errors.js";
import { parseBody } from "../route-kit/validate.js";
import { normaliseModelId, type ModelRegistry } from "../models/registry.js";
import { DEFAULT_TTL_MS, type CachedContents } from "../serving/cached-contents.js";
import { CreateCachedContentRequestSchema, UpdateCachedContentRequestSchema, type ListCachedContentsResponse } from "./cached-contents-protocol.js";
import {
  cachedContentPrompt,
  findCachedContent,
  toCachedContentResource,
  toExpiration,
  toUpdatedExpiration,
  type CachedContent,
} from "./cached-contents-translate.js";

export interface CachedContentsRoutesOptions {
  models: ModelRegistry;
  keys: ApiKeys;
  /** One store for /v1beta and /v1. */
  caches: CachedContents<CachedContent>;
}

type ById = { Params: { id: string } };

/** Context caching (`cachedContents` create, get, list, patch, delete); registered under /v1beta and /v1. */
export async function cachedContentsRoutes(app: FastifyInstance, options: CachedContentsRoutesOptions): Promise<void> {
  const { models, keys, caches } = options;
  const version = app.prefix.replace(/^\//, "");

  app.addHook("onRequest", async (request) => checkGeminiKey(keys, request));

  app.post("/cachedContents", async (request) => {
    const body = parseBody(CreateCachedContentRequestSchema, request.body);
    const expiration = toExpiration(body, Date.now()) ?? { ttlMs: DEFAULT_TTL_MS };
    const model = `models/${normaliseModelId(body.model)}`;
    const engine = models.engineFor(body.model);
    if (!engine) {
      throw notFound(`${model} is not found for API version ${version}, or is not supported for createCachedContent. Call ListModels to see the list of available models and their supported methods.`);
    }
    const savePrefix = engine.savePrefix?.bind(engine);
    if (!savePrefix) {
      throw invalidArgument(`${model} is served by an upstream engine, which cannot hold a cached content; context caching needs a local (GGUF) model.`);
    }
    const prompt = cachedContentPrompt(body, engine.info.toolCallFormat);
    const estimate = await engine.countTokens(prompt);
    if (estimate >= engine.info.inputTokenLimit) {
      throw invalidArgument(
        `The cached content has ${estimate} tokens; ${model}'s context of ${engine.info.inputTokenLimit} tokens leaves no room for a prompt after it.`,
      );
    }
    const entry = await caches.create(
      estimate,
      async () => {
        const saved = await savePrefix(prompt);
        const { contents = [], systemInstruction, tools, toolConfig } = body;
        return { tokens: saved.tokens, value: { engine, model, contents, systemInstruction, tools, toolConfig, prefix: saved.id } };
      },
      { displayName: body.displayName, expiration },
    );
    return toCachedContentResource(entry);
  });

  app.get<{ Querystring: { pageSize?: string; pageToken?: string } }>("/cachedContents", async (request) => {
    const { pageSize, pageToken } = request.query;
    const size = pageSize === undefined || pageSize === "" ? undefined : Number(pageSize);
    if (size !== undefined && (!Number.isInteger(size) || size < 0)) {
      throw invalidArgument(`Invalid value for page_size: "${pageSize}" (a whole number >= 0).`);
    }
    const page = caches.list(size || undefined, pageToken || undefined);
    const response: ListCachedContentsResponse = {};
    if (page.entries.length > 0) response.cachedContents = page.entries.map(toCachedContentResource);
    if (page.nextPageToken) response.nextPageToken = page.nextPageToken;
    return response;
  });

  app.get<ById>("/cachedContents/:id", async (request) => toCachedContentResource(findCachedContent(caches, request.params.id)));

  app.patch<ById & { Querystring: { updateMask?: string; update_mask?: string } }>("/cachedContents/:id", async (request) => {
    const body = parseBody(UpdateCachedContentRequestSchema, request.body);
    const found = findCachedContent(caches, request.params.id);
    const expiration = toUpdatedExpiration(body, request.query.updateMask ?? request.query.update_mask, Date.now());
    const entry = caches.update(found.id, expiration);
    return toCachedContentResource(entry ?? findCachedContent(caches, found.id));
  });

  app.delete<ById>("/cachedContents/:id", async (request) => {
    const { id } = findCachedContent(caches, request.params.id);
    caches.delete(id);
    return {};
  });
}
