import type { GenerationEvent } from "../engines/engine.js";
import type { ServerMetrics } from "../http/metrics.js";

/** Passes engine events through, recording tokens, reuse, time to first token and inter-token gaps. */
export async function* meteredEvents(
  events: AsyncIterable<GenerationEvent>,
  metrics: ServerMetrics,
  model: string,
  startedAt = performance.now(),
): AsyncGenerator<GenerationEvent> {
  const labels = { model };
  let counted = 0;
  let lastTextAt: number | undefined;
  for await (const event of events) {
    if (event.type === "start") {
      if (event.usage.cachedPromptTokens > 0) metrics.reusedPromptTokens.inc(labels, event.usage.cachedPromptTokens);
    } else {
      metrics.generatedTokens.inc(labels, event.usage.outputTokens - counted);
      counted = event.usage.outputTokens;
      if (event.type === "text") {
        const now = performance.now();
        if (lastTextAt === undefined) metrics.timeToFirstToken.observe(labels, (now - startedAt) / 1000);
        else metrics.interTokenLatency.observe(labels, (now - lastTextAt) / 1000);
        lastTextAt = now;
      }
    }
    yield event;
  }
}
