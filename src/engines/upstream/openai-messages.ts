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

type ContentTurnPart = Extract<TurnPart, { type: "text" | "media" }>;

/** Media as OpenAI content parts: images as data: URLs, audio as input_audio, PDFs as OpenAI's file part. */
function toContentPart(part: ContentTurnPart, index: number): OpenAiContentPart {
  if (part.type === "text") return { type: "text", text: part.text };
  if (part.kind === "image") return { type: "image_url", image_url: { url: `data:${part.mimeType};base64,${part.data}` } };
  if (part.kind === "audio") return { type: "input_audio", input_audio: { data: part.data, format: audioFormat(part.mimeType) } };
  return { type: "file", file: { file_data: `data:${part.mimeType};base64,${part.data}`, filename: `document-${index}.pdf` } };
}

/** A result as a `tool` message: text as the client sent it, anything else (Gemini's response object) as JSON. */
const toolMessage = (part: Extract<TurnPart, { type: "result" }>): OpenAiMessage => ({
  role: "tool",
  tool_call_id: part.id,
  content: typeof part.response === "string" ? part.response : JSON.stringify(part.response ?? null),
});

/** A user turn's parts in order: each result its own `tool` message, the parts between them user messages (content parts when they hold media). */
function userMessages(parts: TurnPart[]): OpenAiMessage[] {
  const messages: OpenAiMessage[] = [];
  let run: [ContentTurnPart, number][] = [];
  const flush = () => {
    if (run.length === 0) return;
    const hasMedia = run.some(([part]) => part.type === "media");
    const text = run.map(([part]) => (part.type === "text" ? part.text : "")).join("");
    messages.push({ role: "user", content: hasMedia ? run.map(([part, i]) => toContentPart(part, i)) : text });
    run = [];
  };
  parts.forEach((part, i) => {
    if (part.type === "result") {
      flush();
      messages.push(toolMessage(part));
    } else if (part.type !== "call") run.push([part, i]);
  });
  flush();
  return messages;
}

/** A model turn: its text, and its calls as `tool_calls` with the arguments as a JSON string. Assistant messages carry no media in OpenAI's API. */
function assistantMessage(text: string, parts: TurnPart[] | undefined): OpenAiMessage {
  const calls = (parts ?? []).flatMap((part) => (part.type === "call" ? [part] : []));
  if (calls.length === 0) return { role: "assistant", content: text };
  const content = (parts ?? []).map((part) => (part.type === "text" ? part.text : "")).join("");
  return {
    role: "assistant",
    content: content || null,
    tool_calls: calls.map(({ id, name, args }) => ({ id, type: "function", function: { name, arguments: JSON.stringify(args) } })),
  };
}

/** A model turn's thoughts go back as `reasoning_content`, which the Qwen3 and DeepSeek templates in vLLM and llama-server read. */
export function toChatMessages(prompt: PromptInput): OpenAiMessage[] {
  const messages: OpenAiMessage[] = [];
  if (prompt.systemInstruction) messages.push({ role: "system", content: prompt.systemInstruction });
  for (const turn of prompt.turns) {
    if (turn.role === "user") {
      messages.push(...(turn.parts ? userMessages(turn.parts) : [{ role: "user" as const, content: turn.text }]));
      continue;
    }
    const message = assistantMessage(turn.text, turn.parts);
    if (turn.thought) message.reasoning_content = turn.thought;
    messages.push(message);
  }
  return messages;
}

/** A prompt as plain text to continue: the system instruction, a blank line, then the turns one per line (as the local engine lays it out). */
export function plainPrompt(prompt: PromptInput): string {
  const body = prompt.turns.map((turn) => turn.text).join("\n");
  return prompt.systemInstruction ? `${prompt.systemInstruction}\n\n${body}` : body;
}
