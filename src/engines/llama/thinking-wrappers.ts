import {
  resolveChatWrapper,
  specializedChatWrapperTypeNames,
  type ChatWrapper,
  type LlamaModel,
  type SpecializedChatWrapperTypeName,
} from "node-llama-cpp";

/**
 * Which node-llama-cpp chat wrapper renders a model's prompts, and the per-request variants of
 * the wrappers whose thinking is a setting of the prompt (gpt-oss's reasoning effort, Gemma 4's
 * thinking switch) rather than something the engine writes after it.
 */

/** What `--model ID=SOURCE,chat-wrapper=NAME` takes: node-llama-cpp's wrapper types, and Qwen's 3.5 variation. */
export const CHAT_WRAPPER_NAMES: readonly string[] = [...specializedChatWrapperTypeNames, "qwen3.5"];

export function isChatWrapperName(name: string): boolean {
  return CHAT_WRAPPER_NAMES.includes(name);
}

/**
 * The model's chat wrapper: the one its template resolves to, or the one `forced` names (a GGUF
 * whose template node-llama-cpp misreads, or a test driving a small model through a thinking
 * format). Thinking wrappers keep every thought they are given: which turns get theirs back is
 * decided before (only the steps after the last user message do, see docs/thinking.md).
 */
export function resolveModelChatWrapper(model: LlamaModel, forced?: string): ChatWrapper | null {
  if (forced !== undefined && !isChatWrapperName(forced)) {
    throw new Error(`Unknown chat wrapper "${forced}"; one of: ${CHAT_WRAPPER_NAMES.join(", ")}.`);
  }
  const keep = { keepOnlyLastThought: false } as const;
  const type = forced === "qwen3.5" ? "qwen" : ((forced as SpecializedChatWrapperTypeName | undefined) ?? "auto");
  return resolveChatWrapper(model, {
    type,
    customWrapperSettings: {
      qwen: { ...keep, ...(forced === "qwen3.5" ? { variation: "3.5" } : {}) },
      deepSeek: keep,
      harmony: keep,
      gemma4: keep,
    },
  });
}
