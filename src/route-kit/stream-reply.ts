import type { FastifyReply, FastifyRequest } from "fastify";
import { errorBody, toApiError, type ApiError } from "./errors.js";
import type { RequestLifecycle } from "../serving/request-lifecycle.js";
import { openJsonArrayStream, openSseStream, type StreamWriter } from "./sse.js";

/**
 * Streams items to the client as they are produced. The first item is awaited before any byte
 * is written, so admission, deadline and validation failures still answer as plain HTTP
 * errors; a failure after that is one last error item on the stream.
 */
export async function streamReply(
  request: FastifyRequest,
  reply: FastifyReply,
  items: AsyncIterable<unknown>,
  lifecycle: RequestLifecycle,
  format: "sse" | "json-array",
  errorItem: (error: ApiError) => unknown = errorBody,
): Promise<void> {
  const iterator = items[Symbol.asyncIterator]();
  let first: IteratorResult<unknown>;
  try {
    first = await iterator.next();
  } catch (error) {
    throw lifecycle.abortError ?? error;
  }
  if (first.done && lifecycle.abortError) throw lifecycle.abortError;

  reply.hijack();
  const writer: StreamWriter = format === "sse" ? openSseStream(reply.raw) : openJsonArrayStream(reply.raw);
  let failure: ApiError | undefined;
  try {
    for (let next = first; !next.done; next = await iterator.next()) await writer.write(next.value);
  } catch (error) {
    failure = lifecycle.abortError ?? toApiError(error);
    if (!lifecycle.abortError) request.log.error({ err: error }, "generation failed mid-stream");
  } finally {
    failure ??= lifecycle.abortError;
    if (failure && !reply.raw.destroyed) await writer.write(errorItem(failure));
    writer.end();
    await iterator.return?.();
  }
}
