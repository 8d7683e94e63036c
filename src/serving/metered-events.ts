import type { GenerationEvent } from "../engines/engine.js";
import type { ServerMetrics } from "./metrics.js";

/** Generated tokens reach the counter at most this often per stream (and at its end), not per event. */
const COUNT_EVERY_MS = 100;

/** Passes engine events through, recording tokens, reuse, time to first token and inter-token gaps. */
export async function* meteredEvents(
  events: AsyncIterable<GenerationEvent>,
  metrics: ServerMetrics,
  model: string,
  startedAt = performance.now(),
): AsyncGenerator<GenerationEvent> {
  const labels = { model };
  const gaps = metrics.interTokenLatency.series(model);
  let produced = 0;
  let counted = 0;
  let countedAt = startedAt;
  const count = (now: number): void => {
    if (produced > counted) metrics.generatedTokens.inc(labels, produced - counted);
    counted = produced;
    countedAt = now;
  };
  let lastTextAt: number | undefined;
  try {
    for await (const event of events) {
      if (event.type === "start") {
        if (event.usage.cachedPromptTokens > 0) metrics.reusedPromptTokens.inc(labels, event.usage.cachedPromptTokens);
      } else {
        produced = event.usage.outputTokens + (event.usage.thoughtTokens ?? 0);
        if (event.type === "text" || event.type === "thought") {
          const now = performance.now();
          // An engine that delivers text in batches says when it made each piece: the gaps are
          // the engine's pace, not the batches'. Time to first token is when it got here.
          const at = event.type === "text" ? event.at : undefined;
          const made = at === undefined ? now : at - performance.timeOrigin;
          if (lastTextAt === undefined) metrics.timeToFirstToken.observe(labels, (now - startedAt) / 1000);
          else gaps.observe(Math.max(0, made - lastTextAt) / 1000);
          lastTextAt = made;
          if (now - countedAt >= COUNT_EVERY_MS) count(now);
        } else if (event.type === "end") {
          count(performance.now());
        }
      }
      yield event;
    }
  } finally {
    count(performance.now());
  }
}
