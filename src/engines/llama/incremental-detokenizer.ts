import type { LlamaModel, Token } from "node-llama-cpp";

const CONTEXT_TOKENS = 8;
/** A UTF-8 character spans at most 4 byte-fallback tokens. */
const MAX_PENDING = 4;

/**
 * Turns a stream of tokens into text deltas that never split a UTF-8 character: the text of
 * the new tokens is read as the difference between decoding (context + new) and (context),
 * which also keeps SentencePiece's leading spaces right. With `specialTokens`, special tokens
 * are written as their text (a thinking model's markers, see needsSpecialTokens); without, they
 * are left out, as a model's control tokens should be.
 */
export class IncrementalDetokenizer {
  private context: Token[] = [];
  private pending: Token[] = [];

  constructor(
    private readonly model: LlamaModel,
    private readonly specialTokens = false,
  ) {}

  push(token: Token): string {
    this.pending.push(token);
    const delta = this.decodePending();
    if (delta.endsWith("\uFFFD") && this.pending.length < MAX_PENDING) return "";
    this.commit();
    return delta;
  }

  /** Tokens in the sequence that are not output (written by the engine): context for what follows. */
  skip(tokens: Token[]): void {
    this.context = [...this.context, ...this.pending, ...tokens].slice(-CONTEXT_TOKENS);
    this.pending = [];
  }

  /** Whatever is pending when generation ends, even if incomplete. */
  flush(): string {
    if (this.pending.length === 0) return "";
    const delta = this.decodePending();
    this.commit();
    return delta;
  }

  private decodePending(): string {
    const before = this.model.detokenize(this.context, this.specialTokens);
    const after = this.model.detokenize([...this.context, ...this.pending], this.specialTokens);
    if (after.startsWith(before)) return after.slice(before.length);
    return this.model.detokenize(this.pending, this.specialTokens, this.context);
  }

  private commit(): void {
    this.context = [...this.context, ...this.pending].slice(-CONTEXT_TOKENS);
    this.pending = [];
  }
}

/**
 * Whether any of `texts` (a thought segment's markers) is made of special tokens in this model,
 * which detokenizing without special tokens would drop (gpt-oss's `<|channel|>`, `<|end|>`): its
 * output must then be detokenized with them, or the thought could not be told from the answer.
 */
export function needsSpecialTokens(model: Pick<LlamaModel, "tokenize" | "detokenize">, texts: string[]): boolean {
  return texts.some((text) => text.trim() !== "" && model.detokenize(model.tokenize(text, true), false) !== text);
}
