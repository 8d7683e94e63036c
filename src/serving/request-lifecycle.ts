import { ApiError, invalidArgument } from "../base/api-error.js";
import type { StreamTracker } from "./stream-tracker.js";

/** What a lifecycle reads of the request it serves (a Fastify request is one). */
export interface LifecycleRequest {
  headers: Record<string, string | string[] | undefined>;
}

/** What a lifecycle watches of the reply: whether its socket closed before the answer was written. */
export interface LifecycleReply {
  raw: { on(event: "close", listener: () => void): unknown; readonly writableFinished: boolean };
}

/** The abort reason when the client went away: nobody is left to answer. */
export class ClientGoneError extends Error {
  constructor() {
    super("The client closed the connection.");
    this.name = "ClientGoneError";
  }
}

/**
 * One generation request's life: an AbortSignal that fires when the client goes away, when the
 * deadline it asked for (X-Server-Timeout, in seconds, as the Google SDKs send it) passes, or
 * when shutdown ends it. The abort reason says what the client should be told, if anything.
 */
export class RequestLifecycle {
  private readonly controller = new AbortController();
  private readonly timer: NodeJS.Timeout | undefined;
  private readonly untrack: () => void;

  constructor(request: LifecycleRequest, reply: LifecycleReply, tracker: StreamTracker) {
    reply.raw.on("close", () => {
      if (!reply.raw.writableFinished) this.controller.abort(new ClientGoneError());
    });
    const header = request.headers["x-server-timeout"];
    if (header !== undefined) {
      const seconds = Number(header);
      if (!Number.isFinite(seconds) || seconds <= 0) throw invalidArgument(`Invalid X-Server-Timeout header: "${String(header)}".`);
      this.timer = setTimeout(
        () => this.controller.abort(new ApiError("DEADLINE_EXCEEDED", `The request did not finish within its ${seconds} s deadline (X-Server-Timeout).`)),
        seconds * 1000,
      );
    }
    this.untrack = tracker.track(this.controller);
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** The error to report because of an abort, or undefined when nobody is left to tell. */
  get abortError(): ApiError | undefined {
    const reason: unknown = this.controller.signal.reason;
    return reason instanceof ApiError ? reason : undefined;
  }

  finish(): void {
    clearTimeout(this.timer);
    this.untrack();
  }
}
