import type { LlamaContext, LlamaContextSequence, Token } from "node-llama-cpp";

interface Waiter {
  prompt: readonly Token[];
  resolve: (sequence: LlamaContextSequence) => void;
  reject: (reason: unknown) => void;
}

/**
 * Hands out the context's sequences, one per running stream; the context batches all of them
 * into each decode step. A free sequence whose KV cache already starts like the new prompt is
 * preferred, so a chat's next turn reuses its history. Requests beyond the sequence count wait
 * in FIFO order.
 *
 * Trimming a reused sequence's stale tail needs the context's lock, which node-llama-cpp's batch
 * loop holds for as long as any stream keeps queueing decodes: under load a trim would wait for
 * every other stream to finish. So running generations yield between tokens while a trim is
 * pending (`trimPending`), the batch loop drains, and the trim gets the lock at once.
 */
export class SequencePool {
  private readonly free: LlamaContextSequence[] = [];
  private readonly waiters: Waiter[] = [];
  private trims = 0;
  private trimsDone: Promise<void> | undefined;
  private resolveTrims: (() => void) | undefined;
  readonly size: number;

  constructor(context: LlamaContext) {
    for (let i = 0; i < context.totalSequences; i++) this.free.push(context.getSequence());
    this.size = this.free.length;
  }

  get queued(): number {
    return this.waiters.length;
  }

  get busy(): number {
    return this.size - this.free.length;
  }

  acquire(prompt: readonly Token[], signal?: AbortSignal): Promise<LlamaContextSequence> {
    signal?.throwIfAborted();
    if (this.free.length > 0) return Promise.resolve(this.takeBestFor(prompt));
    return new Promise((resolve, reject) => {
      const waiter: Waiter = { prompt, resolve, reject };
      this.waiters.push(waiter);
      signal?.addEventListener(
        "abort",
        () => {
          const at = this.waiters.indexOf(waiter);
          if (at !== -1) this.waiters.splice(at, 1);
          reject(signal.reason);
        },
        { once: true },
      );
    });
  }

  /** Erases the sequence's cache from `keep` on (its tail that the new prompt does not share). */
  async trim(sequence: LlamaContextSequence, keep: number): Promise<void> {
    if (keep >= sequence.nextTokenIndex) return;
    await this.withContextLock(() => sequence.eraseContextTokenRanges([{ start: keep, end: sequence.nextTokenIndex }]));
  }

  /** Runs work that needs the context's lock (a trim, saving or loading a sequence state) as a trim is run. */
  async withContextLock<T>(work: () => Promise<T>): Promise<T> {
    if (this.trims++ === 0) this.trimsDone = new Promise((resolve) => (this.resolveTrims = resolve));
    try {
      return await work();
    } finally {
      if (--this.trims === 0) this.resolveTrims?.();
    }
  }

  /** What a running generation awaits before asking for its next token, if a trim is pending. */
  get trimPending(): Promise<void> | undefined {
    return this.trims > 0 ? this.trimsDone : undefined;
  }

  release(sequence: LlamaContextSequence): void {
    this.free.push(sequence);
    const next = this.waiters.shift();
    if (next) next.resolve(this.takeBestFor(next.prompt));
  }

  private takeBestFor(prompt: readonly Token[]): LlamaContextSequence {
    let best = 0;
    let bestShared = -1;
    this.free.forEach((sequence, index) => {
      const shared = sequence.compareContextTokens(prompt as Token[]).firstDifferentIndex;
      if (shared > bestShared) {
        best = index;
        bestShared = shared;
      }
    });
    return this.free.splice(best, 1)[0] as LlamaContextSequence;
  }
}
