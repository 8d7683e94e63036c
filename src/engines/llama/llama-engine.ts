import path from "node:path";
import { statSync } from "node:fs";
import { resolveChatWrapper, type LlamaContext, type LlamaEmbeddingContext, type LlamaModel } from "node-llama-cpp";
import type { Embeddings, Engine, GenerateRequest, GenerationEvent, ModelInfo, Occupancy, SavedPrefix, PromptInput } from "../engine.js";
import { RequestRejectedError } from "../engine.js";
import { defaultThreads, flashAttentionFor, getRuntime, type FlashAttentionMode } from "./llama-runtime.js";
import { PromptFormatter, type FormattedPrompt } from "./prompt-format.js";
import { SequencePool } from "./sequence-pool.js";
import { generateOnSequence } from "./token-generation.js";
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
    const formatter = new PromptFormatter(model);
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
    const thoughts = formatter.hasChatTemplate ? thoughtFormatOf(resolveChatWrapper(model)) : undefined;
    return new LlamaEngine(info, model, context, formatter, pool, new GrammarCache(llama, model, formatter.toolCallFormat), new SavedPrefixes(pool, options.stateDir), thoughts);
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
    const thinking = this.thoughts && !request.prompt.raw ? this.thinkingPrompt(this.formatter.format(request.prompt), this.thoughts, request) : undefined;
    const prompt = thinking?.prompt ?? this.formatter.format(request.prompt);
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
      const events = generateOnSequence({
        model: this.model,
        sequence,
        pool: this.pool,
        prompt: grammar ? { ...prompt, stopTexts: [...prompt.stopTexts, ...grammar.stopTexts] } : prompt,
        sampling: request.sampling,
        grammar: grammar?.state,
        maxOutputTokens: Math.min(request.sampling.maxOutputTokens ?? room, room),
        signal: request.signal,
      });
      yield* thinking ? splitThoughtEvents(events, thinking.splitter) : events;
    } finally {
      this.pool.release(sequence);
    }
  }

  /**
   * A reasoning model's prompt and the splitter for its output: budget 0 closes an empty thought
   * after the prompt (Qwen3's way of not thinking), a wrapper that opens the thought at the
   * response start gets its prefix written, and the splitter starts inside the thought when the
   * prompt ends in one.
   */
  private thinkingPrompt(prompt: FormattedPrompt, format: ThoughtSegmentFormat, request: GenerateRequest) {
    const off = request.thinking?.budget === 0 ? emptyThought(format) : undefined;
    const opening = off ?? (format.openOnResponseStart ? format.prefix : "");
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
