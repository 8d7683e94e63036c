/**
 * A model's runner process: loads one GGUF and serves generations over IPC. A native crash
 * in llama.cpp ends only this process; the API server fails its streams and starts another.
 */
import type { GenerationEvent } from "../engine.js";
import { RequestRejectedError } from "../engine.js";
import { LlamaEngine } from "./llama-engine.js";
import type { FromRunner, ToRunner } from "./runner-protocol.js";

let engine: LlamaEngine | undefined;
const running = new Map<number, AbortController>();
let batch: [number, GenerationEvent | "finished"][] = [];
let flushScheduled = false;

const send = (message: FromRunner): void => {
  process.send?.(message);
};

/**
 * Token events from every stream in one event-loop turn travel as one IPC message, sent one
 * check phase later: node-llama-cpp starts the next decode step from a setImmediate queued in the
 * same turn as these events, so the message is written while that step runs instead of before
 * it starts (serialising and writing it is then off the path from one token to the next).
 */
function flush(): void {
  flushScheduled = false;
  if (batch.length === 0) return;
  const events = batch;
  batch = [];
  send({ type: "events", batch: events });
}

function queue(id: number, event: GenerationEvent | "finished"): void {
  batch.push([id, event]);
  if (!flushScheduled) {
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
  try {
    for await (const event of model.generate({ prompt: message.prompt, sampling: message.sampling, signal: abort.signal })) {
      queue(message.id, event);
    }
    queue(message.id, "finished");
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
    case "cache-prefix":
      if (engine) answer(message.id, engine.createPrefixCache(message.prompt), (prefix) => ({ type: "prefix-cached", id: message.id, prefix }));
      break;
    case "drop-prefix":
      if (engine) answer(message.id, engine.dropPrefixCache(message.prefix), () => ({ type: "prefix-dropped", id: message.id }));
      break;
  }
});

// The API server going away (even by SIGKILL) closes the IPC channel: never outlive it.
process.on("disconnect", () => process.exit(0));
