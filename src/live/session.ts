import { RequestRejectedError, type Engine, type FunctionCall, type GenerationEvent } from "../engines/engine.js";
import { ApiError, INTERNAL_MESSAGE, invalidArgument, notFound, toApiError } from "../route-kit/errors.js";
import { parseBody } from "../route-kit/validate.js";
import type { Content } from "../gemini/protocol.js";
import { ClientMessageSchema, type ClientMessage, type LiveServerMessage } from "./protocol.js";
import type { LiveSessionDeps } from "./session-deps.js";
import { SessionMedia } from "./session-media.js";
import {
  clientContentTurns,
  generationCompleteMessage,
  goAwayMessage,
  interruptedMessage,
  modelTurn,
  realtimeText,
  resumptionMessage,
  setupCompleteMessage,
  setupModel,
  textMessage,
  toLiveClose,
  toLiveConfig,
  toolCallCancellationMessage,
  toolCallMessage,
  toolResponseTurn,
  toTurnRequest,
  turnCompleteMessage,
  usageMessage,
  type LiveConfig,
} from "./translate.js";

/** The abort reason of a reply that new input interrupted (barge-in). */
class Interrupted extends Error {
  constructor() {
    super("interrupted by new input");
  }
}

interface Reply {
  controller: AbortController;
  /** Text sent so far: what the user has seen, kept in the history when interrupted. */
  text: string;
  /** The engine's end arrived: the reply is whole, nothing is left to interrupt. */
  ended: boolean;
  done: Promise<void>;
}

/**
 * One Live session: setup → setupComplete, then turns answered as they are generated, with the
 * history kept so that each prompt starts with the previous one (the engine reuses its KV
 * state). Input that arrives while the model answers interrupts it (barge-in). Messages are
 * handled one at a time in arrival order; a reply runs beside them, so it can be interrupted.
 */
export class LiveSession {
  private engine: Engine | undefined;
  private model = "";
  private config: LiveConfig | undefined;
  /** The last resumption handle issued, when the client asked for resumption. */
  private resumptionHandle: string | undefined;
  private resumable = false;
  private readonly history: Content[] = [];
  private readonly media: SessionMedia;
  private reply: Reply | undefined;
  private pendingCalls: FunctionCall[] = [];
  private closed = false;
  private draining = false;
  private inbox: Promise<void> = Promise.resolve();
  private idleTimer: NodeJS.Timeout | undefined;
  private readonly lifeTimers: NodeJS.Timeout[] = [];

  constructor(private readonly deps: LiveSessionDeps) {
    this.media = new SessionMedia(deps.loadFiles);
    const { setupTimeoutMs, maxSessionMs, goAwayNoticeMs } = deps.limits;
    this.idleTimer = setTimeout(() => this.fail(invalidArgument(`No setup message arrived within ${setupTimeoutMs / 1000} s.`)), setupTimeoutMs);
    this.lifeTimers.push(
      setTimeout(() => this.send(goAwayMessage(Math.min(goAwayNoticeMs, maxSessionMs))), Math.max(0, maxSessionMs - goAwayNoticeMs)),
      setTimeout(() => this.end(1000, `The session reached its time limit of ${maxSessionMs / 1000} s.`), maxSessionMs),
    );
  }

  /** A frame from the client (`read` parses it: a bad frame fails in its turn); handled after the ones before it. */
  receive(read: () => unknown): void {
    this.inbox = this.inbox.then(() => this.handle(read)).catch((error: unknown) => this.fail(error));
  }

  /** The server is shutting down: goAway, then the session ends once its reply (if any) is done. */
  shutdown(noticeMs: number): void {
    if (this.closed) return;
    this.draining = true;
    this.send(goAwayMessage(noticeMs));
    if (!this.reply) this.end(1001, "The server is shutting down.");
  }

  /** The client went away: the reply stops now, its stream slot freed. */
  clientGone(): void {
    this.closed = true;
    this.stopTimers();
    this.reply?.controller.abort(new Interrupted());
  }

  private async handle(read: () => unknown): Promise<void> {
    if (this.closed) return;
    const message = parseBody(ClientMessageSchema, read());
    const kinds = (Object.keys(message) as (keyof ClientMessage)[]).filter((key) => message[key] !== undefined);
    if (kinds.length !== 1) {
      throw invalidArgument(`A Live client message holds exactly one of setup, client_content, realtime_input, tool_response (got ${kinds.join(", ") || "none"}).`);
    }
    if (message.setup) return await this.setup(message.setup);
    if (!this.config) throw invalidArgument("The first message of a session must be setup.");
    this.resetIdle();
    if (message.clientContent) {
      const { turns, reply } = clientContentTurns(message.clientContent);
      await this.media.take(turns, this.engine!.info);
      await this.interrupt();
      this.history.push(...turns);
      if (reply) this.answer();
    } else if (message.realtimeInput) {
      const text = realtimeText(message.realtimeInput);
      const activity = message.realtimeInput.activityStart !== undefined;
      if (text === undefined && !activity) return;
      await this.interrupt();
      if (text !== undefined) {
        this.history.push({ role: "user", parts: [{ text }] });
        this.answer();
      }
    } else if (message.toolResponse) {
      if (this.pendingCalls.length === 0) throw invalidArgument("tool_response arrived but no function call is pending.");
      const turn = toolResponseTurn(message.toolResponse, this.pendingCalls);
      // The reply that made the calls may still be ending (its usage); the next one starts after it.
      await this.reply?.done;
      this.pendingCalls = [];
      this.history.push(turn);
      this.answer(true);
    }
  }

  private async setup(setup: NonNullable<ClientMessage["setup"]>): Promise<void> {
    if (this.config) throw invalidArgument("setup may be sent only once, as the first message of a session.");
    const model = setupModel(setup);
    const engine = this.deps.resolveEngine(model);
    if (!engine) {
      throw notFound(`models/${model} is not found for API version ${this.deps.version}, or is not supported for bidiGenerateContent.`);
    }
    this.config = toLiveConfig(setup);
    this.engine = engine;
    if (setup.sessionResumption) await this.resume(setup.sessionResumption.handle, model);
    this.model = model;
    this.send(setupCompleteMessage());
    this.issueHandle();
    this.resetIdle();
  }

  /** Session resumption: a handle given takes over that session's history; either way, handles are issued from now on. */
  private async resume(handle: string | undefined, model: string): Promise<void> {
    const store = this.deps.resumption;
    if (!store) throw invalidArgument("setup.session_resumption is not served by this server.");
    if (handle !== undefined) {
      const state = store.take(handle);
      if (!state) throw invalidArgument("setup.session_resumption.handle is unknown, used or expired; start a new session.");
      if (state.model !== model) throw invalidArgument(`setup.session_resumption.handle resumes a session with ${state.model}, not ${model}.`);
      await this.media.loadFiles(state.history);
      this.history.push(...state.history);
    }
    this.resumable = true;
  }

  private issueHandle(): void {
    if (!this.resumable || !this.deps.resumption || this.closed) return;
    this.resumptionHandle = this.deps.resumption.issue({ model: this.model, history: this.history }, this.resumptionHandle);
    this.send(resumptionMessage(this.resumptionHandle));
  }

  /** Barge-in: the reply in progress stops now, what was sent of it stays in the history, a pending call is void. */
  private async interrupt(): Promise<void> {
    const reply = this.reply;
    if (reply?.ended) await reply.done;
    else if (reply) {
      reply.controller.abort(new Interrupted());
      await reply.done;
      const partial = modelTurn(reply.text);
      if (partial) this.history.push(partial);
      this.send(interruptedMessage());
    }
    if (this.pendingCalls.length > 0) {
      this.send(toolCallCancellationMessage(this.pendingCalls.map((call) => call.id)));
      this.pendingCalls = [];
    }
  }

  private answer(afterToolResponse = false): void {
    const engine = this.engine!;
    const controller = new AbortController();
    const reply: Reply = { controller, text: "", ended: false, done: Promise.resolve() };
    this.reply = reply;
    this.clearIdle();
    this.deps.onTurn?.();
    const untrack = this.deps.track(controller);
    reply.done = (async () => {
      try {
        const request = toTurnRequest(this.config!, this.history, controller.signal, afterToolResponse, this.media.context(engine.info));
        for await (const event of this.deps.generate(engine, request)) {
          if (controller.signal.aborted) break;
          this.deliver(event, reply);
          await this.deps.transport.ready();
        }
      } catch (error) {
        const reason: unknown = controller.signal.reason;
        if (reason instanceof Interrupted) return;
        this.fail(reason instanceof ApiError ? reason : error);
      } finally {
        untrack();
        if (this.reply === reply) this.reply = undefined;
        if (!this.closed && !this.reply) {
          if (this.draining) this.end(1001, "The server is shutting down.");
          else this.resetIdle();
        }
      }
    })();
  }

  private deliver(event: GenerationEvent, reply: Reply): void {
    if (event.type === "text") {
      if (event.text === "") return;
      reply.text += event.text;
      this.send(textMessage(event.text));
    } else if (event.type === "calls") {
      this.pendingCalls = event.calls;
      this.history.push(modelTurn("", event.calls)!);
      this.send(toolCallMessage(event.calls));
    } else if (event.type === "end") {
      const turn = this.pendingCalls.length > 0 ? undefined : modelTurn(reply.text);
      if (turn) this.history.push(turn);
      // The reply is in the history now; an interruption from here on has nothing to stop.
      reply.ended = true;
      if (this.pendingCalls.length > 0) {
        // The turn goes on once the client answers the calls.
        this.send(usageMessage(event.usage));
        return;
      }
      this.send(generationCompleteMessage());
      this.send(turnCompleteMessage(event.usage));
      this.issueHandle();
    }
  }

  private send(message: LiveServerMessage): void {
    if (!this.closed) this.deps.transport.send(message);
  }

  private fail(error: unknown): void {
    if (this.closed) return;
    const apiError = error instanceof ApiError || error instanceof RequestRejectedError ? toApiError(error) : undefined;
    if (!apiError) this.deps.onFault?.(error);
    const { code, reason } = toLiveClose(apiError ?? new ApiError("INTERNAL", INTERNAL_MESSAGE));
    this.end(code, reason);
  }

  private end(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.stopTimers();
    this.reply?.controller.abort(new Interrupted());
    this.deps.transport.close(code, reason);
  }

  /** The idle clock runs only while no reply is in progress. */
  private resetIdle(): void {
    this.clearIdle();
    if (this.reply || this.closed) return;
    const { idleTimeoutMs } = this.deps.limits;
    this.idleTimer = setTimeout(() => {
      this.send(goAwayMessage(0));
      this.end(1000, `The session was idle for ${idleTimeoutMs / 1000} s.`);
    }, idleTimeoutMs);
  }

  private clearIdle(): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
  }

  private stopTimers(): void {
    this.clearIdle();
    for (const timer of this.lifeTimers) clearTimeout(timer);
  }
}
