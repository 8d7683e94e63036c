import { errors as undiciErrors } from "undici";
import { ApiError } from "../../base/api-error.js";

/** An upstream's failures in Google's terms: its HTTP statuses, its in-stream errors, and transport failures. */

/** Upstream HTTP statuses in Google's terms: 429 stays 429, 4xx is the caller's, the rest is 503. */
export function upstreamError(status: number, detail: string, id: string): ApiError {
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

export function transportError(error: unknown, id: string): ApiError {
  if (error instanceof ApiError) return error;
  const text = error instanceof Error ? error.message : String(error);
  if (error instanceof undiciErrors.BodyTimeoutError) return new ApiError("DEADLINE_EXCEEDED", `Upstream engine for ${id} went silent: ${text}`);
  return new ApiError("UNAVAILABLE", `Upstream engine for ${id} is unreachable: ${text}`);
}
