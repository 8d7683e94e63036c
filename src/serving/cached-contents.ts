import { randomId } from "../base/random-id.js";
import { ApiError, invalidArgument, unavailable } from "../base/api-error.js";
import { DEFAULTS } from "../base/config.js";

/** Google's default when a create names neither `ttl` nor `expireTime`. */
export const DEFAULT_TTL_MS = DEFAULTS.cachedContentTtlMs;
/** Cached tokens over all caches, unless `--cache-max-tokens` says otherwise. */
export const DEFAULT_CACHE_MAX_TOKENS = DEFAULTS.cacheMaxTokens;
const MAX_PAGE_SIZE = 1000;
const DEFAULT_PAGE_SIZE = 100;
/** setTimeout's longest delay; longer expiries re-arm. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** When an entry expires: a duration from when it is written, or an absolute time (epoch ms). */
export type Expiration = { ttlMs: number } | { expireTime: number };

export interface CacheEntry<T> {
  /** The `{id}` of `cachedContents/{id}`. */
  readonly id: string;
  readonly displayName?: string;
  readonly createTime: number;
  updateTime: number;
  expireTime: number;
  readonly tokens: number;
  /** What the entry holds (the prompt prefix and the engine's saved state). */
  readonly value: T;
}

export interface CachedContentsOptions<T> {
  /** Tokens all entries may hold together. */
  maxTokens: number;
  /** Frees what an entry holds once it expires, is deleted, or the cache closes. */
  release: (value: T) => Promise<void> | void;
  onReleaseError?: (error: unknown) => void;
  now?: () => number;
}

const newId = (): string => randomId(10, "hex");

/**
 * The registry behind `cachedContents`: ids, expiry (a timer per entry frees it on time; a read
 * never returns an expired one), and the limit on cached tokens, reserved before the engine
 * spends time evaluating a prefix so that concurrent creates cannot overshoot it.
 */
export class CachedContents<T> {
  private readonly entries = new Map<string, CacheEntry<T>>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  /** Tokens held by entries and by creates in progress. */
  private reserved = 0;
  private closed = false;
  private readonly now: () => number;

  constructor(private readonly options: CachedContentsOptions<T>) {
    this.now = options.now ?? Date.now;
  }

  get usedTokens(): number {
    return this.reserved;
  }

  get maxTokens(): number {
    return this.options.maxTokens;
  }

  /**
   * Reserves `estimate` tokens (429 when they do not fit), runs `make` (the engine evaluates and
   * saves the prefix), then keeps its result under a new id; the reservation follows the real count.
   */
  async create(
    estimate: number,
    make: () => Promise<{ tokens: number; value: T }>,
    fields: { displayName?: string; expiration: Expiration },
  ): Promise<CacheEntry<T>> {
    this.take(estimate);
    let made: { tokens: number; value: T };
    try {
      made = await make();
    } catch (error) {
      this.reserved -= estimate;
      throw error;
    }
    this.reserved -= estimate;
    if (this.closed) {
      this.free(made.value);
      throw unavailable("The server is shutting down.");
    }
    try {
      this.take(made.tokens);
    } catch (error) {
      this.free(made.value);
      throw error;
    }
    const now = this.now();
    const entry: CacheEntry<T> = {
      id: newId(),
      displayName: fields.displayName,
      createTime: now,
      updateTime: now,
      expireTime: expiryOf(fields.expiration, now),
      tokens: made.tokens,
      value: made.value,
    };
    this.entries.set(entry.id, entry);
    this.arm(entry);
    return entry;
  }

  get(id: string): CacheEntry<T> | undefined {
    const entry = this.entries.get(id);
    if (entry && entry.expireTime <= this.now()) {
      this.remove(entry);
      return undefined;
    }
    return entry;
  }

  /** Entries in creation order, `pageSize` at a time; the token names the last entry returned. */
  list(pageSize: number | undefined, pageToken: string | undefined): { entries: CacheEntry<T>[]; nextPageToken?: string } {
    const size = Math.min(Math.max(pageSize ?? DEFAULT_PAGE_SIZE, 1), MAX_PAGE_SIZE);
    const live = [...this.entries.keys()].map((id) => this.get(id)).filter((e): e is CacheEntry<T> => e !== undefined);
    let start = 0;
    if (pageToken) {
      const cursor = /^(\d+):([0-9a-f]+)$/.exec(Buffer.from(pageToken, "base64url").toString());
      if (!cursor) throw invalidArgument(`Invalid page token: "${pageToken}".`);
      // The entry the token names may be gone by now: then resume after everything created up to it.
      const at = live.findIndex((e) => e.id === cursor[2]);
      start = at !== -1 ? at + 1 : live.filter((e) => e.createTime <= Number(cursor[1])).length;
    }
    const entries = live.slice(start, start + size);
    const last = entries.at(-1);
    const more = start + size < live.length && last !== undefined;
    return more ? { entries, nextPageToken: Buffer.from(`${last.createTime}:${last.id}`).toString("base64url") } : { entries };
  }

  /** A new expiry for an entry (PATCH ttl / expireTime). */
  update(id: string, expiration: Expiration): CacheEntry<T> | undefined {
    const entry = this.get(id);
    if (!entry) return undefined;
    const now = this.now();
    entry.expireTime = expiryOf(expiration, now);
    entry.updateTime = now;
    this.arm(entry);
    return entry;
  }

  delete(id: string): boolean {
    const entry = this.get(id);
    if (entry) this.remove(entry);
    return entry !== undefined;
  }

  /** Frees every entry; later creates fail. */
  close(): void {
    this.closed = true;
    for (const entry of [...this.entries.values()]) this.remove(entry);
  }

  private take(tokens: number): void {
    if (this.closed) throw unavailable("The server is shutting down.");
    const { maxTokens } = this.options;
    if (this.reserved + tokens > maxTokens) {
      throw new ApiError(
        "RESOURCE_EXHAUSTED",
        `Cached content of ${tokens} tokens does not fit: ${this.reserved} of this server's ${maxTokens} cached tokens are in use (--cache-max-tokens). Delete a cached content or wait for one to expire.`,
      );
    }
    this.reserved += tokens;
  }

  private arm(entry: CacheEntry<T>): void {
    clearTimeout(this.timers.get(entry.id));
    const delay = Math.max(0, Math.min(entry.expireTime - this.now(), MAX_TIMER_MS));
    const timer = setTimeout(() => {
      if (this.entries.get(entry.id) !== entry) return;
      if (entry.expireTime <= this.now()) this.remove(entry);
      else this.arm(entry);
    }, delay);
    timer.unref();
    this.timers.set(entry.id, timer);
  }

  private remove(entry: CacheEntry<T>): void {
    if (this.entries.get(entry.id) !== entry) return;
    this.entries.delete(entry.id);
    clearTimeout(this.timers.get(entry.id));
    this.timers.delete(entry.id);
    this.reserved -= entry.tokens;
    this.free(entry.value);
  }

  private free(value: T): void {
    Promise.resolve()
      .then(() => this.options.release(value))
      .catch((error: unknown) => this.options.onReleaseError?.(error));
  }
}

function expiryOf(expiration: Expiration, now: number): number {
  return "ttlMs" in expiration ? now + expiration.ttlMs : expiration.expireTime;
}
