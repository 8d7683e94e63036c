import type { FinishReason, FunctionCall, GenerationEvent, TokenLogprob, TokenUsage } from "../engines/engine.js";

/** What both wire surfaces share about candidates (Gemini) or choices (OpenAI). */

/** Two runs of logprobs as one; absent when both are. */
export function joinLogprobs(a?: TokenLogprob[], b?: TokenLogprob[]): TokenLogprob[] | undefined {
  return a && b ? [...a, ...b] : (a ?? b);
}

/** Usage over several candidates of one prompt: the prompt once, the output of each. */
export function totalUsage(usages: (TokenUsage | undefined)[]): TokenUsage {
  const known = usages.filter((u): u is TokenUsage => u !== undefined);
  const first = known[0] ?? { promptTokens: 0, cachedPromptTokens: 0, outputTokens: 0 };
  const total: TokenUsage = { ...first, outputTokens: known.reduce((sum, u) => sum + u.outputTokens, 0) };
  if (known.some((u) => u.thoughtTokens !== undefined)) total.thoughtTokens = known.reduce((sum, u) => sum + (u.thoughtTokens ?? 0), 0);
  return total;
}

export interface CollectedCandidate {
  text: string;
  /** The model's reasoning, "" when it did not think. */
  thought: string;
  calls: FunctionCall[];
  logprobs?: TokenLogprob[];
  finishReason: FinishReason;
  finishMessage?: string;
  usage: TokenUsage;
}

/** One candidate's events as a whole reply; undefined when the generation did not end (aborted). */
export async function collectCandidate(events: AsyncIterable<GenerationEvent>): Promise<CollectedCandidate | undefined> {
  let text = "";
  let thought = "";
  const calls: FunctionCall[] = [];
  let logprobs: TokenLogprob[] | undefined;
  for await (const event of events) {
    if (event.type === "thought") {
      thought += event.text;
    } else if (event.type === "text") {
      text += event.text;
      logprobs = joinLogprobs(logprobs, event.logprobs);
    } else if (event.type === "calls") {
      calls.push(...event.calls);
    } else if (event.type === "end") {
      const whole: CollectedCandidate = { text, thought, calls, logprobs: joinLogprobs(logprobs, event.logprobs), finishReason: event.finishReason, usage: event.usage };
      if (event.finishMessage) whole.finishMessage = event.finishMessage;
      return whole;
    }
  }
  return undefined;
}

/** Every candidate whole, or undefined if any did not end. */
export async function collectCandidates(candidates: AsyncIterable<GenerationEvent>[]): Promise<CollectedCandidate[] | undefined> {
  const results = await Promise.all(candidates.map(collectCandidate));
  return results.every((r) => r !== undefined) ? results : undefined;
}
