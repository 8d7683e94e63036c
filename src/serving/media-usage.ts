import type { GenerationEvent, MediaModality, PromptInput, TokenUsage } from "../engines/engine.js";
import { mediaTokensByModality, type Modality } from "./media-parts.js";

/**
 * Usage's promptTokensDetails when the prompt holds media. Engines report the prompt as one
 * number (an upstream's prompt_tokens includes what it charged for images and audio), so the
 * split is ours: each media modality gets the fixed rate countTokens gives it, and TEXT the rest
 * of the engine's count; the details always add up to promptTokenCount.
 */

export interface ModalityTokenCount {
  modality: Modality;
  tokenCount: number;
}

/** The prompt's media tokens per modality (fixed rates), undefined for a prompt without media. */
export function promptMediaTokens(prompt: PromptInput): TokenUsage["promptMedia"] {
  const counts = mediaTokensByModality(prompt);
  return counts.size === 0 ? undefined : Object.fromEntries(counts);
}

/** Every event's usage carries the prompt's media tokens, for the wire surfaces to split the prompt count. */
export async function* withPromptMedia(events: AsyncIterable<GenerationEvent>, promptMedia: NonNullable<TokenUsage["promptMedia"]>): AsyncGenerator<GenerationEvent> {
  for await (const event of events) yield { ...event, usage: { ...event.usage, promptMedia } } as GenerationEvent;
}

/**
 * `promptTokens` per modality, as Google lists them: TEXT first, then each media modality present.
 * Should the engine count fewer prompt tokens than the media's rates (it reads images smaller),
 * the media modalities share its count in proportion (rounded down) and TEXT keeps what rounding
 * leaves. TEXT is listed when it is above 0 or when there is nothing else to list.
 */
export function promptTokensDetails(promptTokens: number, promptMedia?: TokenUsage["promptMedia"]): ModalityTokenCount[] {
  const media = (Object.entries(promptMedia ?? {}) as [MediaModality, number][]).filter(([, count]) => count > 0);
  const rated = media.reduce((sum, [, count]) => sum + count, 0);
  const scale = rated > promptTokens ? promptTokens / rated : 1;
  const shares = media.map(([modality, count]) => ({ modality, tokenCount: Math.floor(count * scale) })).filter((share) => share.tokenCount > 0);
  const text = promptTokens - shares.reduce((sum, share) => sum + share.tokenCount, 0);
  return text > 0 || shares.length === 0 ? [{ modality: "TEXT", tokenCount: text }, ...shares] : shares;
}
