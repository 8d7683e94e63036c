import {
  JinjaTemplateChatWrapper,
  type ChatHistoryItem,
  type ChatWrapper,
  type LlamaModel,
  type Token,
} from "node-llama-cpp";
import type { PromptInput, ThinkingOptions, ToolCallFormat } from "../engine.js";
import { chatHistoryItems } from "./chat-history.js";
import { chatModelFunctions, nativeToolCallFormat } from "./native-tools.js";
import { resolveModelChatWrapper, ThinkingWrappers } from "./thinking-wrappers.js";

export interface FormattedPrompt {
  tokens: Token[];
  /** Extra texts that end generation (a chat template's end-of-turn markers). */
  stopTexts: string[];
  /** Extra single tokens that end generation. */
  stopTokens: Token[];
}

/**
 * Turns a prompt into tokens: through the model's own chat template when the GGUF has one,
 * as plain text to be continued otherwise (base models such as stories260K).
 */
export class PromptFormatter {
  /** The chat wrapper that renders chat prompts; null for a model without a chat template. */
  readonly chatWrapper: ChatWrapper | null;
  /** The model's own function-calling format, when its chat wrapper knows one. */
  readonly toolCallFormat: ToolCallFormat | undefined;
  private readonly thinkingWrappers: ThinkingWrappers | undefined;

  /** `forcedWrapper`: a chat wrapper by name (see thinking-wrappers.ts) instead of the one the template resolves to. */
  constructor(
    private readonly model: LlamaModel,
    forcedWrapper?: string,
  ) {
    const template = model.fileInfo.metadata?.tokenizer?.chat_template;
    const ownTemplate = typeof template === "string" && template.length > 0 ? template : undefined;
    this.chatWrapper = ownTemplate !== undefined || forcedWrapper ? resolveModelChatWrapper(model, forcedWrapper) : null;
    this.toolCallFormat = this.chatWrapper ? nativeToolCallFormat(this.chatWrapper) : undefined;
    this.thinkingWrappers = this.chatWrapper ? new ThinkingWrappers(this.chatWrapper, model.tokenizer) : undefined;
    this.defaultSystemPrompt = this.chatWrapper && ownTemplate !== undefined ? templateDefaultSystemPrompt(this.chatWrapper, ownTemplate) : undefined;
  }

  /** The system prompt the model's own template writes when a conversation has none (SmolLM2's, Qwen 2.5's). */
  readonly defaultSystemPrompt: string | undefined;

  get hasChatTemplate(): boolean {
    return this.chatWrapper !== null;
  }

  /** `wrapper`: a per-request variant of the model's wrapper (see wrapperFor). */
  format(prompt: PromptInput, wrapper = this.chatWrapper): FormattedPrompt {
    return wrapper && !prompt.raw ? this.formatChat(wrapper, prompt) : this.formatPlain(prompt);
  }

  /** The wrapper a request's thinking options call for (gpt-oss's effort, Gemma 4's switch); undefined without a chat wrapper. */
  wrapperFor(thinking: ThinkingOptions | undefined): { wrapper: ChatWrapper; switched: boolean } | undefined {
    return this.thinkingWrappers?.for(thinking);
  }

  /** The tokens a prompt starts with when more turns follow it (no open model turn): a cached prefix. */
  formatPrefix(prompt: PromptInput): Token[] {
    return this.chatWrapper && !prompt.raw ? this.formatChat(this.chatWrapper, prompt, false).tokens : this.formatPlain(prompt).tokens;
  }

  private formatPlain(prompt: PromptInput): FormattedPrompt {
    const body = prompt.turns.map((turn) => turn.text).join("\n");
    const text = prompt.systemInstruction ? `${prompt.systemInstruction}\n\n${body}` : body;
    const tokens = this.model.tokenize(text);
    const bos = this.model.tokens.bos;
    if (this.model.tokens.shouldPrependBosToken && bos !== null) tokens.unshift(bos);
    return { tokens, stopTexts: [], stopTokens: [] };
  }

  private formatChat(wrapper: ChatWrapper, prompt: PromptInput, openModelTurn = true): FormattedPrompt {
    const history: ChatHistoryItem[] = [];
    const system = prompt.systemInstruction || this.defaultSystemPrompt;
    if (system) history.push({ type: "system", text: system });
    const thinks = wrapper.settings.segments?.thought !== undefined;
    history.push(...chatHistoryItems(prompt.turns, thinks, this.toolCallFormat !== undefined));
    // An open model turn asks the template for its generation prompt (results alone leave the model's turn open).
    if (openModelTurn && history.at(-1)?.type !== "model") history.push({ type: "model", response: [] });

    const functions = prompt.functions?.length && this.toolCallFormat ? chatModelFunctions(prompt.functions) : undefined;
    const state = wrapper.generateContextState({ chatHistory: history, availableFunctions: functions, documentFunctionParams: functions ? true : undefined });
    const stopTexts: string[] = [];
    const stopTokens: Token[] = [];
    for (const trigger of state.stopGenerationTriggers) {
      const tokens = trigger.tokenize(this.model.tokenizer);
      if (tokens.length === 1 && tokens[0] !== undefined) stopTokens.push(tokens[0]);
      else stopTexts.push(trigger.toString());
    }
    return { tokens: state.contextText.tokenize(this.model.tokenizer), stopTexts, stopTokens };
  }
}

/**
 * node-llama-cpp renders a template it recognises with its own wrapper for that format, which
 * leaves out a system prompt the template adds when the conversation has none. Found by rendering
 * a user-only conversation through the template itself and reading off the text the wrapper
 * would need as a system message to write the same; undefined when there is none (or it cannot
 * be read that way).
 */
function templateDefaultSystemPrompt(wrapper: ChatWrapper, template: string): string | undefined {
  const user: ChatHistoryItem[] = [{ type: "user", text: "Hi." }, { type: "model", response: [] }];
  // Whether BOS is written is the tokenizer's business, not the template's: left out of the comparison.
  const render = (w: ChatWrapper, history: ChatHistoryItem[]) => w.generateContextState({ chatHistory: history }).contextText.toString().replace(/^BOS/, "");
  let jinja: string;
  try {
    jinja = render(new JinjaTemplateChatWrapper({ template }), user);
  } catch {
    return undefined;
  }
  if (jinja === render(wrapper, user)) return undefined;
  const marker = "\u0001system\u0001";
  const [before, after] = render(wrapper, [{ type: "system", text: marker }, ...user]).split(marker) as [string, string | undefined];
  if (after === undefined || !jinja.startsWith(before) || !jinja.endsWith(after) || jinja.length < before.length + after.length) return undefined;
  const found = jinja.slice(before.length, jinja.length - after.length);
  return found.trim() !== "" && render(wrapper, [{ type: "system", text: found }, ...user]) === jinja ? found : undefined;
}
