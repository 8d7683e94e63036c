/**
 * The one place that makes error bodies. Every failure the server reports, on either wire
 * surface, is an ApiError (base/api-error.ts) rendered here in Google's shape
 * {"error": {code, message, status}} or OpenAI's.
 */
import { EngineError, RequestRejectedError } from "../engines/engine.js";
import { ApiError, INTERNAL_MESSAGE, invalidArgument, OPENAI_INTERNAL_MESSAGE, type ErrorDetail, type GoogleStatus } from "../base/api-error.js";

export {
  ApiError,
  INTERNAL_MESSAGE,
  OPENAI_INTERNAL_MESSAGE,
  invalidArgument,
  notFound,
  permissionDenied,
  unauthenticated,
  unavailable,
  type ErrorDetail,
  type GoogleStatus,
} from "../base/api-error.js";
export interface GoogleErrorBody {
  error: { code: number; message: string; status: GoogleStatus; details?: ErrorDetail[] };
}

export function errorBody(error: ApiError): GoogleErrorBody {
  const body: GoogleErrorBody = { error: { code: error.code, message: error.message, status: error.status } };
  if (error.details) body.error.details = error.details;
  return body;
}

export interface OpenAiErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

const OPENAI_TYPE: Partial<Record<GoogleStatus, string>> = {
  UNAUTHENTICATED: "invalid_request_error",
  PERMISSION_DENIED: "permission_error",
  RESOURCE_EXHAUSTED: "rate_limit_error",
  INTERNAL: "server_error",
  UNAVAILABLE: "server_error",
  DEADLINE_EXCEEDED: "timeout_error",
};

/** The same error in OpenAI's shape, for the OpenAI-compatible surface. */
export function openAiErrorBody(error: ApiError): OpenAiErrorBody {
  const code = error.status === "UNAUTHENTICATED" ? "invalid_api_key" : error.status === "NOT_FOUND" ? "model_not_found" : error.status.toLowerCase();
  const message = error.status === "INTERNAL" && error.message === INTERNAL_MESSAGE ? OPENAI_INTERNAL_MESSAGE : error.message;
  return { error: { message, type: OPENAI_TYPE[error.status] ?? "invalid_request_error", param: null, code } };
}

/**
 * Maps whatever was thrown to the ApiError to report. Only messages written for the client pass:
 * ours (ApiError), an engine's refusal of a request (RequestRejectedError) or account of its own
 * failure (EngineError: "the model runner crashed"), Fastify's for a malformed request. Anything
 * else (a TypeError, a RangeError, a library's exception) is a bug, answered INTERNAL_MESSAGE.
 */
export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof Error) {
    if (error instanceof RequestRejectedError) return invalidArgument(error.message);
    if (error instanceof EngineError) return new ApiError("INTERNAL", error.message);
    const fastifyError = error as Error & { code?: string; statusCode?: number };
    if (fastifyError.code?.startsWith("FST_ERR_CTP_")) {
      if (fastifyError.code === "FST_ERR_CTP_BODY_TOO_LARGE") {
        return invalidArgument(`Request payload size exceeds the limit: ${error.message}`);
      }
      if (fastifyError.code === "FST_ERR_CTP_INVALID_MEDIA_TYPE") {
        return invalidArgument(`Invalid Content-Type: ${error.message}. Send application/json.`);
      }
      return invalidArgument(`Invalid JSON payload received. ${error.message}`);
    }
    if (fastifyError.statusCode !== undefined && fastifyError.statusCode >= 400 && fastifyError.statusCode < 500) {
      return invalidArgument(error.message);
    }
  }
  return new ApiError("INTERNAL", INTERNAL_MESSAGE);
}
