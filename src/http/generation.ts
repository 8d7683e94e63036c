import type { FastifyReply, FastifyRequest } from "fastify";
import type { Engine, GenerateRequest, GenerationEvent } from "../engines/engine.js";
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
  const { request, reply, engine, metrics, streams, startedAt } = context;
  const lifecycle = new RequestLifecycle(request, reply, streams);
  try {
    const events = meteredEvents(engine.generate(buildRequest(lifecycle.signal)), metrics, engine.info.id, startedAt);
    return await respond(events, lifecycle);
  } finally {
    lifecycle.finish();
  }
}
