import type { GenerationEvent, TokenUsage } from "../engines/engine.js";
import type { GenerateContentResponse } from "./protocol.js";
import { toResponse, type ResponseIdentity } from "./translate.js";

/**
 * Engine events → streamed Gemini responses. One text piece is held back so that
 * `finishReason` rides on the last chunk that still has text: the SDK's chat history drops a
 * turn whose last chunk has an empty part. A generation that ends without `end` (aborted)
 * yields nothing more.
 */
export async function* toResponseChunks(
  events: AsyncIterable<GenerationEvent>,
  identity: ResponseIdentity,
): AsyncGenerator<GenerateContentResponse> {
  let held: { text: string; usage: TokenUsage } | undefined;
  for await (const event of events) {
    if (event.type === "text") {
      if (held) yield toResponse(held.text, held.usage, identity);
      held = { text: event.text, usage: event.usage };
    } else if (event.type === "end") {
      yield toResponse(held?.text ?? "", event.usage, identity, event.finishReason);
      return;
    }
  }
}

/** Engine events → the one response of `generateContent`. */
export async function collectResponse(
  events: AsyncIterable<GenerationEvent>,
  identity: ResponseIdentity,
): Promise<GenerateContentResponse | undefined> {
  let text = "";
  for await (const event of events) {
    if (event.type === "text") text += event.text;
    else if (event.type === "end") return toResponse(text, event.usage, identity, event.finishReason);
  }
  return undefined;
}
