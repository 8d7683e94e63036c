import {
  DeepSeekChatWrapper,
  Gemma4ChatWrapper,
  HarmonyChatWrapper,
  Llama3_1ChatWrapper,
  QwenChatWrapper,
  SeedChatWrapper,
  type ChatHistoryItem,
  type ChatWrapper,
} from "node-llama-cpp";
import { describe, expect, it } from "vitest";
import type { GenerationEvent } from "../../src/engines/engine.js";
import { emptyThought, promptOpensThought, reasoningEffortOf, splitThoughtEvents, ThoughtSplitter, thoughtFormatOf, type SegmentPiece } from "../../src/engines/llama/thought-segments.js";

/**
 * The thought-segment splitter driven by model output as node-llama-cpp's own chat wrappers
 * write it: a history whose last model response has a thought segment and an answer is rendered
 * by the wrapper, and the text after the generation prompt (what the model would have generated)
 * is fed to the splitter in small uneven pieces, so markers arrive split across pieces.
 */
const THOUGHT = "The user asks 2+2.\nTwo plus two is four.";
const ANSWER = "It is 4.";
const history: ChatHistoryItem[] = [
  { type: "system", text: "Be brief." },
  { type: "user", text: "What is 2+2?" },
];

/** The wrapper's prompt for the model turn, and what the model generates after it. */
function scripted(wrapper: ChatWrapper): { prompt: string; generated: string } {
  const prompt = wrapper.generateContextState({ chatHistory: [...history, { type: "model", response: [] }] }).contextText.toString();
  const full = wrapper
    .generateContextState({ chatHistory: [...history, { type: "model", response: [{ type: "segment", segmentType: "thought", text: THOUGHT, ended: true }, ANSWER] }] })
    .contextText.toString();
  expect(full.startsWith(prompt)).toBe(true);
  return { prompt, generated: full.slice(prompt.length) };
}

/** Deterministic uneven pieces of 1 to 5 characters, one token each. */
function feed(splitter: ThoughtSplitter, text: string): { pieces: SegmentPiece[]; pushes: number } {
  const pieces: SegmentPiece[] = [];
  let at = 0;
  let pushes = 0;
  while (at < text.length) {
    const size = 1 + ((at * 7 + 3) % 5);
    pieces.push(...splitter.push(text.slice(at, at + size)));
    at += size;
    pushes++;
  }
  pieces.push(...splitter.flush());
  return { pieces, pushes };
}

const joined = (pieces: SegmentPiece[], kind: SegmentPiece["kind"]) => pieces.filter((p) => p.kind === kind).map((p) => p.text).join("");

const WRAPPERS: [string, ChatWrapper][] = [
  ["Qwen3", new QwenChatWrapper()],
  ["Qwen3.5", new QwenChatWrapper({ variation: "3.5" })],
  ["DeepSeek", new DeepSeekChatWrapper()],
  ["Harmony (gpt-oss)", new HarmonyChatWrapper()],
  ["Seed", new SeedChatWrapper()],
  ["Gemma 4", new Gemma4ChatWrapper()],
];

describe.each(WRAPPERS)("%s output", (_name, wrapper) => {
  const format = thoughtFormatOf(wrapper)!;
  const rendered = scripted(wrapper);
  // Where the wrapper opens the thought at the response start, the engine writes its prefix after the prompt.
  const prompt = format.openOnResponseStart ? rendered.prompt + format.prefix : rendered.prompt;
  const generated = format.openOnResponseStart ? rendered.generated.slice(format.prefix.length) : rendered.generated;
  if (format.openOnResponseStart) expect(rendered.generated.startsWith(format.prefix)).toBe(true);
  const startInThought = promptOpensThought(prompt, format);

  it("splits into the thought, then the answer, without the markers or the template's line breaks", () => {
    const splitter = new ThoughtSplitter(format, { startInThought });
    const { pieces } = feed(splitter, generated);
    expect(joined(pieces, "thought")).toBe(THOUGHT);
    expect(joined(pieces, "answer")).toBe(ANSWER);
    expect(pieces.findIndex((p) => p.kind === "answer")).toBeGreaterThan(pieces.findLastIndex((p) => p.kind === "thought"));
    expect(pieces.filter((p) => p.kind === "thought").length).toBeGreaterThan(3); // streamed, not held to the end
    expect(splitter.thoughtTokens).toBeGreaterThan(0);
  });

  it("counts thought tokens against a budget and, once spent, closes the thought with the wrapper's suffix (and answer header)", () => {
    const splitter = new ThoughtSplitter(format, { startInThought, budget: 4 });
    const pieces: SegmentPiece[] = [];
    let at = 0;
    while (!splitter.budgetSpent && at < generated.length) pieces.push(...splitter.push(generated[at++]!));
    expect(splitter.budgetSpent).toBe(true);
    expect(splitter.thoughtTokens).toBe(4);
    const { pieces: rest, inject } = splitter.closeThought();
    pieces.push(...rest);
    // The suffix, and gpt-oss's final-channel header, so that what the model writes next is the answer.
    expect(inject).toBe(format.suffix + (format.answerHeaders[0] ?? ""));
    expect(THOUGHT.startsWith(joined(pieces, "thought"))).toBe(true);
    // The model, shown the suffix, answers: what it writes now is answer.
    pieces.push(...splitter.push("\n\nIt is 4."), ...splitter.flush());
    expect(joined(pieces, "answer")).toBe(ANSWER);
    expect(splitter.budgetSpent).toBe(false);
  });
});

describe("thought formats", () => {
  it("a model without thought segments has none", () => {
    expect(thoughtFormatOf(new Llama3_1ChatWrapper())).toBeUndefined();
  });

  it("knows when the prompt already opened the thought", () => {
    expect(promptOpensThought("<|im_start|>assistant\n<think>\n", thoughtFormatOf(new QwenChatWrapper())!)).toBe(true);
    expect(promptOpensThought("<|im_start|>assistant\n", thoughtFormatOf(new QwenChatWrapper())!)).toBe(false);
  });

  it("a budget of 0 is an empty thought where the model is told so, and an effort for gpt-oss", () => {
    expect(emptyThought(thoughtFormatOf(new QwenChatWrapper())!)).toBe("<think>\n\n</think>\n\n");
    expect(emptyThought(thoughtFormatOf(new HarmonyChatWrapper())!)).toBeUndefined();
    expect(reasoningEffortOf({ includeThoughts: false, level: "MINIMAL" })).toBe("low");
    expect(reasoningEffortOf({ includeThoughts: false, budget: 20_000 })).toBe("high");
    expect(reasoningEffortOf({ includeThoughts: false, budget: -1 })).toBeUndefined();
  });

  it("an answer that mentions a marker's first characters is not held back at the end", () => {
    const splitter = new ThoughtSplitter(thoughtFormatOf(new DeepSeekChatWrapper())!);
    expect(splitter.push("a < b and <thi")).toEqual([{ kind: "answer", text: "a < b and " }]);
    expect(splitter.flush()).toEqual([{ kind: "answer", text: "<thi" }]);
  });
});

describe("splitThoughtEvents", () => {
  it("turns a local model's text events into thought events, then answer text, counting the thought apart", async () => {
    const wrapper = new QwenChatWrapper();
    const { generated } = scripted(wrapper);
    // One event per 3 characters, one token each, as the engine yields them.
    async function* events(): AsyncGenerator<GenerationEvent> {
      yield { type: "start", usage: { promptTokens: 9, cachedPromptTokens: 0, outputTokens: 0 } };
      let tokens = 0;
      for (let at = 0; at < generated.length; at += 3) yield { type: "text", text: generated.slice(at, at + 3), usage: { promptTokens: 9, cachedPromptTokens: 0, outputTokens: ++tokens } };
      yield { type: "end", finishReason: "STOP", usage: { promptTokens: 9, cachedPromptTokens: 0, outputTokens: tokens } };
    }
    const out: GenerationEvent[] = [];
    for await (const event of splitThoughtEvents(events(), new ThoughtSplitter(thoughtFormatOf(wrapper)!))) out.push(event);
    const kinds = out.map((e) => e.type);
    expect(kinds.indexOf("text")).toBeGreaterThan(kinds.lastIndexOf("thought"));
    expect(out.filter((e) => e.type === "thought").map((e) => (e as { text: string }).text).join("")).toBe(THOUGHT);
    expect(out.filter((e) => e.type === "text").map((e) => (e as { text: string }).text).join("")).toBe(ANSWER);
    const end = out.at(-1)!;
    const total = Math.ceil(generated.length / 3);
    expect(end.usage.thoughtTokens).toBeGreaterThan(0);
    expect(end.usage.outputTokens + end.usage.thoughtTokens!).toBe(total);
  });
});
