/**
 * A model's runner process: loads one GGUF and serves generations over IPC. A native crash
 * in llama.cpp ends only this process; the API server fails its streams and starts another.
 */
import type { GenerationEvent } from "../engine.js";
import { RequestRejectedError } from "../engine.js";
import { textMayWait } from "../../base/chunk-timing.js";
import { LlamaEngine } from "./llama-engine.js";
import type { FromRunner, ToRunner } from "./runner-protocol.js";

let engine: LlamaEngine | undefined;
const running = new Map<number, AbortController>();
let batch: [number, GenerationEvent | "finished"][] = [];
let flushScheduled = false;
let batchTimer: NodeJS.Timeout | undefined;
/** How long text may wait to travel with more (the server's chunk window); 0: every turn. */
let batchMs = 0;

/** What the batching knows of one running stream. */
interface QueuedStream {
  /** Its texts queued so far. */
  texts: number;
}

const send = (message: FromRunner): void => {
  process.send?.(message);
};

/**
 * Token events travel in batches. Every message costs a write that wakes the server, on the CPU
 * this runner shares with llama.cpp's decoding, so text within the server's chunk window (which
 * becomes one chunk there anyway) waits to travel together: one message per window for all
 * streams instead of one per decode step. What a client waits for leaves at once: a stream's
 * first texts (base/chunk-timing.ts decides which may wait), its calls and its end; its start
 * goes with its first text. Each text carries the time it was made, so the server's latency metrics keep the
 * engine's pace.
 *
 * "At once" is one check phase later: node-llama-cpp starts the next decode step from a
 * setImmediate queued in the same turn as these events, so the message is written while that
 * step runs instead of before it starts.
 */
function flush(): void {
  flushScheduled = false;
  if (batchTimer) clearTimeout(batchTimer);
  batchTimer = undefined;
  if (batch.length === 0) return;
  const events = batch;
  batch = [];
  send({ type: "events", batch: events });
}

function queue(id: number, stream: QueuedStream, event: GenerationEvent | "finished"): void {
  let canWait = false;
  if (event !== "finished" && batchMs > 0) {
    if (event.type === "start") {
      canWait = true;
    } else if (event.type === "text") {
      event = { ...event, at: performance.timeOrigin + performance.now() };
      canWait = textMayWait(++stream.texts, batchMs);
    }
  }
  batch.push([id, event]);
  if (canWait) {
    batchTimer ??= setTimeout(flush, batchMs);
  } else if (!flushScheduled) {
    flushScheduled = true;
    setImmediate(() => setImmediate(flush));
  }
}

function fail(id: number, error: unknown): void {
  const message = error instanceof Error ? error.message : String(error);
  send({ type: "failed", id, message, rejected: error instanceof RequestRejectedError });
}

async function generate(message: Extract<ToRunner, { type: "generate" }>, model: LlamaEngine): Promise<void> {
  const abort = new AbortController();
  running.set(message.id, abort);
  const stream: QueuedStream = { texts: 0 };
  try {
    for await (const event of model.generate({ prompt: message.prompt, sampling: message.sampling, thinking: message.thinking, signal: abort.signal })) {
      queue(message.id, stream, event);
    }
    queue(message.id, stream, "finished");
  } catch (error) {
    flush();
    fail(message.id, error);
  } finally {
    running.delete(message.id);
  }
}

/** Sends a call's result, or its failure, back to the server. */
function answer<T>(id: number, work: Promise<T>, message: (value: T) => FromRunner): void {
  work.then(
    (value) => send(message(value)),
    (error: unknown) => fail(id, error),
  );
}

process.on("message", (message: ToRunner) => {
  switch (message.type) {
    case "load":
      batchMs = message.batchMs;
      LlamaEngine.load(message.options).then(
        (loaded) => {
          engine = loaded;
          send({ type: "ready", info: loaded.info });
        },
        (error: unknown) => send({ type: "load-failed", message: error instanceof Error ? error.message : String(error) }),
      );
      break;
    case "generate":
      if (engine) void generate(message, engine);
      break;
    case "abort":
      running.get(message.id)?.abort();
      break;
    case "count":
      if (engine) answer(message.id, engine.countTokens(message.prompt), (tokens) => ({ type: "counted", id: message.id, tokens }));
      break;
    case "embed":
      if (engine) answer(message.id, engine.embed(message.texts), (embeddings) => ({ type: "embedded", id: message.id, embeddings }));
      break;
    case "save-prefix":
      if (engine) answer(message.id, engine.savePrefix(message.prompt), (prefix) => ({ type: "prefix-saved", id: message.id, prefix }));
      break;
    case "drop-prefix":
      if (engine) answer(message.id, engine.dropSavedPrefix(message.prefix), () => ({ type: "prefix-dropped", id: message.id }));
      break;
  }
});

// The API server going away (even by SIGKILL) closes the IPC channel: never outlive it.
process.on("disconnect", () => process.exit(0));
