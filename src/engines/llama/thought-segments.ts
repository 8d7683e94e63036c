import type { ChatWrapper, ChatWrapperSettings } from "node-llama-cpp";
import type { GenerationEvent, ThinkingOptions, TokenUsage } from "../engine.js";

/**
 * A local reasoning model writes its thoughts inside markers its chat wrapper names
 * (`settings.segments.thought`: Qwen's `<think>`…`</think>`, DeepSeek's, gpt-oss's analysis
 * channel, Seed's, Gemma 4's). This splits the generated text, as it streams, into thought and
 * answer pieces, and counts thought tokens against a budget. Pure: it reads text, never tokens or
 * the model. The text must be detokenized with special tokens shown (the markers are special
 * tokens in most of these models), as node-llama-cpp's own LlamaChat reads it.
 */

export interface ThoughtSegmentFormat {
  /** Opens a thought ("" when the wrapper opens it itself at the start of a response). */
  prefix: string;
  suffix: string;
  /**
   * The response starts with a thought the generator opens itself (node-llama-cpp's LlamaChat
   * writes the prefix after the prompt): the engine appends `prefix` to the rendered prompt.
   */
  openOnResponseStart: boolean;
  /** Headers that come between the thought and the answer and belong to neither (gpt-oss's final channel). */
  answerHeaders: string[];
}

type TextSetting = NonNullable<NonNullable<ChatWrapperSettings["segments"]>["thought"]>["prefix"];

/** A setting as text; special tokens read as their text, which is what the detokenized stream shows. */
function settingText(value: TextSetting | undefined): string {
  if (value === undefined) return "";
  if (typeof value === "string") return value;
  if ("type" in value && value.type === "openedOnStart") return "";
  return value.toString();
}

/** The thought segment of `wrapper`'s model; undefined for a model that does not think. */
export function thoughtFormatOf(wrapper: Pick<ChatWrapper, "settings" | "wrapperName">): ThoughtSegmentFormat | undefined {
  const thought = wrapper.settings.segments?.thought;
  if (!thought) return undefined;
  const prefix = settingText(thought.prefix);
  const openedOnStart = typeof thought.prefix === "object" && "type" in thought.prefix && thought.prefix.type === "openedOnStart";
  return {
    prefix,
    suffix: settingText(thought.suffix),
    openOnResponseStart: openedOnStart || thought.openOnResponseStart === true,
    answerHeaders: wrapper.wrapperName === "Harmony" ? ["<|start|>assistant<|channel|>final<|message|>", "<|channel|>final<|message|>"] : [],
  };
}

/** Whether a prompt ends inside an open thought (its template, or the engine by openOnResponseStart, opened one). */
export function promptOpensThought(promptText: string, format: ThoughtSegmentFormat): boolean {
  const marker = format.prefix.trim();
  return marker.length > 0 && promptText.trimEnd().endsWith(marker);
}

/**
 * Text to append to the prompt so that the model answers without thinking (thinkingBudget 0):
 * an empty thought, as Qwen3's template writes for enable_thinking=false. Undefined where an
 * empty thought is not how the model is told (gpt-oss: its effort is set instead).
 */
export function emptyThought(format: ThoughtSegmentFormat): string | undefined {
  if (format.answerHeaders.length > 0 || !format.prefix.trim() || !format.suffix.trim()) return undefined;
  return `${format.prefix.trimEnd()}\n\n${format.suffix.trim()}\n\n`;
}

/** thinkingLevel (or a budget) as the reasoning effort of wrappers that have one (Harmony's). */
export function reasoningEffortOf(thinking: ThinkingOptions | undefined): "low" | "medium" | "high" | undefined {
  if (!thinking) return undefined;
  if (thinking.level) return thinking.level === "HIGH" ? "high" : thinking.level === "MEDIUM" ? "medium" : "low";
  if (thinking.budget === undefined || thinking.budget < 0) return undefined;
  return thinking.budget <= 1024 ? "low" : thinking.budget <= 8192 ? "medium" : "high";
}

export interface SegmentPiece {
  kind: "thought" | "answer";
  text: string;
}

export interface ThoughtSplitterOptions {
  /** Generation starts inside a thought (see promptOpensThought). */
  startInThought?: boolean;
  /** Thought tokens allowed; undefined or -1: no limit. */
  budget?: number;
}

/** The longest end of `text` that is the start of one of `markers` (held back: the marker may be arriving). */
function partialMarkerLength(text: string, markers: string[]): number {
  let longest = 0;
  for (const marker of markers) {
    for (let n = Math.min(marker.length - 1, text.length); n > longest; n--) {
      if (text.endsWith(marker.slice(0, n))) {
        longest = n;
        break;
      }
    }
  }
  return longest;
}

/**
 * Splits streamed text into thought and answer pieces. Markers are matched without the
 * whitespace around them (a model may write `</think>` without the newline its template puts
 * before it), and the whitespace after a marker is dropped, so neither the thought nor the answer
 * starts with the template's line breaks. Text that may be the start of a marker is held until
 * the next push (or flush) shows whether it is one.
 */
export class ThoughtSplitter {
  thoughtTokens = 0;
  private mode: "thought" | "answer";
  private held = "";
  private trimStart = true;
  private readonly open: string;
  private readonly close: string;
  private readonly headers: string[];

  constructor(
    private readonly format: ThoughtSegmentFormat,
    private readonly options: ThoughtSplitterOptions = {},
  ) {
    this.mode = options.startInThought ? "thought" : "answer";
    this.open = format.prefix.trim();
    this.close = format.suffix.trim();
    this.headers = format.answerHeaders;
  }

  get inThought(): boolean {
    return this.mode === "thought";
  }

  /** The thought has used its budget: the engine should now write `closeThought()`'s text into the sequence. */
  get budgetSpent(): boolean {
    const budget = this.options.budget;
    return this.mode === "thought" && budget !== undefined && budget >= 0 && this.thoughtTokens >= budget;
  }

  /** `text` generated by `tokens` tokens (counted as thought when the push starts inside one). */
  push(text: string, tokens = 1): SegmentPiece[] {
    if (this.mode === "thought") this.thoughtTokens += tokens;
    this.held += text;
    return this.scan(false);
  }

  /** The end of generation: whatever was held is what it looked like. */
  flush(): SegmentPiece[] {
    return this.scan(true);
  }

  /**
   * Ends the thought here (its budget is spent): returns the pieces still held and the text the
   * engine should feed the model so that it goes on to answer, as llama.cpp's reasoning budget
   * does: the thought's suffix, and the answer's header where the format has one (gpt-oss's
   * final channel).
   */
  closeThought(): { pieces: SegmentPiece[]; inject: string } {
    const pieces = this.mode === "thought" ? this.scan(true) : [];
    this.mode = "answer";
    this.trimStart = true;
    return { pieces, inject: this.format.suffix + (this.headers[0] ?? "") };
  }

  private scan(final: boolean): SegmentPiece[] {
    const pieces: SegmentPiece[] = [];
    const emit = (kind: SegmentPiece["kind"], text: string) => {
      const out = this.trimStart ? text.trimStart() : text;
      if (!out) return;
      this.trimStart = false;
      const last = pieces.at(-1);
      if (last?.kind === kind) last.text += out;
      else pieces.push({ kind, text: out });
    };
    for (;;) {
      const markers = this.mode === "thought" ? [this.close] : [this.open, ...this.headers].filter(Boolean);
      let at = -1;
      let marker = "";
      for (const m of markers) {
        const i = this.held.indexOf(m);
        if (i !== -1 && (at === -1 || i < at)) [at, marker] = [i, m];
      }
      if (at === -1) {
        let keep = final ? 0 : partialMarkerLength(this.held, markers);
        // A thought's trailing line breaks wait too: they are the template's, if the close follows.
        if (!final && this.mode === "thought") {
          const rest = this.held.slice(0, this.held.length - keep);
          keep += rest.length - rest.trimEnd().length;
        }
        emit(this.mode, this.held.slice(0, this.held.length - keep));
        this.held = this.held.slice(this.held.length - keep);
        return pieces;
      }
      emit(this.mode, this.held.slice(0, at).trimEnd());
      this.held = this.held.slice(at + marker.length);
      if (marker === this.open && this.mode === "answer") this.mode = "thought";
      else if (marker === this.close && this.mode === "thought") this.mode = "answer";
      this.trimStart = true;
    }
  }
}

/**
 * A local model's events with its thought segment split out: `text` events become `thought`
 * events while the model thinks, and usage counts the thought's tokens apart from the answer's
 * (outputTokens is then the answer's alone), as the Gemini wire counts them. When the budget is
 * spent the thought is closed here and `onBudgetSpent` gets the text to feed the model, before
 * the next event is asked for (the engine evaluates it after the last generated token).
 */
export async function* splitThoughtEvents(
  events: AsyncIterable<GenerationEvent>,
  splitter: ThoughtSplitter,
  onBudgetSpent?: (inject: string) => void,
): AsyncGenerator<GenerationEvent> {
  let generated = 0;
  const usageOf = (usage: TokenUsage): TokenUsage =>
    splitter.thoughtTokens > 0 ? { ...usage, outputTokens: Math.max(0, usage.outputTokens - splitter.thoughtTokens), thoughtTokens: splitter.thoughtTokens } : usage;
  const toEvents = (pieces: SegmentPiece[], usage: TokenUsage): GenerationEvent[] =>
    pieces.map((piece) => ({ type: piece.kind === "thought" ? "thought" : "text", text: piece.text, usage: usageOf(usage) }));
  for await (const event of events) {
    if (event.type === "text") {
      const pieces = splitter.push(event.text, Math.max(0, event.usage.outputTokens - generated));
      generated = event.usage.outputTokens;
      if (onBudgetSpent && splitter.budgetSpent) {
        const closed = splitter.closeThought();
        pieces.push(...closed.pieces);
        onBudgetSpent(closed.inject);
      }
      yield* toEvents(pieces, event.usage);
    } else if (event.type === "end") {
      yield* toEvents(splitter.flush(), event.usage);
      yield { ...event, usage: usageOf(event.usage) };
    } else {
      yield event;
    }
  }
}
