import type { GenerationEvent, TokenUsage } from "../engines/engine.js";
import { collectCandidates, joinLogprobs, totalUsage } from "../serving/candidates.js";
import { interleave } from "../serving/interleave.js";
import { heldFirstPieceDeadline } from "../serving/chunk-policy.js";
import { randomId } from "../base/random-id.js";
import type { GenerateContentResponse } from "./protocol.js";
import { toCandidate, toCandidatesResponse, toUsageMetadata, turnSignature, type CandidatePiece, type ResponseIdentity } from "./translate-response.js";

/** Whether the client asked for the model's thoughts (thinkingConfig.includeThoughts); they are counted either way. */
export interface ThoughtDisplay {
  includeThoughts: boolean;
}

type Held = CandidatePiece & { usage: TokenUsage };

/** A Gemini `responseId`: 16 random bytes, base64url (the same id on every chunk of a response). */
export const newResponseId = (): string => randomId(16);

const TURN_OVER = Symbol("turn over");

/**
 * Engine events → streamed Gemini responses for candidate `index`. `finishReason` must ride on
 * the last chunk that still has parts (the SDKs' chat history drops a turn whose last chunk has
 * none — and google-genai (Python) before 1.57 also drops one whose last chunk has only an empty
 * text part), so the last character of the text so far is held back until more text or
 * the end arrives, and the rest of every piece leaves at once. A first piece of one character
 * is the exception: it leaves whole at the chunk policy's deadline (heldFirstPieceDeadline; an
 * end that came with it, as with a limit of one token, still makes one chunk); should the model
 * stop right after it, the last chunk carries `{text: ""}` with the finishReason, as Google's own streams sometimes end. Function calls are
 * held whole. Thoughts go out as they come, each a `thought: true` part (when the client asked
 * for them), and the turn's signature rides on its first function call or its last chunk. A
 * generation that ends without `end` (aborted) yields nothing more.
 */
export async function* toResponseChunks(
  events: AsyncIterable<GenerationEvent>,
  identity: ResponseIdentity,
  index = 0,
  display: ThoughtDisplay = { includeThoughts: false },
): AsyncGenerator<GenerateContentResponse> {
  const response = (piece: CandidatePiece, usage: TokenUsage) => toCandidatesResponse([toCandidate(piece, index)], toUsageMetadata(usage), identity);
  const source = events[Symbol.asyncIterator]();
  let held: Held | undefined;
  let textSent = false;
  let thought = "";
  let ahead: Promise<IteratorResult<GenerationEvent>> | undefined;
  try {
    for (;;) {
      let result: IteratorResult<GenerationEvent>;
      if (held && !held.calls && held.text && !textSent) {
        ahead = source.next();
        const first = await Promise.race([ahead, heldFirstPieceDeadline(TURN_OVER)]);
        if (first === TURN_OVER) {
          const piece = held;
          held = undefined;
          textSent = true;
          yield response(piece, piece.usage);
          continue;
        }
        result = first;
      } else {
        result = await (ahead ?? source.next());
      }
      ahead = undefined;
      if (result.done) return;
      const event = result.value;
      if (event.type === "thought") {
        thought += event.text;
        if (!display.includeThoughts || !event.text) continue;
        if (held) {
          yield response(held, held.usage);
          if (!held.calls) textSent = true;
          held = undefined;
        }
        yield response({ text: "", thought: event.text }, event.usage);
      } else if (event.type === "text") {
        const heldText = held && !held.calls ? held : undefined;
        if (held && !heldText) yield response(held, held.usage);
        const text = (heldText?.text ?? "") + event.text;
        const logprobs = joinLogprobs(heldText?.logprobs, event.logprobs);
        const cut = text.length - lastCodePointLength(text);
        if (cut > 0) {
          textSent = true;
          yield response(logprobs ? { text: text.slice(0, cut), logprobs } : { text: text.slice(0, cut) }, event.usage);
          held = { text: text.slice(cut), usage: event.usage };
        } else {
          held = logprobs ? { text, logprobs, usage: event.usage } : { text, usage: event.usage };
        }
      } else if (event.type === "calls") {
        if (held) yield response(held, held.usage);
        held = { text: "", calls: event.calls, usage: event.usage, signature: turnSignature(thought, event.usage) };
      } else if (event.type === "end") {
        const last: CandidatePiece = held ?? { text: "" };
        const logprobs = joinLogprobs(last.logprobs, event.logprobs);
        const signature = last.signature ?? turnSignature(thought, event.usage);
        yield response({ ...last, logprobs, signature, finishReason: event.finishReason, finishMessage: event.finishMessage }, event.usage);
        return;
      }
    }
  } finally {
    // Whoever stops reading (a client gone) stops the events too.
    await source.return?.();
  }
}

/** UTF-16 units of the string's last code point (2 for a surrogate pair), 0 for "". */
function lastCodePointLength(text: string): number {
  if (text.length < 2) return text.length;
  const low = text.charCodeAt(text.length - 1);
  const high = text.charCodeAt(text.length - 2);
  return low >= 0xdc00 && low <= 0xdfff && high >= 0xd800 && high <= 0xdbff ? 2 : 1;
}

/** The one response of `generateContent`, over every candidate. */
export async function collectResponse(
  candidates: AsyncIterable<GenerationEvent>[],
  identity: ResponseIdentity,
  display: ThoughtDisplay = { includeThoughts: false },
): Promise<GenerateContentResponse | undefined> {
  const done = await collectCandidates(candidates);
  if (!done) return undefined;
  const whole = done.map((c, index) => {
    const piece: CandidatePiece = { ...c, thought: display.includeThoughts ? c.thought : undefined, signature: turnSignature(c.thought, c.usage) };
    const candidate = toCandidate(piece, index);
    if (c.logprobs?.length) candidate.avgLogprobs = candidate.logprobsResult!.logProbabilitySum! / c.logprobs.length;
    return candidate;
  });
  return toCandidatesResponse(whole, toUsageMetadata(totalUsage(done.map((c) => c.usage))), identity);
}

/** Every candidate's chunks, interleaved as they are generated; each chunk's usage counts all candidates so far. */
export async function* toCandidateChunks(
  candidates: AsyncIterable<GenerationEvent>[],
  identity: ResponseIdentity,
  display: ThoughtDisplay = { includeThoughts: false },
): AsyncGenerator<GenerateContentResponse> {
  if (candidates.length === 1) {
    yield* toResponseChunks(candidates[0]!, identity, 0, display);
    return;
  }
  const output = candidates.map(() => 0);
  const thoughts = candidates.map((): number | undefined => undefined);
  for await (const [index, chunk] of interleave(candidates.map((events, i) => toResponseChunks(events, identity, i, display)))) {
    output[index] = chunk.usageMetadata.candidatesTokenCount ?? 0;
    thoughts[index] = chunk.usageMetadata.thoughtsTokenCount;
    const candidatesTokenCount = output.reduce((sum, n) => sum + n, 0);
    const thought = thoughts.some((n) => n !== undefined) ? thoughts.reduce((sum: number, n) => sum + (n ?? 0), 0) : undefined;
    const totalTokenCount = (chunk.usageMetadata.promptTokenCount ?? 0) + candidatesTokenCount + (thought ?? 0);
    chunk.usageMetadata = { ...chunk.usageMetadata, candidatesTokenCount, totalTokenCount, ...(thought === undefined ? {} : { thoughtsTokenCount: thought }) };
    yield chunk;
  }
}
