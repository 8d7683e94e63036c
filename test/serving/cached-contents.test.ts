import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ApiError } from "../../src/route-kit/errors.js";
import { CachedContents } from "../../src/serving/cached-contents.js";
import { toExpiration, toUpdatedExpiration } from "../../src/gemini/cached-contents-translate.js";

describe("CachedContents", () => {
  let released: string[];
  let cache: CachedContents<string>;
  const make = (value: string, tokens: number) => async () => ({ value, tokens });

  beforeEach(() => {
    vi.useFakeTimers({ now: 1_000_000 });
    released = [];
    cache = new CachedContents<string>({ maxTokens: 100, release: (value) => void released.push(value) });
  });
  afterEach(() => vi.useRealTimers());

  it("keeps entries until their expiry, then frees them on time", async () => {
    const a = await cache.create(10, make("a", 12), { displayName: "A", expiration: { ttlMs: 1000 } });
    expect(a).toMatchObject({ displayName: "A", tokens: 12, createTime: 1_000_000, expireTime: 1_001_000 });
    expect(cache.usedTokens).toBe(12);
    expect(cache.get(a.id)).toBe(a);
    await vi.advanceTimersByTimeAsync(999);
    expect(released).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(cache.get(a.id)).toBeUndefined();
    expect(released).toEqual(["a"]);
    expect(cache.usedTokens).toBe(0);
  });

  it("moves an expiry (patch) and re-arms far-off expiries beyond setTimeout's range", async () => {
    const a = await cache.create(5, make("a", 5), { expiration: { ttlMs: 1000 } });
    await vi.advanceTimersByTimeAsync(500);
    cache.update(a.id, { ttlMs: 2 ** 31 + 5000 });
    expect(a.updateTime).toBe(1_000_500);
    await vi.advanceTimersByTimeAsync(2 ** 31);
    expect(cache.get(a.id)).toBe(a);
    await vi.advanceTimersByTimeAsync(5000);
    expect(released).toEqual(["a"]);
  });

  it("reserves tokens before the engine works, and refuses with 429 what does not fit", async () => {
    let finish!: () => void;
    const slow = cache.create(60, () => new Promise((resolve) => (finish = () => resolve({ value: "slow", tokens: 58 }))), { expiration: { ttlMs: 1000 } });
    const refused = await cache.create(50, make("b", 50), { expiration: { ttlMs: 1000 } }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ApiError);
    expect((refused as ApiError).status).toBe("RESOURCE_EXHAUSTED");
    expect((refused as ApiError).message).toContain("60 of this server's 100 cached tokens are in use");
    finish();
    await slow;
    expect(cache.usedTokens).toBe(58);
    // A failed create gives its reservation back.
    await expect(cache.create(30, () => Promise.reject(new Error("boom")), { expiration: { ttlMs: 1000 } })).rejects.toThrow("boom");
    expect(cache.usedTokens).toBe(58);
  });

  it("lists in creation order a page at a time, and deletes", async () => {
    const ids: string[] = [];
    for (const name of ["a", "b", "c"]) {
      ids.push((await cache.create(1, make(name, 1), { expiration: { ttlMs: 10_000 } })).id);
      await vi.advanceTimersByTimeAsync(1);
    }
    const first = cache.list(2, undefined);
    expect(first.entries.map((e) => e.id)).toEqual(ids.slice(0, 2));
    expect(cache.delete(ids[1]!)).toBe(true); // the page token's entry may go; the next page still follows
    const second = cache.list(2, first.nextPageToken);
    expect(second.entries.map((e) => e.id)).toEqual([ids[2]]);
    expect(second.nextPageToken).toBeUndefined();
    expect(() => cache.list(2, "bogus")).toThrow("Invalid page token");
    await vi.advanceTimersByTimeAsync(0); // release runs off the caller's turn
    expect(released).toEqual(["b"]);
    cache.close();
    await vi.advanceTimersByTimeAsync(0);
    expect(released.sort()).toEqual(["a", "b", "c"]);
    await expect(cache.create(1, make("d", 1), { expiration: { ttlMs: 1 } })).rejects.toThrow("shutting down");
  });
});

describe("cachedContents expiration", () => {
  const now = Date.parse("2026-01-01T00:00:00Z");

  it("reads ttl as a protobuf Duration and expireTime as an RFC 3339 timestamp", () => {
    expect(toExpiration({ ttl: "300s" }, now)).toEqual({ ttlMs: 300_000 });
    expect(toExpiration({ ttl: "1.5s" }, now)).toEqual({ ttlMs: 1500 });
    expect(toExpiration({ expireTime: "2026-01-01T01:00:00+01:00" }, now - 1)).toEqual({ expireTime: now });
    expect(toExpiration({}, now)).toBeUndefined();
    expect(() => toExpiration({ ttl: "5m" }, now)).toThrow(`Invalid value at 'cached_content.ttl' (type.googleapis.com/google.protobuf.Duration), "5m"`);
    expect(() => toExpiration({ ttl: "0s" }, now)).toThrow("must be a positive duration");
    expect(() => toExpiration({ ttl: "999999999999s" }, now)).toThrow("after the year 9999");
    expect(() => toExpiration({ expireTime: "tomorrow" }, now)).toThrow("google.protobuf.Timestamp");
    expect(() => toExpiration({ expireTime: "2025-01-01T00:00:00Z" }, now)).toThrow("is in the past");
  });

  it("patches only what updateMask names, and only the expiration", () => {
    expect(toUpdatedExpiration({ ttl: "60s" }, undefined, now)).toEqual({ ttlMs: 60_000 });
    expect(toUpdatedExpiration({ ttl: "60s", expireTime: "2027-01-01T00:00:00Z" }, "expire_time", now)).toEqual({ expireTime: Date.parse("2027-01-01T00:00:00Z") });
    expect(() => toUpdatedExpiration({ displayName: "x" }, "display_name", now)).toThrow(`update_mask: "displayName" cannot be updated`);
    expect(() => toUpdatedExpiration({}, undefined, now)).toThrow("Nothing to update");
  });
});
