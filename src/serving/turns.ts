import type { ChatTurn } from "../engines/engine.js";

/**
 * Adds a turn to a prompt, merged into the last one when both have the same role (engines and
 * chat templates want roles to alternate). `separator` joins the two texts, each wire's own rule:
 * "" on Gemini's, where a content is parts that run on, "\n" on OpenAI's, where each message
 * stands alone. Media parts and thoughts join in order.
 */
export function appendTurn(turns: ChatTurn[], turn: ChatTurn, separator: string): void {
  const last = turns.at(-1);
  if (!last || last.role !== turn.role) {
    turns.push(turn);
    return;
  }
  if (turn.parts || last.parts) last.parts = [...(last.parts ?? [{ type: "text", text: last.text }]), ...(turn.parts ?? [{ type: "text", text: turn.text }])];
  last.text += separator + turn.text;
  if (turn.thought) last.thought = (last.thought ?? "") + turn.thought;
}
