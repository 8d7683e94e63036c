import type { GenerationEvent, TokenUsage } from "../engines/engine.js";
import { atEndOfTurn, endOfTurn, IMMEDIATE_TEXTS } from "../base/chunk-timing.js";
import { joinLogprobs } from "./candidates.js";

/**
 * The chunk policy: when generated text leaves as a chunk, for every surface (HTTP routes, Live
 * sessions, the CLI's in-process stream). The numbers are base/chunk-timing.ts's, shared with
 * the runner's transport; a surface adds only its own wire rule (Gemini's held-back last character).
 */

type TextEvent = Extract<GenerationEvent, { type: "text" | "thought" }>;

/**
 * Merges text produced within `windowMs` of the last chunk sent into one chunk, as Google's
 * chunks hold several tokens. The first texts go out at once (IMMEDIATE_TEXTS), and so does any
 * text that arrives after a longer gap, so a slow model streams token by token while a fast one
 * stops paying per-chunk costs (JSON, framing, the client's parser) for every token. "At once"
 * is at the end of the event-loop turn, so that texts arriving together become one chunk. A
 * reasoning model's thoughts are merged the same way, never with the answer's text.
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
        cancel = atEndOfTurn(() => resolve("window"));
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
      windowEnd ??= openWindow(sent < IMMEDIATE_TEXTS ? 0 : windowMs - (performance.now() - lastSent));
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

/**
 * A piece a surface holds back (Gemini's last character) while nothing else of its stream has
 * left: it waits only until the end of this event-loop turn, then leaves whole, so time to first
 * token never waits for a second token. Resolves with `value` then.
 */
export function heldFirstPieceDeadline<T>(value: T): Promise<T> {
  return endOfTurn(value);
}
