import type { LlamaContextSequence, LlamaGrammarEvaluationState, LlamaModel, SequenceEvaluateOptions, Token } from "node-llama-cpp";
import { StopSequenceFilter } from "../../serving/stop-sequences.js";
import type { FinishReason, GenerationEvent, SamplingOptions, TokenUsage } from "../engine.js";
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

  const detokenizer = new IncrementalDetokenizer(model);
  const stops = new StopSequenceFilter([...(plan.sampling.stopSequences ?? []), ...prompt.stopTexts]);
  const generated: Token[] = [];
  let finishReason: FinishReason = "MAX_TOKENS";
  let hitStopSequence = false;

  const evaluation = sequence.evaluate(prompt.tokens.slice(cached), evaluateOptions(plan.sampling, generated, plan.grammar));
  for await (const token of tokensYieldingToTrims(evaluation, pool)) {
    if (signal?.aborted) return;
    if (model.isEogToken(token) || prompt.stopTokens.includes(token)) {
      finishReason = "STOP";
      break;
    }
    generated.push(token);
    usage.outputTokens = generated.length;
    const { text, stopped } = stops.push(detokenizer.push(token));
    if (text.length > 0) yield { type: "text", text, usage: { ...usage } };
    if (stopped) {
      finishReason = "STOP";
      hitStopSequence = true;
      break;
    }
    if (generated.length >= plan.maxOutputTokens) break;
  }
  if (signal?.aborted) return;

  if (!hitStopSequence) {
    // Text held back as a possible stop-sequence start is real output once generation ends.
    const tail = stops.push(detokenizer.flush());
    const rest = tail.text + (tail.stopped ? "" : stops.flush());
    if (tail.stopped) finishReason = "STOP";
    if (rest.length > 0) yield { type: "text", text: rest, usage: { ...usage } };
  }
  yield { type: "end", finishReason, usage: { ...usage } };
}

/** Pauses between tokens while another stream's trim waits for the context (see SequencePool). */
async function* tokensYieldingToTrims(evaluation: AsyncGenerator<Token, void, void | Token | Token[]>, pool: SequencePool): AsyncGenerator<Token> {
  try {
    for (;;) {
      const pending = pool.trimPending;
      if (pending) await pending;
      const step = await evaluation.next();
      if (step.done) return;
      yield step.value;
    }
  } finally {
    await evaluation.return();
  }
}

function evaluateOptions(sampling: SamplingOptions, generated: Token[], grammar?: LlamaGrammarEvaluationState): SequenceEvaluateOptions {
  const options: SequenceEvaluateOptions = {
    temperature: sampling.temperature ?? 1,
    topP: sampling.topP ?? 0.95,
    topK: sampling.topK ?? 64,
    seed: sampling.seed,
    grammarEvaluationState: grammar,
  };
  if (sampling.presencePenalty || sampling.frequencyPenalty) {
    options.repeatPenalty = {
      punishTokens: () => generated,
      penalty: 1,
      presencePenalty: sampling.presencePenalty ?? 0,
      frequencyPenalty: sampling.frequencyPenalty ?? 0,
    };
  }
  return options;
}
