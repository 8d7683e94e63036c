import type { ChatTurn, TurnPart, TurnRole } from "../engines/engine.js";

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

/** A turn of `text` whose `parts` are kept only when one is more than text (a text-only turn stays as it always was). */
export function partsTurn(role: TurnRole, text: string, parts: TurnPart[], thought?: string): ChatTurn {
  const turn: ChatTurn = { role, text };
  if (parts.some((part) => part.type !== "text")) turn.parts = parts;
  if (thought) turn.thought = thought;
  return turn;
}

/**
 * Pairs the function results of one conversation with the calls they answer, as Google pairs
 * them: by id when the client gives one, otherwise the earliest unanswered call of that name.
 * Ids it makes are numbered in order, so the same history always gets the same ids (a prompt
 * an engine has cached renders the same again).
 */
export class CallPairing {
  private readonly unanswered = new Map<string, string[]>();
  private readonly names = new Map<string, string>();
  private made = 0;

  /** A call's id: the client's, or a new one. */
  call(name: string, id?: string): string {
    const callId = id || this.newId();
    this.names.set(callId, name);
    this.unanswered.set(name, [...(this.unanswered.get(name) ?? []), callId]);
    return callId;
  }

  /** The call a result answers; `name` may be left out where the wire does (OpenAI's tool messages). */
  result(name: string | undefined, id?: string): { id: string; name: string } {
    const resolved = name ?? (id ? this.names.get(id) : undefined) ?? "the function";
    const waiting = this.unanswered.get(resolved) ?? [];
    const callId = id || waiting[0] || this.newId();
    const at = waiting.indexOf(callId);
    if (at >= 0) waiting.splice(at, 1);
    return { id: callId, name: resolved };
  }

  // Nine digits at the end: the tail Mistral's templates keep of an id.
  private newId(): string {
    return `call_${String(++this.made).padStart(9, "0")}`;
  }
}
