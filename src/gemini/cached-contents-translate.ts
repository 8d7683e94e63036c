import type { Engine, GenerateRequest, PromptInput, ToolCallFormat } from "../engines/engine.js";
import { invalidArgument, notFound } from "../route-kit/errors.js";
import { normaliseModelId } from "../models/registry.js";
import type { CacheEntry, CachedContents, Expiration } from "../serving/cached-contents.js";
import { withToolPrompt } from "../serving/tool-calls.js";
import type { CachedContentResource, CreateCachedContentRequest, UpdateCachedContentRequest } from "./cached-contents-protocol.js";
import type { Content, CountTokensRequest, GenerateContentRequest, Tool, ToolConfig } from "./protocol.js";
import { toPromptInput, toToolUse } from "./translate.js";

/** Translation between the `cachedContents` wire and the cache registry; a lookup aside, pure. */

/** What a cached content holds: the prompt prefix as sent, and the engine's saved KV state of it. */
export interface CachedContent {
  engine: Engine;
  /** `models/ID` as the create named it. */
  model: string;
  contents: Content[];
  systemInstruction?: Content;
  tools?: Tool[];
  toolConfig?: ToolConfig;
  /** The engine's id for the saved state (Engine.savePrefix). */
  prefix: string;
}

export const CACHE_CONFLICT =
  "CachedContent can not be used with GenerateContent request setting system_instruction, tools or tool_config.\n\nProposed fix: move those values to CachedContent from GenerateContent request.";

const DURATION = /^(-)?(\d{1,12})(?:\.(\d{1,9}))?s$/;
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:[Zz]|[+-]\d{2}:\d{2})$/;
const LATEST = Date.parse("9999-12-31T23:59:59.999Z");

/** `ttl` or `expireTime` (one of them, as Google's `expiration` oneof) → when the cache expires. */
export function toExpiration(body: { ttl?: string; expireTime?: string }, now: number): Expiration | undefined {
  const { ttl, expireTime } = body;
  if (ttl !== undefined && expireTime !== undefined) {
    throw invalidArgument("Invalid JSON payload received. Oneof field 'expiration' is already set. Cannot set 'expireTime'");
  }
  if (ttl !== undefined) {
    const match = DURATION.exec(ttl);
    if (!match) throw invalidArgument(`Invalid value at 'cached_content.ttl' (type.googleapis.com/google.protobuf.Duration), ${JSON.stringify(ttl)}`);
    const ttlMs = Number(match[2]) * 1000 + Number((match[3] ?? "").padEnd(9, "0")) / 1e6;
    if (match[1] || ttlMs <= 0) throw invalidArgument(`cached_content.ttl must be a positive duration, got ${JSON.stringify(ttl)}.`);
    if (now + ttlMs > LATEST) throw invalidArgument(`cached_content.ttl ${JSON.stringify(ttl)} is too long: the cache would expire after the year 9999.`);
    return { ttlMs };
  }
  if (expireTime !== undefined) {
    const at = TIMESTAMP.test(expireTime) ? Date.parse(expireTime) : Number.NaN;
    if (Number.isNaN(at) || at > LATEST) {
      throw invalidArgument(`Invalid value at 'cached_content.expire_time' (type.googleapis.com/google.protobuf.Timestamp), ${JSON.stringify(expireTime)}`);
    }
    if (at <= now) throw invalidArgument(`cached_content.expire_time ${expireTime} is in the past; it must be in the future.`);
    return { expireTime: at };
  }
  return undefined;
}

/** PATCH: `updateMask` (comma-separated; all set fields when absent) may name ttl or expire_time only. */
export function toUpdatedExpiration(body: UpdateCachedContentRequest, updateMask: string | undefined, now: number): Expiration {
  let fields = { ttl: body.ttl, expireTime: body.expireTime };
  if (updateMask !== undefined && updateMask.trim() !== "") {
    const paths = updateMask.split(",").map((p) => p.trim().replace(/_([a-z])/g, (_, c: string) => c.toUpperCase()));
    for (const path of paths) {
      if (path !== "ttl" && path !== "expireTime") {
        throw invalidArgument(`update_mask: "${path}" cannot be updated; a cached content's ttl or expire_time can.`);
      }
    }
    fields = { ttl: paths.includes("ttl") ? body.ttl : undefined, expireTime: paths.includes("expireTime") ? body.expireTime : undefined };
  }
  const expiration = toExpiration(fields, now);
  if (!expiration) throw invalidArgument("Nothing to update: set ttl or expire_time (and name it in update_mask).");
  return expiration;
}

/** The prompt a cached content starts every request with, as the engine evaluates it (tools included). */
export function cachedContentPrompt(body: CreateCachedContentRequest, toolFormat?: ToolCallFormat): PromptInput {
  const contents = body.contents ?? [];
  if (contents.length === 0 && body.systemInstruction === undefined) {
    throw invalidArgument("* CachedContent: set contents or system_instruction; there is nothing to cache.");
  }
  // toPromptInput checks the system instruction's parts; with no contents, no turns follow it.
  const prompt = contents.length > 0 ? toPromptInput(contents, body.systemInstruction) : { ...toPromptInput([{ parts: [{ text: "" }] }], body.systemInstruction), turns: [] };
  const tools = toToolUse(body.tools, body.toolConfig);
  return tools ? withToolPrompt({ prompt, sampling: {}, tools }, toolFormat).prompt : prompt;
}

const ID = /^[0-9a-z-]{1,64}$/;

/** `cachedContents/ID` or `ID` → ID; 404 when no live cache has it. */
export function findCachedContent(store: CachedContents<CachedContent> | undefined, name: string): CacheEntry<CachedContent> {
  const id = name.startsWith("cachedContents/") ? name.slice("cachedContents/".length) : name;
  const entry = ID.test(id) ? store?.get(id) : undefined;
  if (!entry) throw notFound(`CachedContent not found: cachedContents/${id} does not exist, has expired or was deleted.`);
  return entry;
}

export function toCachedContentResource(entry: CacheEntry<CachedContent>): CachedContentResource {
  const resource: CachedContentResource = {
    name: `cachedContents/${entry.id}`,
    model: entry.value.model,
    createTime: new Date(entry.createTime).toISOString(),
    updateTime: new Date(entry.updateTime).toISOString(),
    expireTime: new Date(entry.expireTime).toISOString(),
    usageMetadata: { totalTokenCount: entry.tokens },
  };
  if (entry.displayName !== undefined) resource.displayName = entry.displayName;
  return resource;
}

export interface WithCachedContent<T> {
  body: T;
  /** The engine's saved prefix the prompt starts with, and its tokens. */
  prefix?: string;
  cachedTokens?: number;
}

/**
 * A generate request naming `cachedContent` → the same request with the cache's system
 * instruction, tools and contents in front, as if sent in full, and the saved prefix to restore.
 */
export function applyCachedContent(
  store: CachedContents<CachedContent> | undefined,
  body: GenerateContentRequest,
  engine: Engine,
  model: string,
): WithCachedContent<GenerateContentRequest> {
  if (body.cachedContent === undefined) return { body };
  if (body.systemInstruction !== undefined || body.tools?.length || body.toolConfig !== undefined) throw invalidArgument(CACHE_CONFLICT);
  const entry = findCachedContent(store, body.cachedContent);
  const cached = entry.value;
  if (cached.engine !== engine) {
    throw invalidArgument(`Model used by GenerateContent request (models/${normaliseModelId(model)}) and CachedContent (${cached.model}) has to be the same.`);
  }
  const { cachedContent: _named, ...rest } = body;
  return {
    body: {
      ...rest,
      contents: [...cached.contents, ...body.contents],
      systemInstruction: cached.systemInstruction,
      tools: cached.tools,
      toolConfig: cached.toolConfig,
    },
    prefix: cached.prefix,
    cachedTokens: entry.tokens,
  };
}

/** countTokens with `generateContentRequest.cachedContent`: the cache's prompt counts too. */
export function applyCachedContentToCount(
  store: CachedContents<CachedContent> | undefined,
  body: CountTokensRequest,
  engine: Engine,
  model: string,
): WithCachedContent<CountTokensRequest> {
  if (body.generateContentRequest?.cachedContent === undefined) return { body };
  const applied = applyCachedContent(store, body.generateContentRequest, engine, model);
  return { ...applied, body: { ...body, generateContentRequest: applied.body } };
}

/** The engine request, told which saved prefix its prompt starts with. */
export function withSavedPrefix(request: GenerateRequest, prefix: string | undefined): GenerateRequest {
  return prefix === undefined ? request : { ...request, prompt: { ...request.prompt, savedPrefix: prefix } };
}
