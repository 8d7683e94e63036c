import type { Engine, GenerateRequest, GenerationEvent } from "../engines/engine.js";
import type { Content } from "../gemini/protocol.js";
import type { LiveServerMessage } from "./protocol.js";
import type { ResumptionStore } from "./resumption.js";
import { DEFAULTS } from "../base/config.js";

/** What a Live session needs from the plugin that hosts it: a transport, limits, an engine and its generation. */

/** Where a session's messages go: framed and sent by the plugin (see framer.ts). */
export interface LiveTransport {
  send(message: LiveServerMessage): void;
  /** Resolves when the client has read enough for more to be sent (backpressure). */
  ready(): Promise<void>;
  close(code: number, reason: string): void;
}

export interface LiveLimits {
  /** Time a client has to send its setup message. */
  setupTimeoutMs: number;
  /** A session with no input and no reply in progress for this long is ended. */
  idleTimeoutMs: number;
  /** A session's whole life; `goAway` is sent `goAwayNoticeMs` before it ends. */
  maxSessionMs: number;
  goAwayNoticeMs: number;
}

export const DEFAULT_LIVE_LIMITS: LiveLimits = {
  setupTimeoutMs: DEFAULTS.liveSetupTimeoutMs,
  idleTimeoutMs: DEFAULTS.liveIdleTimeoutMs,
  maxSessionMs: DEFAULTS.liveSessionTimeoutMs,
  goAwayNoticeMs: DEFAULTS.liveGoAwayNoticeMs,
};

export interface LiveSessionDeps {
  transport: LiveTransport;
  /** The engine serving a model name, undefined when none does. */
  resolveEngine(model: string): Engine | undefined;
  /** One reply's events (the serving layer's generation: admission, tools, metering, chunking). */
  generate(engine: Engine, request: GenerateRequest): AsyncIterable<GenerationEvent>;
  /** Registers a running reply so shutdown can end it; returns the unregistering function. */
  track(controller: AbortController): () => void;
  /** The API version of the path the session came in on, for Google's not-found wording. */
  version: string;
  limits: LiveLimits;
  onTurn?(): void;
  onFault?(error: unknown): void;
  /** Where resumable sessions keep their state across reconnects. */
  resumption?: ResumptionStore;
  /** The bytes of the uploaded files that fileData parts name (absent: fileData is refused). */
  loadFiles?(contents: Content[]): Promise<ReadonlyMap<string, { mimeType: string; data: string }>>;
}
