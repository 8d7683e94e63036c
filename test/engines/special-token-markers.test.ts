import path from "node:path";
import { DeepSeekChatWrapper, getLlama, HarmonyChatWrapper, QwenChatWrapper, type LlamaModel } from "node-llama-cpp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IncrementalDetokenizer, needsSpecialTokens } from "../../src/engines/llama/incremental-detokenizer.js";
import { ThoughtSplitter, thoughtFormatOf, type ThoughtSegmentFormat } from "../../src/engines/llama/thought-segments.js";
import { modelsDir } from "../support/server.js";

/**
 * gpt-oss's thought markers (`<|channel|>`, `<|message|>`, `<|end|>`) are special tokens of its
 * vocabulary, which the engine's detokenizer leaves out unless told: for such a model it writes
 * them, so the splitter sees them; other models are detokenized as before. No gpt-oss GGUF fits
 * these machines, so the special tokens here are SmolLM2's own (`<|im_start|>`, `<|im_end|>`).
 */
let model: LlamaModel;
beforeAll(async () => {
  const llama = await getLlama({ gpu: false, build: "never", maxThreads: 1 });
  model = await llama.loadModel({ modelPath: path.join(modelsDir(), "SmolLM2-135M-Instruct.Q4_1.gguf") });
});
afterAll(async () => model?.dispose());

const markers = (format: ThoughtSegmentFormat) => [format.prefix, format.suffix, ...format.answerHeaders];

/** Decodes `tokens` one at a time, as generation does. */
function stream(tokens: number[], specialTokens: boolean): string {
  const detokenizer = new IncrementalDetokenizer(model, specialTokens);
  return tokens.map((t) => detokenizer.push(t)).join("") + detokenizer.flush();
}

describe("special-token thought markers", () => {
  it("are told apart from markers the vocabulary writes as plain text", () => {
    expect(needsSpecialTokens(model, ["<|im_start|>", "<|im_end|>"])).toBe(true);
    // In SmolLM2's vocabulary Qwen's, DeepSeek's and even gpt-oss's markers are plain text.
    for (const wrapper of [new QwenChatWrapper(), new DeepSeekChatWrapper(), new HarmonyChatWrapper()]) {
      expect(needsSpecialTokens(model, markers(thoughtFormatOf(wrapper)!))).toBe(false);
    }
  });

  it("are written as their text when asked, and left out otherwise, so the splitter can see them", () => {
    const format: ThoughtSegmentFormat = { prefix: "<|im_start|>", suffix: "<|im_end|>", openOnResponseStart: false, answerHeaders: [] };
    const tokens = model.tokenize("<|im_start|>Two and two make four.<|im_end|>It is 4.", true);
    expect(tokens.length).toBeLessThan(20); // the markers are one token each
    const shown = stream(tokens, true);
    expect(shown).toBe("<|im_start|>Two and two make four.<|im_end|>It is 4.");
    expect(stream(tokens, false)).toBe("Two and two make four.It is 4.");

    const splitter = new ThoughtSplitter(format);
    const pieces = [...splitter.push(shown), ...splitter.flush()];
    expect(pieces).toEqual([
      { kind: "thought", text: "Two and two make four." },
      { kind: "answer", text: "It is 4." },
    ]);
  });
});
