import path from "node:path";
import { getLlama, JinjaTemplateChatWrapper, type ChatHistoryItem, type LlamaModel } from "node-llama-cpp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PromptInput, ThinkingOptions } from "../../src/engines/engine.js";
import { PromptFormatter } from "../../src/engines/llama/prompt-format.js";
import { ThinkingWrappers } from "../../src/engines/llama/thinking-wrappers.js";
import { modelsDir } from "../support/server.js";

/**
 * Per-request thinking settings that live in the prompt, rendered by node-llama-cpp's own gpt-oss
 * (Harmony), Gemma 4 and Seed wrappers over the real chat model's tokenizer (picked by name, as
 * `chat-wrapper=` does: no GGUF of these families is small enough for the tests).
 */
let model: LlamaModel;
beforeAll(async () => {
  const llama = await getLlama({ gpu: false, build: "never", maxThreads: 1 });
  model = await llama.loadModel({ modelPath: path.join(modelsDir(), "SmolLM2-135M-Instruct.Q4_1.gguf") });
});
afterAll(async () => model?.dispose());

const prompt: PromptInput = { turns: [{ role: "user", text: "What is 2+2?" }] };
function rendered(wrapper: string, thinking?: ThinkingOptions): { text: string; switched: boolean } {
  const formatter = new PromptFormatter(model, wrapper);
  const variant = formatter.wrapperFor(thinking)!;
  return { text: model.detokenize(formatter.format(prompt, variant.wrapper).tokens, true), switched: variant.switched };
}
const think = (t: Omit<ThinkingOptions, "includeThoughts">): ThinkingOptions => ({ includeThoughts: true, ...t });

describe("per-request thinking wrappers", () => {
  it("gpt-oss: thinkingLevel, or a budget read as a level, is Harmony's reasoning effort; nothing said keeps the model's default", () => {
    expect(rendered("harmony").text).toContain("Reasoning: medium");
    expect(rendered("harmony", think({ level: "HIGH" })).text).toContain("Reasoning: high");
    expect(rendered("harmony", think({ level: "MINIMAL" })).text).toContain("Reasoning: low");
    expect(rendered("harmony", think({ budget: 20_000 })).text).toContain("Reasoning: high");
    expect(rendered("harmony", think({ budget: 0 }))).toMatchObject({ switched: true });
    expect(rendered("harmony", think({ budget: 0 })).text).toContain("Reasoning: low");
    expect(rendered("harmony", think({ budget: -1 })).text).toContain("Reasoning: medium");
    expect(rendered("harmony", think({ level: "MEDIUM" }))).toMatchObject({ switched: false });
  });

  it("Gemma 4: thinking is switched off for a budget of 0, and on otherwise", () => {
    expect(rendered("gemma4").text).toContain("<|think|>");
    expect(rendered("gemma4", think({ budget: 512 })).text).toContain("<|think|>");
    const off = rendered("gemma4", think({ budget: 0 }));
    expect(off.switched).toBe(true);
    expect(off.text).not.toContain("<|think|>");
  });

  it("Seed: a budget of N is written as the template's thinking-budget instruction", () => {
    expect(rendered("seed").text).not.toMatch(/512/);
    const budget = rendered("seed", think({ budget: 512 }));
    expect(budget.switched).toBe(true);
    expect(budget.text).toMatch(/512/);
    // A budget of 0 is the empty thought the engine writes, not a variant.
    expect(rendered("seed", think({ budget: 0 })).switched).toBe(false);
  });

  it("other wrappers are the model's own whatever the request says", () => {
    for (const level of ["LOW", "HIGH"] as const) expect(rendered("qwen", think({ level })).switched).toBe(false);
    expect(rendered("qwen", think({ level: "HIGH" })).text).toBe(rendered("qwen").text);
  });

  it("a GGUF's own Jinja template: enable_thinking off for a budget of 0, reasoning_effort from a level, where the template reads them", () => {
    const template = [
      "{%- if reasoning_effort is defined %}<|im_start|>system\nReasoning: {{ reasoning_effort }}<|im_end|>\n{%- endif %}",
      "{%- if enable_thinking is defined and enable_thinking is false %}<|im_start|>system\n/no_think<|im_end|>\n{%- endif %}",
      "{%- for message in messages %}<|im_start|>{{ message.role }}\n{{ message.content }}<|im_end|>\n{%- endfor %}",
      "{%- if add_generation_prompt %}<|im_start|>assistant\n{%- endif %}",
    ].join("");
    const wrappers = new ThinkingWrappers(new JinjaTemplateChatWrapper({ template, tokenizer: model.tokenizer }), model.tokenizer);
    const render = (thinking?: ThinkingOptions) => {
      const { wrapper, switched } = wrappers.for(thinking);
      const history: ChatHistoryItem[] = [{ type: "user", text: "What is 2+2?" }, { type: "model", response: [] }];
      return { text: wrapper.generateContextState({ chatHistory: history }).contextText.toString(), switched };
    };
    expect(render().text).not.toContain("Reasoning:");
    expect(render().text).not.toContain("/no_think");
    expect(render(think({ level: "HIGH" }))).toMatchObject({ switched: false, text: expect.stringContaining("Reasoning: high") });
    // Budget 0: the template is told, and the engine still writes its empty thought (node-llama-cpp drops the template's own).
    const off = render(think({ budget: 0 }));
    expect(off.text).toContain("/no_think");
    expect(off.switched).toBe(false);
    expect(render(think({ budget: -1 })).text).toBe(render().text);

    // A template that reads neither is left as it is.
    const plain = new ThinkingWrappers(new JinjaTemplateChatWrapper({ template: template.replace(/reasoning_effort|enable_thinking/g, "x") }), model.tokenizer);
    expect(plain.for(think({ budget: 0 })).wrapper).toBe(plain.base);
    expect(plain.for(think({ level: "HIGH" })).wrapper).toBe(plain.base);
  });
});
