import { ApiError } from "../../base/api-error.js";
import type { Embeddings, Engine, GenerateRequest, GenerationEvent, ModelInfo, SavedPrefix, PromptInput, Occupancy } from "../engine.js";
import { EngineError } from "../engine.js";
import { OpenAiUpstreamEngine } from "../upstream/openai-upstream.js";
import { plainPrompt } from "../upstream/openai-messages.js";
import { readModelFacts, type ModelFacts } from "./model-facts.js";
import { embeddingArgs, generationArgs, slotContext, type LlamaServerModel } from "./server-args.js";
import { LlamaServerProcess, type ProcessExit } from "./server-process.js";
import { ServerEndpoints } from "./server-endpoints.js";
import { limitTopLogprobs, nativeFields, wellFormed, wellFormedPrompt, wellFormedText } from "./native-fields.js";
import { SlotStates, type SlotLease } from "./slot-states.js";
import { checkSchemaForGrammar } from "./schema-limit.js";

export const ENGINE_NAME = "llama-server";

export interface LlamaServerEngineOptions extends LlamaServerModel {
  binary: string;
  /** Pin its llama-servers (every thread) to this CPU (see cpuForRunner). */
  cpu?: number;
  /** Where cached contents' KV states are saved (the server's state dir); one of the engine's own when absent. */
  stateDir?: string;
  /** Called when the generation server died and a new one is being started. */
  onRestart?: (exit: ProcessExit) => void;
}

/** A running llama-server and the clients that talk to it. */
interface Running {
  process: LlamaServerProcess;
  /** Generation and embeddings over the OpenAI wire, as for any OpenAI-compatible upstream. */
  upstream: OpenAiUpstreamEngine;
  /** llama-server's own endpoints: /tokenize, /apply-template, /completion. */
  endpoints: ServerEndpoints;
}

/** Its connection pools; closing twice (on exit and on close) is fine. */
async function closeClients(running: Running): Promise<void> {
  await Promise.all([running.upstream.close(), running.endpoints.close()].map((closing) => closing.catch(() => {})));
}

const exitText = (exit: ProcessExit): string => exit.signal ?? `exit code ${exit.code}`;

/**
 * A GGUF model served by llama.cpp's own llama-server, started and supervised here: one child per
 * model on a loopback port, driven over its HTTP API (generation through the OpenAI upstream
 * client). If the child dies, the streams it served end with an EngineError and a new child is
 * started; a failed start is tried again on the next request. Embeddings get a second child on
 * first use (see embeddingArgs).
 */
export class LlamaServerEngine implements Engine {
  readonly info: ModelInfo;
  private generation: Promise<Running> | undefined;
  private embedding: Promise<Running> | undefined;
  private closing = false;
  private active = 0;
  /** The embedding requests, one after another (see embed). */
  private embeddings: Promise<unknown> = Promise.resolve();
  private readonly states: SlotStates;

  private constructor(
    private readonly options: LlamaServerEngineOptions,
    private readonly facts: ModelFacts,
  ) {
    const context = slotContext(options, facts);
    this.states = new SlotStates(options.parallel, options.stateDir);
    this.info = {
      id: options.id,
      displayName: options.id,
      description: `${facts.description}, run locally by llama.cpp's llama-server`,
      inputTokenLimit: context,
      outputTokenLimit: context,
      hasChatTemplate: facts.hasChatTemplate,
      canEmbed: true,
    };
  }

  static async start(options: LlamaServerEngineOptions): Promise<LlamaServerEngine> {
    const engine = new LlamaServerEngine(options, await readModelFacts(options.modelPath));
    const running = await engine.generationServer();
    // A template made for tools: llama-server renders the declarations and parses the calls. Any
    // other model gets the serving layer's function calling (declarations in the prompt, a JSON
    // call, a schema in mode ANY), as on the node-llama-cpp engine; llama-server would drop the tools.
    try {
      if (await running.endpoints.templateTakesTools()) engine.info.nativeTools = true;
      // With a projector, the media parts it reads go to llama-server as OpenAI content parts, in order.
      if (options.mmproj) {
        const { vision, audio } = await running.endpoints.inputModalities();
        const kinds = [...(vision ? (["image"] as const) : []), ...(audio ? (["audio"] as const) : [])];
        if (kinds.length > 0) engine.info.inputKinds = kinds;
      }
    } catch (error) {
      await engine.close();
      throw error;
    }
    return engine;
  }

  private generationServer(): Promise<Running> {
    this.generation ??= this.launch("generation", generationArgs(this.options, this.facts, this.states.dir));
    return this.generation;
  }

  private embeddingServer(): Promise<Running> {
    this.embedding ??= this.launch("embedding", embeddingArgs(this.options, this.facts, this.states.dir));
    return this.embedding;
  }

  private launch(role: "generation" | "embedding", args: string[]): Promise<Running> {
    const label = `${this.options.id}${role === "embedding" ? " (embeddings)" : ""}`;
    const start = (): Promise<LlamaServerProcess> => LlamaServerProcess.start({ binary: this.options.binary, args, label, cpu: this.options.cpu });
    const started = this.states.whileStarting(start).then((process) => {
      const upstream = new OpenAiUpstreamEngine(
        { id: this.options.id, baseUrl: `${process.baseUrl}/v1`, model: this.options.id, reasoning: "llama-server", completions: true },
        // A local child either answers or has died (which ends the stream at once): no read timeout.
        // A request sent on a reused connection was now and then dropped by llama-server ("other side
        // closed") in the tests; a connect to its Unix socket costs far less than a token.
        { connectMs: 5_000, readMs: 0, noKeepAlive: true, socketPath: process.socketPath },
      );
      const running: Running = { process, upstream, endpoints: new ServerEndpoints(process.baseUrl, process.socketPath, label) };
      void process.exited.then((exit) => this.onExit(role, started, running, exit));
      return running;
    });
    started.catch(() => {
      // A failed start is forgotten, so the next request tries again.
      if (role === "generation" && this.generation === started) this.generation = undefined;
      if (role === "embedding" && this.embedding === started) this.embedding = undefined;
    });
    return started;
  }

  private onExit(role: "generation" | "embedding", started: Promise<Running>, running: Running, exit: ProcessExit): void {
    void closeClients(running);
    if (role === "embedding") {
      if (this.embedding === started) this.embedding = undefined; // started again on the next embed
      return;
    }
    if (this.generation === started) this.generation = undefined;
    this.states.forgetSlots();
    if (this.closing) return;
    this.options.onRestart?.(exit);
    // Started again now, so the next request finds it loading or ready; a failure waits for that request.
    this.generationServer().catch(() => {});
  }

  /**
   * Runs `work` against a server; a transport failure while the child dies (a dropped connection
   * can come just before the exit is seen) becomes the crash's EngineError.
   */
  private async guarded<T>(running: Running, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      throw await this.crashOr(running, error);
    }
  }

  private async crashOr(running: Running, error: unknown): Promise<unknown> {
    const transport = !(error instanceof ApiError) || error.status === "UNAVAILABLE" || error.status === "DEADLINE_EXCEEDED";
    const exit = transport ? await running.process.exitsWithin(1_000) : undefined;
    if (!exit) return this.inOwnWords(error);
    return new EngineError(`The llama-server for ${this.options.id} crashed (${exitText(exit)}); it is being restarted.`, { cause: error });
  }

  /**
   * The upstream client's account of a refusal ("Upstream engine for ID answered 400: {JSON}") in
   * this engine's words, with llama-server's own message taken out of its error body.
   */
  private inOwnWords(error: unknown): unknown {
    const prefix = `Upstream engine for ${this.options.id} answered `;
    if (!(error instanceof ApiError) || !error.message.startsWith(prefix)) return error;
    const [status = "", ...rest] = error.message.slice(prefix.length).split(": ");
    let detail = rest.join(": ");
    try {
      const body = JSON.parse(detail) as { error?: { message?: unknown; n_prompt_tokens?: unknown; n_ctx?: unknown } };
      const { n_prompt_tokens: tokens, n_ctx: context } = body.error ?? {};
      // Said as the node-llama-cpp engine says it, so both engines refuse a long prompt alike.
      if (typeof tokens === "number" && typeof context === "number") {
        return new ApiError("INVALID_ARGUMENT", `The prompt has ${tokens} tokens, more than this model's context of ${context} tokens allows.`);
      }
      if (typeof body.error?.message === "string") detail = body.error.message;
    } catch {
      // not JSON (cut at 500 characters, or plain text): kept as it is
    }
    return new ApiError(error.status, `The llama-server for ${this.options.id} answered ${status}: ${detail}`, error.details, error.headers);
  }

  async *generate(request: GenerateRequest): AsyncGenerator<GenerationEvent> {
    if (request.sampling.constraint?.kind === "function-call") {
      // Only asked of engines that give a model's own call format (ModelInfo.toolCallFormat), which this one does not.
      throw new ApiError("INVALID_ARGUMENT", `Calls in a model's own format are not available on the ${ENGINE_NAME} engine serving ${this.options.id}.`);
    }
    if (request.sampling.constraint?.kind === "json-schema") checkSchemaForGrammar(request.sampling.constraint.schema, this.options.id);
    const running = await this.generationServer();
    request.signal?.throwIfAborted();
    this.active++;
    let lease: SlotLease | undefined;
    try {
      // A model without a chat template continues plain text, as a raw prompt does (through /v1/completions).
      const plain = this.isPlain(request.prompt);
      const asked = plain && !request.prompt.raw ? { ...request, prompt: { ...request.prompt, raw: true } } : request;
      const native = nativeFields(wellFormed(asked), plain);
      // A cached content's prompt goes to a slot holding its saved state (restored from its file if need be).
      lease = await this.states.lease(running.endpoints, request.prompt.savedPrefix);
      if (lease.slot !== undefined) native.fields.id_slot = lease.slot;
      const events = running.upstream.generate(native.request, native.fields);
      yield* plain ? limitTopLogprobs(events, request.sampling.logprobs) : events;
    } catch (error) {
      if (request.signal?.aborted) return;
      throw await this.crashOr(running, error);
    } finally {
      lease?.release();
      this.active--;
    }
  }

  private isPlain(prompt: PromptInput): boolean {
    return prompt.raw === true || !this.facts.hasChatTemplate;
  }

  /** The prompt as the model reads it: through its chat template (as /v1/chat/completions renders it), or plain. */
  private async promptText(running: Running, prompt: PromptInput, openModelTurn: boolean): Promise<string> {
    if (this.isPlain(prompt)) return plainPrompt(prompt);
    return running.endpoints.applyTemplate(prompt, openModelTurn);
  }

  async countTokens(prompt: PromptInput): Promise<number> {
    const running = await this.generationServer();
    return this.guarded(running, async () => (await running.endpoints.tokenize(await this.promptText(running, wellFormedPrompt(prompt), true))).length);
  }

  /**
   * One text at a time, each in the emptied slot, so every text is evaluated whole as on
   * node-llama-cpp: llama-server reuses the prefix a text shares with the slot's last one even for
   * embeddings, and a vector computed so differs in its last digits.
   */
  async embed(texts: string[]): Promise<Embeddings> {
    const running = await this.embeddingServer();
    const done = this.embeddings.then(() =>
      this.guarded(running, async () => {
        const all: Embeddings = { vectors: [], tokens: 0 };
        for (const text of texts) {
          await running.endpoints.eraseSlot(0);
          const one = await running.upstream.embed([wellFormedText(text)]);
          all.vectors.push(...one.vectors);
          all.tokens += one.tokens;
        }
        return all;
      }),
    );
    this.embeddings = done.catch(() => {});
    return done;
  }

  /**
   * A cached content's prefix is evaluated into a slot whose state is then saved to a file in the
   * state dir (see SlotStates), so it survives llama-server's own cache evicting it.
   */
  async savePrefix(prompt: PromptInput): Promise<SavedPrefix> {
    const running = await this.generationServer();
    return this.guarded(running, async () => {
      const text = await this.promptText(running, wellFormedPrompt(prompt), false);
      const tokens = (await running.endpoints.tokenize(text)).length;
      if (tokens >= this.info.inputTokenLimit) {
        throw new ApiError("INVALID_ARGUMENT", `The cached content has ${tokens} tokens; this model's context of ${this.info.inputTokenLimit} tokens leaves no room for a prompt after it.`);
      }
      return { id: await this.states.save(running.endpoints, text, tokens), tokens };
    });
  }

  async dropSavedPrefix(id: string): Promise<void> {
    await this.states.drop(id);
  }

  occupancy(): Occupancy {
    return { active: this.active, queued: 0 };
  }

  async close(): Promise<void> {
    this.closing = true;
    const servers = await Promise.all([this.generation, this.embedding].map((server) => server?.catch(() => undefined)));
    await Promise.all(
      servers.map(async (running) => {
        if (!running) return;
        await running.process.kill();
        await closeClients(running);
      }),
    );
    await this.states.close();
  }
}
