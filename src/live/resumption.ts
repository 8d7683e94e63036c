import type { Content } from "../gemini/protocol.js";
import { randomId } from "../base/random-id.js";

/** What a resumed session takes over: the conversation so far. */
export interface ResumableState {
  model: string;
  history: Content[];
}

export interface ResumptionLimits {
  /** How long a handle stays valid after it was issued. */
  ttlMs: number;
  /** Handles kept at once; the oldest goes first. */
  maxHandles: number;
}

export const DEFAULT_RESUMPTION_LIMITS: ResumptionLimits = { ttlMs: 2 * 60 * 60_000, maxHandles: 1024 };

/**
 * Session resumption: a session that asked for it gets a fresh handle after every turn, and a
 * new connection whose setup names the handle continues that conversation. Each handle is used
 * once (taking it forgets it) and replaces the handle issued before it in the same session.
 */
export class ResumptionStore {
  private readonly states = new Map<string, { state: ResumableState; expires: number }>();

  constructor(private readonly limits: ResumptionLimits = DEFAULT_RESUMPTION_LIMITS) {}

  /** Keeps `state` under a new handle (forgetting `previous`) and returns the handle. */
  issue(state: ResumableState, previous?: string): string {
    if (previous) this.states.delete(previous);
    this.prune();
    while (this.states.size >= this.limits.maxHandles) this.states.delete(this.states.keys().next().value!);
    const handle = randomId(18);
    this.states.set(handle, { state: { model: state.model, history: structuredClone(state.history) }, expires: Date.now() + this.limits.ttlMs });
    return handle;
  }

  /** The state a handle holds (once), or undefined when it is unknown, used or expired. */
  take(handle: string): ResumableState | undefined {
    const entry = this.states.get(handle);
    this.states.delete(handle);
    return entry && entry.expires > Date.now() ? entry.state : undefined;
  }

  get size(): number {
    return this.states.size;
  }

  private prune(): void {
    const now = Date.now();
    for (const [handle, entry] of this.states) {
      if (entry.expires > now) break; // insertion order is expiry order
      this.states.delete(handle);
    }
  }
}
