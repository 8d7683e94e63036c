import type { PromptInput, TurnPart } from "../engine.js";
import type { OpenAiContentPart, OpenAiMessage } from "./openai-wire.js";

/** An engine prompt as OpenAI chat messages, for the upstream's /chat/completions. */

/** OpenAI's input_audio `format` for an audio MIME type (audio/mpeg → mp3, audio/x-wav → wav). */
export function audioFormat(mimeType: string): string {
  const base = mimeType.split(";")[0]!.trim().toLowerCase();
  if (base.includes("wav")) return "wav";
  if (base === "audio/mpeg" || base === "audio/mp3") return "mp3";
  return base.replace(/^audio\/(x-)?/, "");
}

/** Media as OpenAI content parts: images as data: URLs, audio as input_audio, PDFs as OpenAI's file part. */
function toContentPart(part: TurnPart, index: number): OpenAiContentPart {
  if (part.type === "text") return { type: "text", text: part.text };
  if (part.kind === "image") return { type: "image_url", image_url: { url: `data:${part.mimeType};base64,${part.data}` } };
  if (part.kind === "audio") return { type: "input_audio", input_audio: { data: part.data, format: audioFormat(part.mimeType) } };
  return { type: "file", file: { file_data: `data:${part.mimeType};base64,${part.data}`, filename: `document-${index}.pdf` } };
}

/** A model turn's thoughts go back as `reasoning_content`, which the Qwen3 and DeepSeek templates in vLLM and llama-server read. */
export function toChatMessages(prompt: PromptInput): OpenAiMessage[] {
  const messages: OpenAiMessage[] = [];
  if (prompt.systemInstruction) messages.push({ role: "system", content: prompt.systemInstruction });
  for (const turn of prompt.turns) {
    const role = turn.role === "model" ? "assistant" : "user";
    // Assistant messages carry text only in OpenAI's API; a model turn's media is not replayed.
    const message: OpenAiMessage = { role, content: turn.parts && role === "user" ? turn.parts.map(toContentPart) : turn.text };
    if (turn.role === "model" && turn.thought) message.reasoning_content = turn.thought;
    messages.push(message);
  }
  return messages;
}

/** A prompt as plain text to continue: the system instruction, a blank line, then the turns one per line (as the local engine lays it out). */
export function plainPrompt(prompt: PromptInput): string {
  const body = prompt.turns.map((turn) => turn.text).join("\n");
  return prompt.systemInstruction ? `${prompt.systemInstruction}\n\n${body}` : body;
}
