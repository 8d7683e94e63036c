import { fork, spawn, type ChildProcess, type ForkOptions } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Embeddings, Engine, GenerateRequest, GenerationEvent, ModelInfo, Occupancy, SavedPrefix, PromptInput } from "../engine.js";
import { EngineError, RequestRejectedError } from "../engine.js";
import { EventChannel } from "../event-channel.js";
import type { LlamaEngineOptions } from "./llama-engine.js";
import type { FromRunner, ToRunner } from "./runner-protocol.js";
import { usableTaskset } from "./cpu-affinity.js";

interface Stream {
  channel: EventChannel<GenerationEvent>;
  started: boolean;
}

export interface RunnerSettings {
  /** Pin the runner (all its threads) to this CPU, with `taskset` (see cpu-affinity.ts). */
  cpu?: number;
  /**
   * How long the runner may hold a stream's text events (after its first two) to send them with
   * others in one message; the server's chunk window, as text within it becomes one chunk anyway.
   */
  batchMs?: number;
  /** Called when the runner crashed and a new one was started. */
  onRestart?: () => void;
}

interface Pending<T> {
  resolve: (value: T) => void;
  reject: (reason: unknown) => void;
}

const here = fileURLToPath(import.meta.url);
// Compiled: runner-main.js beside this file. Under the test runner (TypeScript sources): via tsx.
const RUNNER_MAIN = path.join(path.dirname(here), `runner-main${path.extname(here)}`);
const RUNNER_EXEC_ARGV = path.extname(here) === ".ts" ? ["--import", "tsx"] : [];

/**
 * A model served from its own child process, as Ollama runs one runner per model. If the
 * runner dies (a native abort in llama.cpp), the streams it was serving fail with an
 * EngineError, and a new runner is started for the requests that follow.
 */
export class RunnerEngine implements Engine {
  private child!: ChildProcess;
  private ready!: Promise<ModelInfo>;
  private loadedInfo: ModelInfo | undefined;
  private readonly streams = new Map<number, Stream>();
  /** countTokens and embed calls awaiting the runner's answer. */
  private readonly calls = new Map<number, Pending<unknown>>();
  private nextId = 1;
  private closing = false;

  private constructor(
    private readonly options: LlamaEngineOptions,
    private readonly settings: RunnerSettings,
  ) {}

  static async start(options: LlamaEngineOptions, settings: RunnerSettings = {}): Promise<RunnerEngine> {
    const engine = new RunnerEngine(options, settings);
    engine.spawn();
    await engine.ready;
    return engine;
  }

  get info(): ModelInfo {
    return this.loadedInfo as ModelInfo;
  }

  private spawn(): void {
    // Its own process group: a terminal's Ctrl-C reaches the server, which drains and then ends
    // its runners; the runner itself exits when the server's IPC channel closes, however it died.
    const child = this.startProcess({ serialization: "json", stdio: ["ignore", "inherit", "inherit", "ipc"], detached: true });
    this.child = child;
    this.ready = new Promise<ModelInfo>((resolve, reject) => {
      child.on("message", (message: FromRunner) => {
        if (message.type === "ready") {
          this.loadedInfo = message.info;
          resolve(message.info);
        } else if (message.type === "load-failed") reject(new EngineError(message.message));
        else this.dispatch(message);
      });
      child.once("exit", (code, signal) => {
        reject(new EngineError(`The runner for ${this.options.id} exited (${signal ?? `code ${code}`}) while loading.`));
        this.onExit(code, signal);
      });
    });
    this.ready.catch(() => {}); // observed by start() and by each request
    this.send({ type: "load", options: this.options, batchMs: this.settings.batchMs ?? 0 });
  }

  /** node runner-main.js, under `taskset --cpu-list CPU` when the runner is pinned. */
  private startProcess(options: ForkOptions): ChildProcess {
    // Found and tried once per process, when cpuForRunner chose the CPU.
    const taskset = this.settings.cpu === undefined ? undefined : usableTaskset(this.settings.cpu);
    if (!taskset) return fork(RUNNER_MAIN, [], { ...options, execArgv: RUNNER_EXEC_ARGV });
    return spawn(taskset, ["--cpu-list", String(this.settings.cpu), process.execPath, ...RUNNER_EXEC_ARGV, RUNNER_MAIN], options);
  }

  private send(message: ToRunner): void {
    if (this.child.connected) this.child.send(message);
  }

  private dispatch(message: FromRunner): void {
    if (message.type === "events") {
      for (const [id, event] of message.batch) {
        const stream = this.streams.get(id);
        if (!stream) continue;
        if (event === "finished") {
          this.streams.delete(id);
          stream.channel.end();
        } else {
          stream.started = true;
          stream.channel.push(event);
        }
      }
    } else if (message.type === "failed") {
      const error = message.rejected ? new RequestRejectedError(message.message) : new EngineError(message.message);
      const stream = this.streams.get(message.id);
      this.streams.delete(message.id);
      stream?.channel.fail(error);
      this.settle(message.id, (call) => call.reject(error));
    } else if (message.type === "counted") {
      this.settle(message.id, (call) => call.resolve(message.tokens));
    } else if (message.type === "embedded") {
      this.settle(message.id, (call) => call.resolve(message.embeddings));
    } else if (message.type === "prefix-saved") {
      this.settle(message.id, (call) => call.resolve(message.prefix));
    } else if (message.type === "prefix-dropped") {
      this.settle(message.id, (call) => call.resolve(undefined));
    }
  }

  private settle(id: number, how: (call: Pending<unknown>) => void): void {
    const call = this.calls.get(id);
    this.calls.delete(id);
    if (call) how(call);
  }

  private onExit(code: number | null, signal: NodeJS.Signals | null): void {
    const error = new EngineError(
      `The model runner for ${this.options.id} crashed (${signal ?? `exit code ${code}`}); it is being restarted.`,
    );
    for (const stream of this.streams.values()) stream.channel.fail(error);
    this.streams.clear();
    for (const pending of this.calls.values()) pending.reject(error);
    this.calls.clear();
    if (this.closing || !this.loadedInfo) return;
    this.settings.onRestart?.();
    this.spawn();
  }

  occupancy(): Occupancy {
    let active = 0;
    for (const stream of this.streams.values()) if (stream.started) active++;
    return { active, queued: this.streams.size - active };
  }

  private async call<T>(message: (id: number) => ToRunner): Promise<T> {
    await this.ready;
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.calls.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.send(message(id));
    });
  }

  countTokens(prompt: PromptInput): Promise<number> {
    return this.call((id) => ({ type: "count", id, prompt }));
  }

  embed(texts: string[]): Promise<Embeddings> {
    return this.call((id) => ({ type: "embed", id, texts }));
  }

  /** The state files live in `options.stateDir`, so a restarted runner still finds them. */
  savePrefix(prompt: PromptInput): Promise<SavedPrefix> {
    return this.call((id) => ({ type: "save-prefix", id, prompt }));
  }

  dropSavedPrefix(prefix: string): Promise<void> {
    return this.call((id) => ({ type: "drop-prefix", id, prefix }));
  }

  async *generate(request: GenerateRequest): AsyncGenerator<GenerationEvent> {
    await this.ready;
    request.signal?.throwIfAborted();
    const id = this.nextId++;
    const abort = (): void => this.send({ type: "abort", id });
    const channel = new EventChannel<GenerationEvent>(abort);
    this.streams.set(id, { channel, started: false });
    request.signal?.addEventListener("abort", abort, { once: true });
    this.send({ type: "generate", id, prompt: request.prompt, sampling: request.sampling, ...(request.thinking ? { thinking: request.thinking } : {}) });
    try {
      yield* channel;
    } finally {
      request.signal?.removeEventListener("abort", abort);
    }
  }

  async close(): Promise<void> {
    this.closing = true;
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once("exit", () => resolve()));
    this.child.disconnect();
    const timer = setTimeout(() => this.child.kill("SIGKILL"), 5000);
    await exited;
    clearTimeout(timer);
  }
}
