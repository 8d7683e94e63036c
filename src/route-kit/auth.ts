import { createHash, timingSafeEqual } from "node:crypto";
import type { FastifyRequest } from "fastify";
import { ApiError, permissionDenied, unauthenticated } from "./errors.js";

const digest = (value: string): Buffer => createHash("sha256").update(value).digest();

/**
 * API keys, compared in constant time: both sides are hashed to equal-length digests first,
 * so neither the content nor the length of a key leaks through timing.
 */
export class ApiKeys {
  private readonly digests: Buffer[];

  constructor(keys: readonly string[]) {
    this.digests = keys.filter((key) => key.length > 0).map(digest);
  }

  get required(): boolean {
    return this.digests.length > 0;
  }

  matches(presented: string): boolean {
    const candidate = digest(presented);
    let found = false;
    for (const known of this.digests) found = timingSafeEqual(known, candidate) || found;
    return found;
  }
}

export const invalidApiKey = (): ApiError =>
  new ApiError("INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.", [
    {
      "@type": "type.googleapis.com/google.rpc.ErrorInfo",
      reason: "API_KEY_INVALID",
      domain: "googleapis.com",
      metadata: { service: "generativelanguage.googleapis.com" },
    },
  ]);

/** Gemini clients send the key as `x-goog-api-key` or `?key=`; missing → 403, wrong → 400. */
export function checkGeminiKey(keys: ApiKeys, request: FastifyRequest): void {
  if (!keys.required) return;
  const header = request.headers["x-goog-api-key"];
  const query = (request.query as Record<string, unknown> | undefined)?.key;
  const presented = typeof header === "string" ? header : typeof query === "string" ? query : undefined;
  if (presented === undefined || presented === "") {
    throw permissionDenied(
      "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.",
    );
  }
  if (!keys.matches(presented)) throw invalidApiKey();
}

/** OpenAI clients send `Authorization: Bearer KEY`; missing or wrong → 401, as OpenAI answers. */
export function checkBearerKey(keys: ApiKeys, request: FastifyRequest): void {
  if (!keys.required) return;
  const match = /^Bearer\s+(.+)$/i.exec(request.headers.authorization ?? "");
  if (!match?.[1]) throw unauthenticated("You didn't provide an API key. Send it as 'Authorization: Bearer YOUR_KEY'.");
  if (!keys.matches(match[1].trim())) throw unauthenticated("Incorrect API key provided.");
}

/** Which wire a request on a shared path (GET /v1/models) speaks: OpenAI clients send a bearer key. */
export function speaksOpenAi(headers: FastifyRequest["headers"]): boolean {
  return headers["x-goog-api-key"] === undefined && /^Bearer\s/i.test(headers.authorization ?? "");
}
