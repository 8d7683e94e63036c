import {
  Gemma4ChatWrapper,
  HarmonyChatWrapper,
  JinjaTemplateChatWrapper,
  resolveChatWrapper,
  SeedChatWrapper,
  specializedChatWrapperTypeNames,
  type ChatWrapper,
  type LlamaModel,
  type SpecializedChatWrapperTypeName,
  type Tokenizer,
} from "node-llama-cpp";
import type { ThinkingOptions } from "../engine.js";
import { reasoningEffortOf } from "./thought-segments.js";

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

/**
 * The wrapper for one request where the model's thinking is a setting of its prompt: gpt-oss's
 * reasoning effort (from thinkingLevel, or a budget read as a level), Gemma 4's thinking switch
 * (off for a budget of 0), Seed's budget instruction (N > 0; a budget of 0 is an empty thought),
 * and a GGUF's own Jinja template's `enable_thinking` and `reasoning_effort` where it reads them.
 * Any other wrapper, and a request that says nothing, get the model's own. `switched` says the
 * variant itself tells the model how much to think (no empty thought is written after it).
 */
export class ThinkingWrappers {
  private readonly variants = new Map<string, ChatWrapper>();

  /** `tokenizer`: the model's, which a Jinja template's wrapper reads its thought markers with. */
  constructor(
    readonly base: ChatWrapper,
    private readonly tokenizer?: Tokenizer,
  ) {}

  for(thinking: ThinkingOptions | undefined): { wrapper: ChatWrapper; switched: boolean } {
    const base = this.base;
    const own = { wrapper: base, switched: false };
    if (!thinking) return own;
    if (base instanceof HarmonyChatWrapper) {
      const effort = reasoningEffortOf(thinking);
      if (!effort || effort === base.reasoningEffort) return own;
      return this.variant(`effort:${effort}`, () =>
        new HarmonyChatWrapper({
          modelIdentity: base.modelIdentity,
          cuttingKnowledgeDate: base.cuttingKnowledgeDate,
          todayDate: base.todayDate,
          requiredChannels: base.requiredChannels,
          keepOnlyLastThought: base.keepOnlyLastThought,
          reasoningEffort: effort,
        }),
      );
    }
    if (base instanceof Gemma4ChatWrapper && thinking.budget === 0 && base.reasoning) {
      return this.variant("reasoning:off", () => new Gemma4ChatWrapper({ reasoning: false, keepOnlyLastThought: base.keepOnlyLastThought }));
    }
    if (base instanceof JinjaTemplateChatWrapper) return this.jinjaVariant(base, thinking) ?? own;
    if (base instanceof SeedChatWrapper && thinking.budget !== undefined && thinking.budget > 0) {
      // Not cached: a budget is any number. The engine enforces it too; the instruction lets the model plan for it.
      return { wrapper: new SeedChatWrapper({ thinkingBudget: thinking.budget }), switched: true };
    }
    return own;
  }

  /** The template's own switches, where it has them: `enable_thinking` off for a budget of 0, `reasoning_effort` from a level. */
  private jinjaVariant(base: JinjaTemplateChatWrapper, thinking: ThinkingOptions): { wrapper: ChatWrapper; switched: boolean } | undefined {
    const off = thinking.budget === 0 && base.template.includes("enable_thinking") && base.reasoning !== false;
    const effort = base.template.includes("reasoning_effort") ? reasoningEffortOf(thinking) : undefined;
    if (!off && !effort) return undefined;
    const made = this.variant(`jinja:${off ? "off" : "on"}:${effort ?? ""}`, () =>
      new JinjaTemplateChatWrapper({
        template: base.template,
        tokenizer: this.tokenizer,
        reasoning: off ? false : base.reasoning,
        modelRoleName: base.modelRoleName,
        userRoleName: base.userRoleName,
        systemRoleName: base.systemRoleName,
        convertUnsupportedSystemMessagesToUserMessages: base.convertUnsupportedSystemMessagesToUserMessages,
        joinAdjacentMessagesOfTheSameType: base.joinAdjacentMessagesOfTheSameType,
        trimLeadingWhitespaceInResponses: base.trimLeadingWhitespaceInResponses,
        keepOnlyLastThought: base.keepOnlyLastThought,
        additionalRenderParameters: { ...base.additionalRenderParameters, ...(effort ? { reasoning_effort: effort } : {}) },
      }),
    );
    // node-llama-cpp drops an empty thought the template writes at the response's end, so the engine still writes its own.
    return { wrapper: made.wrapper, switched: false };
  }

  private variant(key: string, make: () => ChatWrapper): { wrapper: ChatWrapper; switched: boolean } {
    let wrapper = this.variants.get(key);
    if (!wrapper) this.variants.set(key, (wrapper = make()));
    return { wrapper, switched: true };
  }
}
