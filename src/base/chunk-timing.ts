import { DEFAULTS } from "./config.js";

/**
 * When streamed text may wait, in one place. Every layer that holds text back takes its numbers
 * and its moments from here: the runner's IPC batches (engines/llama/runner-main.ts), the
 * serving layer's chunks (serving/chunk-policy.ts), the Gemini surface's held-back last
 * character (gemini/response-stream.ts) and the SSE writer's socket writes (route-kit/sse.ts).
 */

/** Text arriving within this many ms of the last chunk joins the next chunk (`--chunk-window`; 0: every token its own chunk). */
export const DEFAULT_CHUNK_WINDOW_MS = DEFAULTS.chunkWindowMs;

/**
 * A stream's first texts leave at once, never held for the window: time to first token is not
 * delayed, and the Gemini surface, which holds back the last character of the text so far, has
 * its first whole piece out by the second.
 */
export const IMMEDIATE_TEXTS = 2;

/** Whether a stream's `n`th text (counting from 1) may wait up to `windowMs` to travel with more. */
export function textMayWait(n: number, windowMs: number): boolean {
  return windowMs > 0 && n > IMMEDIATE_TEXTS;
}

/**
 * Runs `fn` at the end of this event-loop turn (after the I/O that woke it), so that what arrived
 * together (a runner's batch, one upstream read) leaves together. Returns its cancel.
 */
export function atEndOfTurn(fn: () => void): () => void {
  const immediate = setImmediate(fn);
  return () => clearImmediate(immediate);
}

/** Resolves with `value` at the end of this event-loop turn (see atEndOfTurn). */
export function endOfTurn<T>(value: T): Promise<T> {
  return new Promise((resolve) => setImmediate(resolve, value));
}

/**
 * Runs `fn` once the synchronous work of this tick is done: frames produced in one burst are
 * written to the socket in one write.
 */
export function afterThisTick(fn: () => void): void {
  process.nextTick(fn);
}
