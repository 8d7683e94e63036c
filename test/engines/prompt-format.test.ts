import path from "node:path";
import { getLlama, type LlamaModel } from "node-llama-cpp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PromptFormatter } from "../../src/engines/llama/prompt-format.js";
import { modelsDir } from "../support/server.js";

let chat: LlamaModel;
let stories: LlamaModel;
beforeAll(async () => {
  const llama = await getLlama({ gpu: false, build: "never", maxThreads: 1 });
  chat = await llama.loadModel({ modelPath: path.join(modelsDir(), "SmolLM2-135M-Instruct.Q4_1.gguf") });
  stories = await llama.loadModel({ modelPath: path.join(modelsDir(), "stories260K.gguf") });
});
afterAll(async () => {
  await chat?.dispose();
  await stories?.dispose();
});

const text = (model: LlamaModel, tokens: number[]) => model.detokenize(tokens, true);

describe("PromptFormatter", () => {
  it("writes the system prompt the model's own template adds when a conversation has none", () => {
    const formatter = new PromptFormatter(chat);
    expect(formatter.defaultSystemPrompt).toBe("You are a helpful AI assistant named SmolLM, trained by Hugging Face");
    const prompt = text(chat, formatter.format({ turns: [{ role: "user", text: "Say hello." }] }).tokens);
    expect(prompt).toContain("<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n<|im_start|>user\nSay hello.<|im_end|>\n<|im_start|>assistant\n");
    // A system instruction of the request's own replaces it.
    const own = text(chat, formatter.format({ systemInstruction: "Be brief.", turns: [{ role: "user", text: "Say hello." }] }).tokens);
    expect(own).toContain("<|im_start|>system\nBe brief.<|im_end|>");
    expect(own).not.toContain("SmolLM");
  });

  it("ends a chat turn on the template's end-of-turn token, and a model without a template has none", () => {
    const formatted = new PromptFormatter(chat).format({ turns: [{ role: "user", text: "Hi" }] });
    expect(formatted.stopTokens.map((t) => text(chat, [t]))).toContain("<|im_end|>");
    const plain = new PromptFormatter(stories);
    expect(plain.hasChatTemplate).toBe(false);
    expect(plain.defaultSystemPrompt).toBeUndefined();
    expect(text(stories, plain.format({ turns: [{ role: "user", text: "Once upon a time" }] }).tokens)).toMatch(/^(<s>)?\s*Once upon a time$/);
  });

  it("gives a model turn's thought back as the thinking wrapper's thought segment, and leaves it out for a model that does not think", () => {
    const prompt = {
      turns: [
        { role: "user" as const, text: "What is the weather in Paris?" },
        { role: "model" as const, text: "Let me look.", thought: "The user wants the weather; I should call the tool." },
        { role: "user" as const, text: "It is sunny." },
      ],
    };
    const thinking = text(chat, new PromptFormatter(chat, "qwen3.5").format(prompt).tokens);
    expect(thinking).toContain("<|im_start|>assistant\n<think>\nThe user wants the weather; I should call the tool.\n</think>Let me look.<|im_end|>");
    const plain = text(chat, new PromptFormatter(chat).format(prompt).tokens);
    expect(plain).toContain("<|im_start|>assistant\nLet me look.<|im_end|>");
    expect(plain).not.toContain("The user wants the weather");
  });
});
