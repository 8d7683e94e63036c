import type { LlamaContextSequence, LlamaModel, SequenceEvaluateOptions, Token } from "node-llama-cpp";
import { StopSequenceFilter } from "../../serving/stop-sequences.js";
import type { FinishReason, GenerationEvent, SamplingOptions, TokenUsage } from "../engine.js";
import { IncrementalDetokenizer } from "./incremental-detokenizer.js";
import type { FormattedPrompt } from "./prompt-format.js";

export interface GenerationPlan {
  model: LlamaModel;
  sequence: LlamaContextSequence;
  prompt: FormattedPrompt;
  sampling: SamplingOptions;
  /** Hard cap from the context window and the request. */
  maxOutputTokens: number;
  signal?: AbortSignal;
}

/**
 * Runs one generation on a sequence: reuses the KV-cache prefix it shares with the prompt,
 * evaluates the rest, and yields text deltas until end of generation, a stop sequence, the
 * token limit or an abort.
 */
export async function* generateOnSequence(plan: GenerationPlan): AsyncGenerator<GenerationEvent> {
  const { model, sequence, prompt, signal } = plan;
  const cached = await reusePrefix(sequence, prompt.tokens);
  const usage: TokenUsage = { promptTokens: prompt.tokens.length, cachedPromptTokens: cached, outputTokens: 0 };
  yield { type: "start", usage: { ...usage } };

  const detokenizer = new IncrementalDetokenizer(model);
  const stops = new StopSequenceFilter([...(plan.sampling.stopSequences ?? []), ...prompt.stopTexts]);
  const generated: Token[] = [];
  let finishReason: FinishReason = "MAX_TOKENS";
  let hitStopSequence = false;

  const evaluation = sequence.evaluate(prompt.tokens.slice(cached), evaluateOptions(plan.sampling, generated));
  for await (const token of evaluation) {
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

/** Keeps the longest shared prefix (at least one prompt token is always evaluated, for logits). */
async function reusePrefix(sequence: LlamaContextSequence, tokens: Token[]): Promise<number> {
  const shared = sequence.compareContextTokens(tokens).firstDifferentIndex;
  const keep = Math.min(shared, tokens.length - 1);
  if (keep < sequence.nextTokenIndex) {
    await sequence.eraseContextTokenRanges([{ start: keep, end: sequence.nextTokenIndex }]);
  }
  return keep;
}

function evaluateOptions(sampling: SamplingOptions, generated: Token[]): SequenceEvaluateOptions {
  const options: SequenceEvaluateOptions = {
    temperature: sampling.temperature ?? 1,
    topP: sampling.topP ?? 0.95,
    topK: sampling.topK ?? 64,
    seed: sampling.seed,
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
