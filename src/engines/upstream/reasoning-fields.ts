import type { ThinkingOptions } from "../engine.js";

/**
 * How an OpenAI-compatible engine is told how much to think: each engine family takes its own
 * request fields (docs/thinking.md has the table). Chosen per upstream with `reasoning=DIALECT`.
 *  - openai: `reasoning_effort` only (OpenAI; vLLM and SGLang for gpt-oss; safe where extra fields are refused)
 *  - vllm: `reasoning_effort`, `chat_template_kwargs.enable_thinking` (Qwen3, DeepSeek-V3.1, Granite templates)
 *    and `thinking_token_budget` for a budget of N
 *  - llama-server: `chat_template_kwargs.enable_thinking`, `reasoning_effort` (gpt-oss templates) and
 *    `reasoning_budget_tokens` for a budget of N
 *  - openrouter: one `reasoning` object (`effort`, `max_tokens` or `enabled: false`)
 *  - deepseek: `thinking: {type: "enabled" | "disabled"}`
 *  - none: nothing (the engine's own setting stands)
 */
export const REASONING_DIALECTS = ["openai", "vllm", "llama-server", "openrouter", "deepseek", "none"] as const;
export type ReasoningDialect = (typeof REASONING_DIALECTS)[number];

type Effort = "low" | "medium" | "high";

/** A level, or a budget in tokens read as one: up to 1k low, up to 8k medium, more high. */
function effortOf(thinking: ThinkingOptions): Effort | undefined {
  if (thinking.level) return thinking.level === "HIGH" ? "high" : thinking.level === "MEDIUM" ? "medium" : "low";
  const budget = thinking.budget;
  if (budget === undefined || budget < 0) return undefined;
  if (budget <= 1024) return "low";
  return budget <= 8192 ? "medium" : "high";
}

/** The request fields that carry `thinking` in `dialect`; none when the client did not say. */
export function reasoningFields(dialect: ReasoningDialect, thinking: ThinkingOptions | undefined): Record<string, unknown> {
  if (!thinking || dialect === "none") return {};
  const off = thinking.budget === 0;
  const budget = thinking.budget !== undefined && thinking.budget > 0 ? thinking.budget : undefined;
  const effort = effortOf(thinking);
  const withEffort = effort ? { reasoning_effort: effort } : {};
  switch (dialect) {
    case "openai":
      return withEffort;
    case "vllm":
      return {
        ...withEffort,
        ...(off ? { chat_template_kwargs: { enable_thinking: false } } : {}),
        ...(budget ? { thinking_token_budget: budget } : {}),
      };
    case "llama-server":
      return {
        ...(off ? {} : withEffort),
        ...(off ? { chat_template_kwargs: { enable_thinking: false } } : {}),
        // llama-server closes the thought after this many tokens (for templates it knows the thought tags of).
        ...(budget ? { reasoning_budget_tokens: budget } : {}),
      };
    case "openrouter":
      return { reasoning: off ? { enabled: false } : budget ? { max_tokens: budget } : effort ? { effort } : { enabled: true } };
    case "deepseek":
      return { thinking: { type: off ? "disabled" : "enabled" } };
  }
}

/** A delta's reasoning: `reasoning_content` (vLLM before 0.10, llama-server, DeepSeek) or `reasoning` (newer vLLM, OpenRouter). */
export function deltaReasoning(delta: { reasoning_content?: unknown; reasoning?: unknown } | undefined): string | undefined {
  const text = delta?.reasoning_content ?? delta?.reasoning;
  return typeof text === "string" && text.length > 0 ? text : undefined;
}
