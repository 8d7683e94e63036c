import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";
import { toApiError, type ApiError } from "./errors.js";
import { ClientGoneError } from "../serving/request-lifecycle.js";

/**
 * A Fastify error handler that answers with `render(apiError)`: Google's error body on the
 * Gemini surface, OpenAI's on the OpenAI surface. Server faults are logged as errors with the
 * thrown error's message and stack (the client is told only toApiError's message); client
 * mistakes at info; a client that already left gets nothing.
 */
export function errorHandler(render: (error: ApiError) => unknown) {
  return (error: FastifyError | Error, request: FastifyRequest, reply: FastifyReply) => {
    if (error instanceof ClientGoneError) {
      request.log.debug("client left before its answer began");
      return reply.code(499).send();
    }
    const apiError = toApiError(error);
    if (apiError.code >= 500) request.log.error({ err: error, status: apiError.status }, `answered ${apiError.code}: ${errorText(error)}`);
    else request.log.info({ status: apiError.status }, apiError.message);
    return reply.code(apiError.code).headers(apiError.headers ?? {}).send(render(apiError));
  };
}

const errorText = (error: unknown): string => (error instanceof Error ? error.message : String(error));
