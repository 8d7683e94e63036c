import type { ChatTurn, TurnPart, GenerateRequest, SamplingOptions, ThinkingOptions, ToolUse } from "../engines/engine.js";
import { invalidArgument, NOT_YET } from "../base/api-error.js";
import { exceedsJsonDepth, MAX_JSON_DEPTH } from "../base/json-depth.js";
import { toGrammarSchema, type OutputConstraint } from "../serving/output-constraint.js";
import { callText, checkToolUse, NO_PARAMETERS, resultText } from "../serving/tool-calls.js";
import { appendTurn, CallPairing, partsTurn } from "../serving/turns.js";
import type { ChatCompletionRequest, ChatMessage, CompletionRequest } from "./protocol.js";

/** Pure translation of OpenAI's chat/completions requests into the engine's (responses: translate-response.ts). */

function messageText(message: ChatMessage, index: number): string {
  const content = message.content;
  if (content === undefined || content === null) return "";
  if (typeof content === "string") return content;
  return content
    .map((part, j) => {
      if (part.type !== "text" || typeof (part as { text?: unknown }).text !== "string") {
        throw invalidArgument(`messages[${index}].content[${j}]: content parts of type "${part.type}" ${NOT_YET}; send text.`);
      }
      return (part as { text: string }).text;
    })
    .join("");
}

function sampling(body: CompletionRequest | ChatCompletionRequest, maxTokens: number | null | undefined): SamplingOptions {
  if (body.logit_bias && Object.keys(body.logit_bias).length) throw invalidArgument(`logit_bias ${NOT_YET}.`);
  if (body.top_logprobs !== undefined && body.top_logprobs !== null && !body.logprobs) throw invalidArgument("top_logprobs: set logprobs to true to use top_logprobs.");
  return {
    temperature: body.temperature ?? undefined,
    topP: body.top_p ?? undefined,
    topK: body.top_k ?? undefined,
    seed: body.seed ?? undefined,
    maxOutputTokens: maxTokens ?? undefined,
    stopSequences: typeof body.stop === "string" ? [body.stop] : (body.stop ?? undefined),
    presencePenalty: body.presence_penalty ?? undefined,
    frequencyPenalty: body.frequency_penalty ?? undefined,
    logprobs: body.logprobs ? (body.top_logprobs ?? 0) : undefined,
  };
}

/** tools + tool_choice → the functions the model may call, and how. */
export function toToolUse(tools: ChatCompletionRequest["tools"], choice: ChatCompletionRequest["tool_choice"]): ToolUse | undefined {
  if (!tools?.length) {
    if (choice !== undefined && choice !== null && choice !== "none" && choice !== "auto") throw invalidArgument("tool_choice: there are no tools to choose from.");
    return undefined;
  }
  const functions = tools.map((tool, i) => ({
    name: tool.function.name,
    description: tool.function.description ?? undefined,
    parameters: tool.function.parameters ? toGrammarSchema(tool.function.parameters, `tools[${i}].function.parameters`, { advisory: true }) : NO_PARAMETERS,
    declaredParameters: tool.function.parameters ?? undefined,
  }));
  if (choice === undefined || choice === null || choice === "auto") return checkToolUse({ functions, mode: "AUTO" }, "tools");
  if (choice === "none") return checkToolUse({ functions, mode: "NONE" }, "tools");
  if (choice === "required") return checkToolUse({ functions, mode: "ANY" }, "tools");
  return checkToolUse({ functions, mode: "ANY", allowed: [choice.function.name] }, "tool_choice");
}

/** An assistant message's tool calls, paired by `pairing` for the results that follow. */
function toolCalls(message: ChatMessage, index: number, pairing: CallPairing): Extract<TurnPart, { type: "call" }>[] {
  return (message.tool_calls ?? []).map((call, j) => {
    let args: unknown;
    const text = call.function.arguments || "{}";
    // JSON inside a string escapes the body's depth guard; the call text re-serialises it.
    if (exceedsJsonDepth(text)) throw invalidArgument(`messages[${index}].tool_calls[${j}].function.arguments: nested more than ${MAX_JSON_DEPTH} levels deep.`);
    try {
      args = JSON.parse(text);
    } catch {
      throw invalidArgument(`messages[${index}].tool_calls[${j}].function.arguments: not valid JSON.`);
    }
    const name = call.function.name;
    return { type: "call", id: pairing.call(name, call.id), name, args: args as Record<string, unknown> };
  });
}

/** A message as a turn: text, then an assistant's calls, or a tool message's result; calls and results also as text for engines that read only text. */
function messageTurn(message: ChatMessage, index: number, pairing: CallPairing, thought: string | undefined): ChatTurn {
  const content = messageText(message, index);
  const role = message.role === "assistant" ? "model" : "user";
  if (message.role === "tool" || message.role === "function") {
    const result = pairing.result(message.name, message.tool_call_id);
    return partsTurn(role, resultText(result.name, content), [{ type: "result", ...result, response: content }], thought);
  }
  const calls = message.role === "assistant" ? toolCalls(message, index, pairing) : [];
  const parts: TurnPart[] = content ? [{ type: "text", text: content }, ...calls] : calls;
  return partsTurn(role, calls.length ? content + callText(calls) : content, parts, thought);
}

/**
 * reasoning_effort → thinking, the way OpenAI's effort names read as Gemini's levels ("none":
 * no thinking). Reasoning always streams back as `reasoning_content`, as vLLM sends it.
 */
export function toThinking(effort: string | null | undefined): ThinkingOptions | undefined {
  if (effort === undefined || effort === null) return undefined;
  const level = effort.toUpperCase();
  if (level === "NONE") return { includeThoughts: true, budget: 0 };
  if (level === "MINIMAL" || level === "LOW" || level === "MEDIUM" || level === "HIGH") return { includeThoughts: true, level };
  throw invalidArgument(`reasoning_effort: "${effort}" is not one of none, minimal, low, medium, high.`);
}

/** An assistant message's reasoning as vLLM and llama-server take it back (`reasoning_content`, or OpenRouter's `reasoning`). */
function messageReasoning(message: ChatMessage): string | undefined {
  const reasoning = (message as { reasoning_content?: unknown; reasoning?: unknown }).reasoning_content ?? (message as { reasoning?: unknown }).reasoning;
  return typeof reasoning === "string" && reasoning ? reasoning : undefined;
}

export function chatToGenerateRequest(body: ChatCompletionRequest, signal?: AbortSignal): GenerateRequest {
  const system: string[] = [];
  const turns: ChatTurn[] = [];
  const pairing = new CallPairing();
  // Reasoning is given back only for the steps after the last user message (a tool-calling exchange).
  const lastUser = body.messages.findLastIndex((message) => message.role === "user");
  body.messages.forEach((message, index) => {
    if (message.role === "system" || message.role === "developer") {
      system.push(messageText(message, index));
      return;
    }
    const thought = message.role === "assistant" && index > lastUser ? messageReasoning(message) : undefined;
    appendTurn(turns, messageTurn(message, index, pairing, thought), "\n");
  });
  if (turns.length === 0) throw invalidArgument("messages: at least one user or assistant message is required.");
  const constraint = toConstraint(body.response_format);
  const tools = toToolUse(body.tools, body.tool_choice);
  if (tools?.mode === "ANY" && constraint) throw invalidArgument("response_format cannot be combined with a required tool call.");
  const thinking = toThinking(body.reasoning_effort);
  return {
    prompt: { turns, systemInstruction: system.length ? system.join("\n") : undefined },
    ...(thinking ? { thinking } : {}),
    sampling: { ...sampling(body, body.max_completion_tokens ?? body.max_tokens), constraint },
    tools,
    candidateCount: body.n ?? undefined,
    signal,
  };
}

/** response_format → the constraint generation must follow. */
function toConstraint(format: ChatCompletionRequest["response_format"]): OutputConstraint | undefined {
  if (!format || format.type === "text") return undefined;
  if (format.type === "json_object") return { kind: "json" };
  if (format.type === "json_schema") {
    const schema = (format as { json_schema?: { schema?: unknown } }).json_schema?.schema;
    return schema === undefined ? { kind: "json" } : { kind: "json-schema", schema: toGrammarSchema(schema, "response_format.json_schema.schema") };
  }
  throw invalidArgument(`response_format.type: "${format.type}" is not supported; use text, json_object or json_schema.`);
}

export function completionToGenerateRequest(body: CompletionRequest, signal?: AbortSignal): GenerateRequest {
  if (body.logprobs) throw invalidArgument(`logprobs ${NOT_YET} on /v1/completions; use /v1/chat/completions.`);
  if (body.echo) throw invalidArgument(`echo ${NOT_YET}.`);
  if (body.suffix) throw invalidArgument(`suffix ${NOT_YET}.`);
  if ((body.best_of ?? 1) > 1) throw invalidArgument(`best_of ${NOT_YET}.`);
  const prompt = typeof body.prompt === "string" ? body.prompt : (body.prompt[0] as string);
  // The legacy completions API continues text as given: no chat template, default 16 tokens as OpenAI.
  return {
    prompt: { turns: [{ role: "user", text: prompt }], raw: true },
    sampling: sampling(body, body.max_tokens ?? 16),
    candidateCount: body.n ?? undefined,
    signal,
  };
}
