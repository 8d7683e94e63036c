import type { Embeddings, Engine, GenerateRequest, GenerationEvent, Occupancy, SavedPrefix, PromptInput } from "../engines/engine.js";
import { ApiError } from "../base/api-error.js";

export interface AdmissionLimits {
  /** Streams generated at once (the engine's sequences). */
  slots: number;
  /** Requests allowed to wait for a slot; beyond that, 429 at once. */
  queueSize: number;
  /** Longest wait for a slot before 429. */
  queueTimeoutMs: number;
}

interface Waiter {
  admit: () => void;
}

const busy = (message: string): ApiError =>
  new ApiError("RESOURCE_EXHAUSTED", message, undefined, { "Retry-After": "1" });

/**
 * Admission control in front of an engine: up to `slots` streams run, up to `queueSize` more
 * wait in FIFO order for at most `queueTimeoutMs`, and anything beyond is refused at once, so
 * the server keeps its promises under overload instead of queueing without bound.
 */
export class AdmittedEngine implements Engine {
  private running = 0;
  private readonly waiters: Waiter[] = [];
  /** Present when the inner engine can cache prefixes; evaluating one takes a stream slot. */
  readonly savePrefix?: (prompt: PromptInput) => Promise<SavedPrefix>;
  readonly dropSavedPrefix?: (id: string) => Promise<void>;

  constructor(
    private readonly inner: Engine,
    private readonly limits: AdmissionLimits,
  ) {
    const { savePrefix, dropSavedPrefix } = inner;
    if (savePrefix && dropSavedPrefix) {
      this.savePrefix = async (prompt) => {
        await this.enter();
        try {
          return await savePrefix.call(inner, prompt);
        } finally {
          this.leave();
        }
      };
      this.dropSavedPrefix = (id) => dropSavedPrefix.call(inner, id);
    }
  }

  get info() {
    return this.inner.info;
  }

  occupancy(): Occupancy {
    return { active: this.inner.occupancy().active, queued: this.waiters.length };
  }

  countTokens(prompt: PromptInput): Promise<number> {
    return this.inner.countTokens(prompt);
  }

  embed(texts: string[]): Promise<Embeddings> {
    return this.inner.embed(texts);
  }

  async *generate(request: GenerateRequest): AsyncGenerator<GenerationEvent> {
    await this.enter(request.signal);
    try {
      yield* this.inner.generate(request);
    } finally {
      this.leave();
    }
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  private enter(signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    if (this.running < this.limits.slots) {
      this.running++;
      return Promise.resolve();
    }
    const { slots, queueSize, queueTimeoutMs } = this.limits;
    if (this.waiters.length >= queueSize) {
      return Promise.reject(busy(`All ${slots} streams of ${this.info.id} are busy and ${queueSize} requests are waiting. Retry later.`));
    }
    return new Promise<void>((resolve, reject) => {
      const leaveQueue = (): void => {
        const at = this.waiters.indexOf(waiter);
        if (at !== -1) this.waiters.splice(at, 1);
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
      };
      const onAbort = (): void => {
        leaveQueue();
        reject(signal?.reason);
      };
      const waiter: Waiter = {
        admit: () => {
          leaveQueue();
          this.running++;
          resolve();
        },
      };
      const timer = setTimeout(() => {
        leaveQueue();
        reject(busy(`No stream of ${this.info.id} became free within ${queueTimeoutMs / 1000} s. Retry later.`));
      }, queueTimeoutMs);
      signal?.addEventListener("abort", onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  private leave(): void {
    this.running--;
    this.waiters[0]?.admit();
  }
}
