import type { FastifyReply, FastifyRequest } from "fastify";
import type { Engine, GenerateRequest, GenerationEvent, ModelInfo } from "../engines/engine.js";
import { invalidArgument } from "./errors.js";
import { coalesceText } from "../serving/coalesce-text.js";
import { meteredEvents } from "../serving/metered-events.js";
import type { ServerMetrics } from "./metrics.js";
import { RequestLifecycle } from "./request-lifecycle.js";
import type { StreamTracker } from "./stream-tracker.js";

export interface GenerationContext {
  request: FastifyRequest;
  reply: FastifyReply;
  engine: Engine;
  metrics: ServerMetrics;
  streams: StreamTracker;
  startedAt: number;
  /** Text arriving within this many ms of the last chunk joins the next chunk (see coalesceText). */
  chunkWindowMs: number;
}

/**
 * The part every generation route shares, whatever its wire: a lifecycle (disconnect, deadline,
 * shutdown) whose signal reaches the engine, metered events, and cleanup when the reply is done.
 */
export async function serveGeneration<T>(
  context: GenerationContext,
  buildRequest: (signal: AbortSignal) => GenerateRequest,
  respond: (events: AsyncIterable<GenerationEvent>, lifecycle: RequestLifecycle) => Promise<T>,
): Promise<T> {
  const { request, reply, engine, metrics, streams, startedAt, chunkWindowMs } = context;
  const lifecycle = new RequestLifecycle(request, reply, streams);
  try {
    const generateRequest = buildRequest(lifecycle.signal);
    checkOutputLimit(generateRequest, engine.info);
    const events = coalesceText(meteredEvents(engine.generate(generateRequest), metrics, engine.info.id, startedAt), chunkWindowMs);
    return await respond(events, lifecycle);
  } finally {
    lifecycle.finish();
  }
}

/** A requested output length beyond the model's limit is refused, as Google refuses it. */
function checkOutputLimit(request: GenerateRequest, info: ModelInfo): void {
  const asked = request.sampling.maxOutputTokens;
  if (asked !== undefined && asked > info.outputTokenLimit) {
    throw invalidArgument(
      `Unable to submit request because it has a maxOutputTokens value of ${asked} but the supported range is from 1 (inclusive) to ${info.outputTokenLimit + 1} (exclusive) for ${info.id}.`,
    );
  }
}
