import type { Engine, GenerateRequest, GenerationEvent, ModelInfo } from "../engines/engine.js";
import { invalidArgument } from "../base/api-error.js";
import { coalesceText } from "./chunk-policy.js";
import { extractCalls, withToolPrompt } from "./tool-calls.js";
import { meteredEvents } from "./metered-events.js";
import { promptMediaTokens, withPromptMedia } from "./media-usage.js";
import type { ServerMetrics } from "./metrics.js";
import { RequestLifecycle, type LifecycleReply, type LifecycleRequest } from "./request-lifecycle.js";
import type { StreamTracker } from "./stream-tracker.js";

export interface GenerationContext {
  request: LifecycleRequest;
  reply: LifecycleReply;
  engine: Engine;
  metrics: ServerMetrics;
  streams: StreamTracker;
  startedAt: number;
  /** Text arriving within this many ms of the last chunk joins the next chunk (see coalesceText). */
  chunkWindowMs: number;
}

/**
 * The part every generation route shares, whatever its wire: a lifecycle (disconnect, deadline,
 * shutdown) whose signal reaches the engine, function calling for engines without their own,
 * one generation per candidate, metered events, and cleanup when the reply is done.
 */
export async function serveGeneration<T>(
  context: GenerationContext,
  buildRequest: (signal: AbortSignal) => GenerateRequest,
  respond: (candidates: AsyncIterable<GenerationEvent>[], lifecycle: RequestLifecycle) => Promise<T>,
): Promise<T> {
  const { request, reply, engine, metrics, streams, startedAt, chunkWindowMs } = context;
  const lifecycle = new RequestLifecycle(request, reply, streams);
  try {
    const candidates = generationStreams({ engine, metrics, startedAt, chunkWindowMs }, buildRequest(lifecycle.signal));
    return await respond(candidates, lifecycle);
  } finally {
    lifecycle.finish();
  }
}

export interface GenerationStreamsContext {
  engine: Engine;
  metrics: ServerMetrics;
  startedAt: number;
  chunkWindowMs: number;
}

/**
 * The engine's events for each candidate of a request, as every surface streams them: output
 * limit checked, function calling done here for engines without their own, the prompt's media
 * tokens on their usage, metered, text coalesced. Used by serveGeneration (HTTP)
 * and by the Live API's sessions (WebSocket).
 */
export function generationStreams(context: GenerationStreamsContext, generateRequest: GenerateRequest): AsyncIterable<GenerationEvent>[] {
  const { engine, metrics, startedAt, chunkWindowMs } = context;
  checkOutputLimit(generateRequest, engine.info);
  const localTools = generateRequest.tools && !engine.info.nativeTools ? generateRequest.tools : undefined;
  const format = engine.info.toolCallFormat;
  const engineRequest = localTools ? withToolPrompt(generateRequest, format) : generateRequest;
  const promptMedia = promptMediaTokens(engineRequest.prompt);
  return candidateRequests(engineRequest).map((one) => {
    const generated = promptMedia ? withPromptMedia(engine.generate(one), promptMedia) : engine.generate(one);
    const events = meteredEvents(generated, metrics, engine.info.id, startedAt);
    return coalesceText(localTools ? extractCalls(events, localTools, engineRequest.malformedCallsEnd, format) : events, chunkWindowMs);
  });
}

/** One request per candidate; with a seed, candidate i samples with seed + i so that they differ. */
function candidateRequests(request: GenerateRequest): GenerateRequest[] {
  const count = request.candidateCount ?? 1;
  if (count <= 1) return [request];
  const seed = request.sampling.seed;
  return Array.from({ length: count }, (_, i) => ({ ...request, sampling: { ...request.sampling, seed: seed === undefined ? undefined : seed + i } }));
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
