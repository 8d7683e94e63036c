import { invalidArgument } from "../base/api-error.js";
import type { Engine } from "../engines/engine.js";

/**
 * A model's raw embedding → what both surfaces return: truncated to the requested number of
 * dimensions (Matryoshka-style, as Gemini's outputDimensionality and OpenAI's `dimensions` do),
 * then scaled to unit length so cosine similarity is a dot product.
 */
export function fitDimensions(vector: readonly number[], dimensions?: number): number[] {
  if (dimensions !== undefined && (dimensions < 1 || dimensions > vector.length)) {
    throw invalidArgument(`The output dimensionality ${dimensions} is not supported: this model's embeddings have 1 to ${vector.length} dimensions.`);
  }
  const kept = dimensions === undefined ? [...vector] : vector.slice(0, dimensions);
  const norm = Math.hypot(...kept);
  return norm === 0 ? kept : kept.map((value) => value / norm);
}

/**
 * The embedding flow both surfaces run, once the model is known to embed: the engine's vectors
 * for the texts, each fitted to the dimensions asked for it, and the tokens read.
 */
export async function embedTexts(engine: Engine, texts: string[], dimensions: (index: number) => number | undefined): Promise<{ vectors: number[][]; tokens: number }> {
  const { vectors, tokens } = await engine.embed(texts);
  return { vectors: vectors.map((vector, i) => fitDimensions(vector, dimensions(i))), tokens };
}
