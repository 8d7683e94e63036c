import type { GenerationEvent, TokenUsage } from "../engines/engine.js";
import { joinLogprobs } from "./candidates.js";

type TextEvent = Extract<GenerationEvent, { type: "text" | "thought" }>;

/**
 * Merges text produced within `windowMs` of the last chunk sent into one chunk, as Google's
 * chunks hold several tokens. The first two texts go out at once (time to first token is not
 * delayed, and the Gemini surface, which holds back the last character of the text so far, has
 * its first whole piece out by the second), and so does any text that arrives
 * after a longer gap, so a slow model streams token by token while a fast one stops paying
 * per-chunk costs (JSON, framing, the client's parser) for every token. "At once" is at the end
 * of the event-loop turn, so that texts arriving together become one chunk. A reasoning model's
 * thoughts are merged the same way, never with the answer's text.
 */
export async function* coalesceText(events: AsyncIterable<GenerationEvent>, windowMs: number): AsyncGenerator<GenerationEvent> {
  if (windowMs <= 0) {
    yield* events;
    return;
  }
  const source = events[Symbol.asyncIterator]();
  let next = source.next();
  let held: TextEvent | undefined;
  let lastSent = -Infinity;
  let sent = 0;
  let windowEnd: { promise: Promise<"window">; cancel: () => void } | undefined;
  // A window that is already over still closes at the end of this event-loop turn, not at once:
  // texts that arrive together (a runner's batch) then leave as one chunk.
  const openWindow = (ms: number) => {
    let cancel!: () => void;
    const promise = new Promise<"window">((resolve) => {
      if (ms > 0) {
        const timer = setTimeout(() => resolve("window"), ms);
        cancel = () => clearTimeout(timer);
      } else {
        const immediate = setImmediate(() => resolve("window"));
        cancel = () => clearImmediate(immediate);
      }
    });
    return { promise, cancel };
  };
  const release = (): TextEvent => {
    const out = held as TextEvent;
    held = undefined;
    windowEnd?.cancel();
    windowEnd = undefined;
    lastSent = performance.now();
    sent++;
    return out;
  };
  try {
    for (;;) {
      const result = windowEnd ? await Promise.race([next, windowEnd.promise]) : await next;
      if (result === "window") {
        yield release();
        continue;
      }
      if (result.done) {
        if (held) yield release();
        return;
      }
      next = source.next();
      const event = result.value;
      if (event.type !== "text" && event.type !== "thought") {
        if (held) yield release();
        yield event;
        continue;
      }
      if (held && held.type !== event.type) yield release();
      held = held ? joinText(held, event) : event;
      windowEnd ??= openWindow(sent < 2 ? 0 : windowMs - (performance.now() - lastSent));
    }
  } finally {
    windowEnd?.cancel();
    await source.return?.();
  }
}

function joinText(held: TextEvent, next: TextEvent): TextEvent {
  if (held.type === "thought") return { type: "thought", text: held.text + next.text, usage: next.usage as TokenUsage };
  const joined: TextEvent = { type: "text", text: held.text + next.text, usage: next.usage as TokenUsage };
  const logprobs = joinLogprobs(held.logprobs, next.type === "text" ? next.logprobs : undefined);
  if (logprobs) joined.logprobs = logprobs;
  return joined;
}
