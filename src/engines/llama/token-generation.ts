import type { LlamaContextSequence, LlamaGrammarEvaluationState, LlamaModel, SequenceEvaluateOptions, Token } from "node-llama-cpp";
import { StopSequenceFilter } from "./stop-sequences.js";
import type { FinishReason, GenerationEvent, SamplingOptions, TokenLogprob, TokenUsage } from "../engine.js";
import { IncrementalDetokenizer } from "./incremental-detokenizer.js";
import type { FormattedPrompt } from "./prompt-format.js";
import type { SequencePool } from "./sequence-pool.js";

export interface GenerationPlan {
  model: LlamaModel;
  sequence: LlamaContextSequence;
  pool: SequencePool;
  prompt: FormattedPrompt;
  sampling: SamplingOptions;
  /** Hard cap from the context window and the request. */
  maxOutputTokens: number;
  /** Constrains sampling to a grammar (structured output). */
  grammar?: LlamaGrammarEvaluationState;
  signal?: AbortSignal;
  /**
   * Asked after each text event: tokens the engine writes into the response itself, evaluated
   * right after the last generated token and not reported as output (a thought's closing
   * suffix once its budget is spent, see thought-segments.ts).
   */
  interject?: () => Token[] | undefined;
  /** Write special tokens as their text (a thinking model whose thought markers are special tokens). */
  specialTokens?: boolean;
}

/**
 * Runs one generation on a sequence: reuses the KV-cache prefix it shares with the prompt,
 * evaluates the rest, and yields text deltas until end of generation, a stop sequence, the
 * token limit or an abort.
 */
export async function* generateOnSequence(plan: GenerationPlan): AsyncGenerator<GenerationEvent> {
  const { model, sequence, pool, prompt, signal } = plan;
  // Keep the longest shared prefix; at least one prompt token is evaluated, for its logits.
  const cached = Math.min(sequence.compareContextTokens(prompt.tokens).firstDifferentIndex, prompt.tokens.length - 1);
  await pool.trim(sequence, cached);
  const usage: TokenUsage = { promptTokens: prompt.tokens.length, cachedPromptTokens: cached, outputTokens: 0 };
  yield { type: "start", usage: { ...usage } };

  const detokenizer = new IncrementalDetokenizer(model, plan.specialTokens);
  const stops = new StopSequenceFilter([...(plan.sampling.stopSequences ?? []), ...prompt.stopTexts]);
  const generated: Token[] = [];
  let finishReason: FinishReason = "STOP";
  let hitStopSequence = false;

  const tokens = prompt.tokens.slice(cached);
  const options = evaluateOptions(plan.sampling, generated, plan.grammar);
  const topCount = plan.sampling.logprobs;
  // Probabilities cost a pass over the vocabulary per token: asked for only with logprobs.
  const evaluation: AsyncGenerator<Token | { token: Token; probabilities: Map<Token, number> }, void, void | Token | Token[]> =
    topCount === undefined ? sequence.evaluate(tokens, options) : sequence.evaluateWithMetadata(tokens, { probabilities: true }, options);
  let logprobs: TokenLogprob[] | undefined = topCount === undefined ? undefined : [];
  // The next evaluation's tokens when the engine writes some of its own (node-llama-cpp's replacement tokens).
  let feed: Token[] | undefined;
  const takeFeed = () => {
    const tokens = feed;
    feed = undefined;
    return tokens;
  };
  for await (const item of tokensYieldingToTrims(evaluation, pool, takeFeed)) {
    if (signal?.aborted) return;
    const token = typeof item === "number" ? item : item.token;
    if (model.isEogToken(token) || prompt.stopTokens.includes(token)) {
      finishReason = "STOP";
      break;
    }
    if (logprobs && typeof item !== "number") logprobs.push(tokenLogprob(model, token, item.probabilities, topCount ?? 0, generated));
    generated.push(token);
    usage.outputTokens = generated.length;
    const { text, stopped } = stops.push(detokenizer.push(token));
    if (text.length > 0) {
      if (logprobs?.length) {
        yield { type: "text", text, usage: { ...usage }, logprobs };
        logprobs = [];
      } else {
        yield { type: "text", text, usage: { ...usage } };
      }
    }
    if (stopped) {
      finishReason = "STOP";
      hitStopSequence = true;
      break;
    }
    if (generated.length >= plan.maxOutputTokens) {
      finishReason = "MAX_TOKENS";
      break;
    }
    const written = text.length > 0 ? plan.interject?.() : undefined;
    if (written?.length) {
      feed = [token, ...written];
      detokenizer.skip(written);
    }
  }
  if (signal?.aborted) return;

  if (!hitStopSequence) {
    // Text held back as a possible stop-sequence start is real output once generation ends.
    const tail = stops.push(detokenizer.flush());
    const rest = tail.text + (tail.stopped ? "" : stops.flush());
    if (tail.stopped) finishReason = "STOP";
    if (rest.length > 0) yield { type: "text", text: rest, usage: { ...usage } };
  }
  yield logprobs?.length ? { type: "end", finishReason, usage: { ...usage }, logprobs } : { type: "end", finishReason, usage: { ...usage } };
}

const logOf = (p: number | undefined): number => Math.log(Math.max(p ?? 0, Number.MIN_VALUE));

/**
 * The chosen token's log probability and the `top` most likely tokens (the map is sorted, most
 * likely first), each token's text read after the tokens before it (SentencePiece's leading space).
 */
function tokenLogprob(model: LlamaModel, token: Token, probabilities: Map<Token, number>, top: number, before: Token[]): TokenLogprob {
  const context = before.slice(-8);
  const text = (id: Token) => model.detokenize([id], false, context);
  const choices: TokenLogprob["top"] = [];
  for (const [id, p] of probabilities) {
    if (choices.length >= top) break;
    choices.push({ token: text(id), tokenId: id, logProbability: logOf(p) });
  }
  return { token: text(token), tokenId: token, logProbability: logOf(probabilities.get(token)), top: choices };
}

/**
 * Pauses between tokens while another stream's trim waits for the context (see SequencePool).
 * `feed` says what to evaluate next instead of the token just generated (it must include it).
 */
async function* tokensYieldingToTrims<T>(evaluation: AsyncGenerator<T, void, void | Token | Token[]>, pool: SequencePool, feed: () => Token[] | undefined): AsyncGenerator<T> {
  try {
    for (;;) {
      const pending = pool.trimPending;
      if (pending) await pending;
      const step = await evaluation.next(feed());
      if (step.done) return;
      yield step.value;
    }
  } finally {
    await evaluation.return();
  }
}

const DEFAULT_REPEAT_PENALTY = 1.1;
const REPEAT_WINDOW = 64;

function evaluateOptions(sampling: SamplingOptions, generated: Token[], grammar?: LlamaGrammarEvaluationState): SequenceEvaluateOptions {
  const options: SequenceEvaluateOptions = {
    temperature: sampling.temperature ?? 1,
    topP: sampling.topP ?? 0.95,
    topK: sampling.topK ?? 64,
    // llama.cpp's own default: drops the long tail of unlikely tokens that sends a small model rambling.
    minP: 0.05,
    seed: sampling.seed,
    grammarEvaluationState: grammar,
    // Without it node-llama-cpp ends the evaluation silently on an end-of-generation token,
    // and the loop could not tell a finished turn from the output limit.
    yieldEogToken: true,
  };
  // Ollama's default (1.1 over the last 64 tokens) unless the request sets its own penalties:
  // without it small models fall into loops and never end their turn.
  const own = Boolean(sampling.presencePenalty || sampling.frequencyPenalty);
  options.repeatPenalty = {
    // A request's own penalties count every generated token (OpenAI's and Gemini's meaning).
    punishTokens: own ? () => generated : () => generated.slice(-REPEAT_WINDOW),
    penalty: own ? 1 : DEFAULT_REPEAT_PENALTY,
    presencePenalty: sampling.presencePenalty ?? 0,
    frequencyPenalty: sampling.frequencyPenalty ?? 0,
  };
  return options;
}
