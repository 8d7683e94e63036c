import { afterEach, describe, expect, it, vi } from "vitest";
import { ResumptionStore } from "../../src/live/resumption.js";

const state = (text: string) => ({ model: "m", history: [{ role: "user", parts: [{ text }] }] });

describe("ResumptionStore", () => {
  afterEach(() => vi.useRealTimers());

  it("a handle gives its state back once, as it was when issued", () => {
    const store = new ResumptionStore();
    const live = state("a");
    const handle = store.issue(live);
    live.history.push({ role: "model", parts: [{ text: "later" }] });
    expect(store.take(handle)).toEqual(state("a"));
    expect(store.take(handle)).toBeUndefined();
  });

  it("a new handle replaces the session's previous one", () => {
    const store = new ResumptionStore();
    const first = store.issue(state("a"));
    const second = store.issue(state("b"), first);
    expect(store.take(first)).toBeUndefined();
    expect(store.take(second)?.history[0]?.parts?.[0]).toEqual({ text: "b" });
  });

  it("handles expire, and the oldest go first past the cap", () => {
    vi.useFakeTimers();
    const store = new ResumptionStore({ ttlMs: 1000, maxHandles: 2 });
    const old = store.issue(state("old"));
    vi.advanceTimersByTime(1001);
    expect(store.take(old)).toBeUndefined();
    const [a, b, c] = [store.issue(state("a")), store.issue(state("b")), store.issue(state("c"))];
    expect(store.size).toBe(2);
    expect(store.take(a)).toBeUndefined();
    expect(store.take(b)).toBeDefined();
    expect(store.take(c)).toBeDefined();
  });
});
