import { ApiError } from "../../base/api-error.js";
import type { FunctionCall, TokenLogprob, ToolUse } from "../engine.js";
import { callableFunctions, newCallId } from "../tool-use.js";
import type { OpenAiLogprobs, OpenAiToolCallDelta, OpenAiToolChoice, OpenAiToolDeclaration } from "./openai-wire.js";

/**
 * Function calling and logprobs as OpenAI-compatible engines (vLLM, SGLang, llama-server)
 * take and return them: declarations go out as `tools` + `tool_choice`, and streamed
 * `delta.tool_calls` pieces come back assembled into whole calls.
 */

export function toolFields(tools: ToolUse | undefined): { tools?: OpenAiToolDeclaration[]; tool_choice?: OpenAiToolChoice } {
  if (!tools || tools.mode === "NONE") return {};
  const functions = callableFunctions(tools);
  const declared = functions.map((f): OpenAiToolDeclaration => ({ type: "function", function: { name: f.name, description: f.description, parameters: f.parameters } }));
  if (tools.mode === "AUTO") return { tools: declared, tool_choice: "auto" };
  return { tools: declared, tool_choice: functions.length === 1 ? { type: "function", function: { name: functions[0]!.name } } : "required" };
}

/** Collects streamed tool-call pieces by index: the first names the call, the rest append to its arguments. */
export class ToolCallAssembler {
  private readonly calls = new Map<number, { id: string; name: string; args: string }>();

  get size(): number {
    return this.calls.size;
  }

  add(pieces: OpenAiToolCallDelta[] | undefined): void {
    for (const piece of pieces ?? []) {
      const index = piece.index ?? this.calls.size;
      const call = this.calls.get(index) ?? { id: "", name: "", args: "" };
      call.id ||= piece.id ?? "";
      call.name ||= piece.function?.name ?? "";
      call.args += piece.function?.arguments ?? "";
      this.calls.set(index, call);
    }
  }

  take(model: string): FunctionCall[] {
    return [...this.calls.values()].map(({ id, name, args }) => {
      let parsed: unknown;
      try {
        parsed = JSON.parse(args || "{}");
      } catch {
        throw new ApiError("UNAVAILABLE", `Upstream engine for ${model} returned a tool call to ${name} whose arguments are not JSON.`);
      }
      return { id: id || newCallId(), name, args: parsed as Record<string, unknown> };
    });
  }
}

/** OpenAI's `logprobs.content` → ours; OpenAI-compatible engines do not send token ids. */
export function fromOpenAiLogprobs(logprobs: OpenAiLogprobs | null | undefined): TokenLogprob[] | undefined {
  const content = logprobs?.content;
  if (!content?.length) return undefined;
  return content.map((l) => ({
    token: l.token,
    logProbability: l.logprob,
    top: (l.top_logprobs ?? []).map((t) => ({ token: t.token, logProbability: t.logprob })),
  }));
}
