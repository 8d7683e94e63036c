import type { GenerateRequest, GenerationEvent, PromptInput, TurnPart } from "../engine.js";

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** A lone UTF-16 surrogate as U+FFFD: llama-server's JSON parser refuses one (a 500), the node-llama-cpp engine reads it so. */
export function wellFormedText(text: string): string {
  return text.replace(LONE_SURROGATE, "\ufffd");
}

export function wellFormedPrompt(prompt: PromptInput): PromptInput {
  const part = (p: TurnPart): TurnPart => (p.type === "text" ? { ...p, text: wellFormedText(p.text) } : p);
  return {
    ...prompt,
    ...(prompt.systemInstruction === undefined ? {} : { systemInstruction: wellFormedText(prompt.systemInstruction) }),
    turns: prompt.turns.map((turn) => ({
      ...turn,
      text: wellFormedText(turn.text),
      ...(turn.thought === undefined ? {} : { thought: wellFormedText(turn.thought) }),
      ...(turn.parts ? { parts: turn.parts.map(part) } : {}),
    })),
  };
}

/** The request's own text (prompt, stop sequences) well formed; function declarations are sent as given. */
export function wellFormed(request: GenerateRequest): GenerateRequest {
  const stops = request.sampling.stopSequences;
  return { ...request, prompt: wellFormedPrompt(request.prompt), sampling: stops ? { ...request.sampling, stopSequences: stops.map(wellFormedText) } : request.sampling };
}

/**
 * What the OpenAI wire cannot say to llama-server, said in its own request fields: an enum as a
 * GBNF grammar, and for plain-text continuation (/v1/completions, which passes llama-server's
 * native fields through but reads no response_format or logprobs) the constraint as `json_schema`
 * and log probabilities as `n_probs`; and timings on every chunk. The request that goes on carries what remains for the OpenAI
 * client to send.
 */
export function nativeFields(request: GenerateRequest, plain: boolean): { request: GenerateRequest; fields: Record<string, unknown> } {
  const { constraint, logprobs } = request.sampling;
  // The prompt's count on every chunk (usage comes only with the last), as Gemini's stream carries it.
  const fields: Record<string, unknown> = { timings_per_token: true, ...repeatPenalty(request) };
  // The node-llama-cpp engine's defaults (engines/llama/token-generation.ts), so both engines sample alike.
  const sampling = { ...request.sampling, temperature: request.sampling.temperature ?? 1, topP: request.sampling.topP ?? 0.95, topK: request.sampling.topK ?? 64 };
  if (constraint?.kind === "enum") {
    // JSON's string escapes are GBNF's.
    fields.grammar = `root ::= ${constraint.values.map((value) => JSON.stringify(value)).join(" | ")}`;
    delete sampling.constraint;
  } else if (plain && constraint?.kind === "json") {
    fields.json_schema = {};
    delete sampling.constraint;
  } else if (plain && constraint?.kind === "json-schema") {
    fields.json_schema = constraint.schema;
    delete sampling.constraint;
  }
  if (plain && logprobs !== undefined) {
    // n_probs 0 would send none at all: the chosen token's comes with the top one, cut off again below.
    fields.n_probs = Math.max(1, logprobs);
    delete sampling.logprobs;
  }
  return { request: { ...request, sampling }, fields };
}

/**
 * Ollama's repeat penalty (1.1 over the last 64 tokens), as the node-llama-cpp engine applies it,
 * unless the request sets penalties of its own: small models loop without it. min_p 0.05 is
 * llama-server's default already.
 */
function repeatPenalty(request: GenerateRequest): Record<string, unknown> {
  const own = Boolean(request.sampling.presencePenalty || request.sampling.frequencyPenalty);
  // A request's own penalties count every generated token (OpenAI's and Gemini's meaning): -1 is the whole context.
  return own ? { repeat_penalty: 1, repeat_last_n: -1 } : { repeat_penalty: 1.1, repeat_last_n: 64 };
}

/** Alternatives beyond the `top` asked for (n_probs is at least 1) are dropped. */
export async function* limitTopLogprobs(events: AsyncIterable<GenerationEvent>, top: number | undefined): AsyncGenerator<GenerationEvent> {
  for await (const event of events) {
    if (top !== undefined && event.type === "text" && event.logprobs) {
      yield { ...event, logprobs: event.logprobs.map((choice) => ({ ...choice, top: choice.top.slice(0, top) })) };
    } else {
      yield event;
    }
  }
}
