import type { ChatHistoryItem, ChatModelFunctionCall, ChatModelResponse, ChatModelSegment } from "node-llama-cpp";
import type { ChatTurn, TurnPart } from "../engine.js";

/**
 * A prompt's turns as node-llama-cpp chat history. For a model with a function-calling format of
 * its own, a model turn's calls and the next user turn's results become the wrapper's function-call
 * items (a call with its result), which it renders in that format; otherwise, and whenever calls
 * and results do not pair up turn by turn, every turn is its text, calls and results written out.
 */
export function chatHistoryItems(turns: ChatTurn[], thinks: boolean, nativeCalls: boolean): ChatHistoryItem[] {
  if (!nativeCalls || !turns.some((turn) => turn.parts?.some((part) => part.type === "call")) || !pairedInPlace(turns)) {
    return turns.map((turn) => (turn.role === "user" ? { type: "user", text: turn.text } : { type: "model", response: modelResponse(turn, [turn.text], thinks) }));
  }
  const results = new Map<string, unknown>();
  for (const part of turns.flatMap((turn) => turn.parts ?? [])) if (part.type === "result") results.set(part.id, part.response);
  const items: ChatHistoryItem[] = [];
  for (const turn of turns) {
    const parts = turn.parts ?? [{ type: "text", text: turn.text }];
    if (turn.role === "user") {
      // A turn of results only is the model's turn going on: the wrapper writes the results after the calls.
      const rest = parts.filter((part) => part.type !== "result");
      if (rest.length > 0) items.push({ type: "user", text: textOf(rest) });
      continue;
    }
    const pieces = parts.flatMap((part, i): ChatModelResponse["response"] => {
      if (part.type === "text") return part.text ? [part.text] : [];
      if (part.type !== "call") return [];
      const first = !parts.slice(0, i).some((earlier) => earlier.type === "call");
      return [functionCall(part, results.get(part.id), first)];
    });
    const response = modelResponse(turn, pieces, thinks);
    const last = items.at(-1);
    if (last?.type === "model") last.response.push(...response);
    else items.push({ type: "model", response });
  }
  return items;
}

/**
 * A model turn as the wrapper renders it: a thought given back (from its signature, for the steps
 * after the last user message) becomes the wrapper's own thought segment before the rest, as the
 * model wrote it. Left out for a wrapper without thought segments (it would write the text bare).
 */
function modelResponse(turn: ChatTurn, pieces: ChatModelResponse["response"], thinks: boolean): ChatModelResponse["response"] {
  if (!turn.thought || !thinks) return pieces;
  const thought: ChatModelSegment = { type: "segment", segmentType: "thought", text: turn.thought, ended: true };
  return [thought, ...pieces.filter((piece) => piece !== "")];
}

const textOf = (parts: TurnPart[]): string => parts.map((part) => (part.type === "text" ? part.text : "")).join("");

/** `startsNewChunk`: a turn's calls are one parallel section, apart from the calls of other turns. */
function functionCall(call: Extract<TurnPart, { type: "call" }>, response: unknown, startsNewChunk: boolean): ChatModelFunctionCall {
  const params = Object.keys(call.args).length > 0 ? call.args : undefined;
  return { type: "functionCall", name: call.name, params, result: resultValue(response), startsNewChunk };
}

/** OpenAI's tool messages hold results as text, most often JSON: the wrapper writes a value as JSON, so JSON text is read back to one. */
function resultValue(response: unknown): unknown {
  if (typeof response !== "string") return response ?? null;
  try {
    return JSON.parse(response);
  } catch {
    return response;
  }
}

/** Whether each model turn's calls are answered, each exactly once, by the user turn right after it, and every result answers such a call. */
function pairedInPlace(turns: ChatTurn[]): boolean {
  const ids = (turn: ChatTurn | undefined, type: "call" | "result") => (turn?.parts ?? []).flatMap((part) => (part.type === type ? [part.id] : []));
  return turns.every((turn, i) => {
    if (ids(turn, turn.role === "model" ? "result" : "call").length > 0) return false;
    const [mine, answering] = turn.role === "model" ? [ids(turn, "call"), ids(turns[i + 1], "result")] : [ids(turn, "result"), ids(turns[i - 1], "call")];
    if (mine.length === 0) return true;
    const sorted = (list: string[]) => [...list].sort().join("\u0000");
    return new Set(mine).size === mine.length && sorted(mine) === sorted(answering);
  });
}
