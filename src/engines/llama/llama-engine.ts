import path from "node:path";
import { statSync } from "node:fs";
import type { LlamaContext, LlamaEmbeddingContext, LlamaModel, Token } from "node-llama-cpp";
import type { Embeddings, Engine, GenerateRequest, GenerationEvent, ModelInfo, Occupancy, SavedPrefix, PromptInput } from "../engine.js";
import { RequestRejectedError } from "../engine.js";
import { flashAttentionFor, getRuntime, type FlashAttentionMode } from "./llama-runtime.js";
import { defaultThreads } from "../threads.js";
import { PromptFormatter, type FormattedPrompt } from "./prompt-format.js";
import { SequencePool } from "./sequence-pool.js";
import { generateOnSequence } from "./token-generation.js";
import { needsSpecialTokens } from "./incremental-detokenizer.js";
import { GrammarCache } from "./grammar-cache.js";
import { SavedPrefixes } from "./saved-prefixes.js";
import { emptyThought, promptOpensThought, splitThoughtEvents, ThoughtSplitter, thoughtFormatOf, type ThoughtSegmentFormat } from "./thought-segments.js";
import { DEFAULTS } from "../../base/config.js";

export interface LlamaEngineOptions {
  id: string;
  modelPath: string;
  /** llama.cpp threads; defaults to a rule on model size and cores (see defaultThreads). */
  threads?: number;
  /** Streams generated at the same time, batched into each decode step. */
  parallel?: number;
  /** Context tokens per stream; defaults to the model's trained context. */
  contextSize?: number;
  /** Where saved prefixes (context caching) are written; a temp dir of its own when absent. */
  stateDir?: string;
  /** Flash attention (see flashAttentionFor): off on the CPU alone, llama.cpp's choice on a GPU, unless on or off is asked for. */
  flashAttention?: FlashAttentionMode;
  /** A chat wrapper by name instead of the template's (see thinking-wrappers.ts CHAT_WRAPPER_NAMES). */
  chatWrapper?: string;
}

export const DEFAULT_PARALLEL = DEFAULTS.parallel;

/** A GGUF model run in this process by llama.cpp (node-llama-cpp), several streams batched. */
export class LlamaEngine implements Engine {
  private constructor(
    readonly info: ModelInfo,
    private readonly model: LlamaModel,
    private readonly context: LlamaContext,
    private readonly formatter: PromptFormatter,
    private readonly pool: SequencePool,
    private readonly grammars: GrammarCache,
    private readonly prefixes: SavedPrefixes,
    /** The model's thought segment, for a reasoning model (see thought-segments.ts). */
    private readonly thoughts?: ThoughtSegmentFormat,
    /** The thought markers are special tokens (gpt-oss's): the output is detokenized with them, for the splitter. */
    private readonly specialMarkers = false,
  ) {}

  static async load(options: LlamaEngineOptions): Promise<LlamaEngine> {
    const threads = options.threads ?? defaultThreads(statSync(options.modelPath).size);
    const llama = await getRuntime(threads);
    // For every context of the model: the generation context and the embedding one.
    const defaultContextFlashAttention = flashAttentionFor(options.flashAttention ?? "auto", llama.gpu !== false);
    const model = await llama.loadModel({ modelPath: options.modelPath, defaultContextFlashAttention });
    const contextSize = Math.min(options.contextSize ?? model.trainContextSize, model.trainContextSize);
    const context = await model.createContext({
      sequences: options.parallel ?? DEFAULT_PARALLEL,
      contextSize,
      threads,
    });
    const formatter = new PromptFormatter(model, options.chatWrapper);
    const name = model.fileInfo.metadata?.general?.name;
    const info: ModelInfo = {
      id: options.id,
      displayName: options.id,
      description: `${path.basename(options.modelPath)} (${typeof name === "string" && name ? `${name}, ` : ""}${model.fileInfo.metadata?.general?.architecture ?? "gguf"}), run locally by llama.cpp`,
      inputTokenLimit: contextSize,
      outputTokenLimit: contextSize,
      hasChatTemplate: formatter.hasChatTemplate,
      canEmbed: true,
    };
    if (formatter.toolCallFormat) info.toolCallFormat = formatter.toolCallFormat;
    const pool = new SequencePool(context);
    const thoughts = formatter.chatWrapper ? thoughtFormatOf(formatter.chatWrapper) : undefined;
    const specialMarkers = thoughts !== undefined && needsSpecialTokens(model, [thoughts.prefix, thoughts.suffix, ...thoughts.answerHeaders]);
    const grammars = new GrammarCache(llama, model, formatter.toolCallFormat);
    return new LlamaEngine(info, model, context, formatter, pool, grammars, new SavedPrefixes(pool, options.stateDir), thoughts, specialMarkers);
  }

  occupancy(): Occupancy {
    return { active: this.pool.busy, queued: this.pool.queued };
  }

  private embedding: Promise<LlamaEmbeddingContext> | undefined;

  /** Embeddings from a separate context, created on first use. */
  async embed(texts: string[]): Promise<Embeddings> {
    this.embedding ??= this.model.createEmbeddingContext({ contextSize: this.info.inputTokenLimit, threads: this.context.currentThreads });
    const context = await this.embedding;
    const vectors: number[][] = [];
    let tokens = 0;
    for (const text of texts) {
      const count = this.model.tokenize(text).length;
      if (count > this.info.inputTokenLimit) {
        throw new RequestRejectedError(`A text to embed has ${count} tokens, more than this model's context of ${this.info.inputTokenLimit} tokens allows.`);
      }
      tokens += count;
      vectors.push([...(await context.getEmbeddingFor(text)).vector]);
    }
    return { vectors, tokens };
  }

  async countTokens(prompt: PromptInput): Promise<number> {
    return this.formatter.format(prompt).tokens.length;
  }

  async *generate(request: GenerateRequest): AsyncGenerator<GenerationEvent> {
    const variant = this.formatter.wrapperFor(request.thinking);
    const formatted = this.formatter.format(request.prompt, variant?.wrapper);
    const thinking = this.thoughts && !request.prompt.raw ? this.thinkingPrompt(formatted, this.thoughts, request, variant?.switched ?? false) : undefined;
    const prompt = thinking?.prompt ?? formatted;
    const room = this.info.inputTokenLimit - prompt.tokens.length;
    if (room < 1) {
      throw new RequestRejectedError(
        `The prompt has ${prompt.tokens.length} tokens, more than this model's context of ${this.info.inputTokenLimit} tokens allows.`,
      );
    }
    const grammar = request.sampling.constraint ? await this.grammars.stateFor(request.sampling.constraint) : undefined;
    const sequence = await this.pool.acquire(prompt.tokens, request.signal);
    try {
      if (request.prompt.savedPrefix) await this.prefixes.restore(sequence, request.prompt.savedPrefix, prompt.tokens);
      // A spent thought budget: the thought's closing text, evaluated after the last generated token.
      let close: Token[] | undefined;
      const events = generateOnSequence({
        model: this.model,
        sequence,
        pool: this.pool,
        prompt: grammar ? { ...prompt, stopTexts: [...prompt.stopTexts, ...grammar.stopTexts] } : prompt,
        sampling: request.sampling,
        grammar: grammar?.state,
        maxOutputTokens: Math.min(request.sampling.maxOutputTokens ?? room, room),
        signal: request.signal,
        specialTokens: thinking !== undefined && this.specialMarkers,
        interject: () => {
          const tokens = close;
          close = undefined;
          return tokens;
        },
      });
      // Under a grammar the engine cannot write tokens of its own: the grammar would not have seen them.
      const onBudgetSpent = grammar ? undefined : (inject: string) => void (close = this.model.tokenize(inject, true));
      yield* thinking ? splitThoughtEvents(events, thinking.splitter, onBudgetSpent) : events;
    } finally {
      this.pool.release(sequence);
    }
  }

  /**
   * A reasoning model's prompt and the splitter for its output: budget 0 closes an empty thought
   * after the prompt (Qwen3's way of not thinking) unless the request's wrapper variant already
   * said so (`switched`), a wrapper that opens the thought at the response start gets its prefix
   * written, and the splitter starts inside the thought when the prompt ends in one. Output under
   * a grammar (structured output, a forced call) leaves no room for a thought: it gets the empty one.
   */
  private thinkingPrompt(prompt: FormattedPrompt, format: ThoughtSegmentFormat, request: GenerateRequest, switched: boolean) {
    const wantsNone = (request.thinking?.budget === 0 && !switched) || request.sampling.constraint !== undefined;
    // A prompt that ends in a model turn is that turn continued: nothing is written after its text.
    const continues = request.prompt.turns.at(-1)?.role === "model";
    const off = wantsNone && !continues ? emptyThought(format) : undefined;
    const opening = continues ? "" : (off ?? (format.openOnResponseStart ? format.prefix : ""));
    const tokens = opening ? [...prompt.tokens, ...this.model.tokenize(opening, true)] : prompt.tokens;
    const startInThought = off === undefined && promptOpensThought(this.model.detokenize(tokens.slice(-16), true), format);
    return { prompt: { ...prompt, tokens }, splitter: new ThoughtSplitter(format, { startInThought, budget: request.thinking?.budget }) };
  }

  /** Evaluates a prompt prefix on a free sequence and saves its state (context caching). */
  async savePrefix(prompt: PromptInput): Promise<SavedPrefix> {
    const tokens = this.formatter.formatPrefix(prompt);
    if (tokens.length >= this.info.inputTokenLimit) {
      throw new RequestRejectedError(
        `The cached content has ${tokens.length} tokens; this model's context of ${this.info.inputTokenLimit} tokens leaves no room for a prompt after it.`,
      );
    }
    const sequence = await this.pool.acquire(tokens);
    try {
      const held = Math.min(sequence.compareContextTokens(tokens).firstDifferentIndex, tokens.length);
      await this.pool.trim(sequence, held);
      if (held < tokens.length) await sequence.evaluateWithoutGeneratingNewTokens(tokens.slice(held));
      return { id: await this.prefixes.save(sequence), tokens: tokens.length };
    } finally {
      this.pool.release(sequence);
    }
  }

  dropSavedPrefix(id: string): Promise<void> {
    return this.prefixes.drop(id);
  }

  async close(): Promise<void> {
    await this.prefixes.close();
    await (await this.embedding)?.dispose();
    await this.context.dispose();
    await this.model.dispose();
  }
}
