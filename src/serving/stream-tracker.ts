import { unavailable } from "../base/api-error.js";

/**
 * The streams in flight, so shutdown can drain them: wait for them to finish, then end the
 * stragglers, each with a final 503 UNAVAILABLE event (the abort reason is what they report).
 */
export class StreamTracker {
  private readonly streams = new Set<AbortController>();
  private emptied: (() => void) | undefined;

  get size(): number {
    return this.streams.size;
  }

  track(stream: AbortController): () => void {
    this.streams.add(stream);
    return () => {
      this.streams.delete(stream);
      if (this.streams.size === 0) this.emptied?.();
    };
  }

  async drain(timeoutMs: number): Promise<void> {
    if (this.streams.size > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        this.emptied = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    const reason = unavailable("The server is shutting down; this stream was ended before it finished.");
    for (const stream of this.streams) stream.abort(reason);
  }
}
