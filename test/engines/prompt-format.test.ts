import path from "node:path";
import { getLlama, type LlamaModel } from "node-llama-cpp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PromptFormatter } from "../../src/engines/llama/prompt-format.js";
import { toPromptInput } from "../../src/gemini/translate.js";
import { chatToGenerateRequest } from "../../src/openai/translate.js";
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

describe("PromptFormatter with function calls in the history", () => {
  // Gemini contents through the surface's own translation: a call, its result (paired by name), a reply.
  const history = toPromptInput([
    { role: "user", parts: [{ text: "Weather in Rome?" }] },
    { role: "model", parts: [{ text: "Checking." }, { functionCall: { name: "get_weather", args: { city: "Rome" } } }] },
    { role: "user", parts: [{ functionResponse: { name: "get_weather", response: { forecast: "rain" } } }] },
  ]);

  it("a wrapper with the model's own call format (Qwen's) writes calls and results in it, the model's turn left open after them", () => {
    const prompt = text(chat, new PromptFormatter(chat, "qwen").format(history).tokens);
    expect(prompt).toContain(
      '<|im_start|>assistant\nChecking.<tool_call>\n{"name": "get_weather", "arguments": {"city": "Rome"}}\n</tool_call><|im_end|>\n' +
        '<|im_start|>user\n<tool_response>\n{"forecast": "rain"}\n</tool_response><|im_end|>\n<|im_start|>assistant\n',
    );
    expect(prompt.endsWith("</tool_response><|im_end|>\n<|im_start|>assistant\n")).toBe(true);
    expect(prompt).not.toContain("Result of");
  });

  it("OpenAI tool_calls and tool messages render the same way, JSON results as values; text after them is a user turn of its own", () => {
    const { prompt } = chatToGenerateRequest({
      model: "m",
      messages: [
        { role: "user", content: "Weather in Rome?" },
        { role: "assistant", content: "Checking.", tool_calls: [{ id: "c1", type: "function", function: { name: "get_weather", arguments: '{"city":"Rome"}' } }] },
        { role: "tool", tool_call_id: "c1", content: '{"forecast":"rain"}' },
        { role: "user", content: "Thanks." },
      ],
    });
    const rendered = text(chat, new PromptFormatter(chat, "qwen").format(prompt).tokens);
    expect(rendered).toContain('<tool_call>\n{"name": "get_weather", "arguments": {"city": "Rome"}}\n</tool_call><|im_end|>\n<|im_start|>user\n<tool_response>\n{"forecast": "rain"}\n</tool_response>');
    expect(rendered.endsWith("<|im_start|>user\nThanks.<|im_end|>\n<|im_start|>assistant\n")).toBe(true);
  });

  it("SmolLM2's own format has no function calling: calls and results stay the JSON text they always were", () => {
    const prompt = text(chat, new PromptFormatter(chat).format(history).tokens);
    expect(prompt).toContain(
      '<|im_start|>assistant\nChecking.{"name":"get_weather","args":{"city":"Rome"}}<|im_end|>\n<|im_start|>user\nResult of get_weather: {"forecast":"rain"}<|im_end|>\n<|im_start|>assistant\n',
    );
  });

  it("a call left unanswered keeps the whole history as text, in a format with function calling too", () => {
    const unanswered = toPromptInput([
      { role: "user", parts: [{ text: "Weather in Rome?" }] },
      { role: "model", parts: [{ functionCall: { name: "get_weather", args: { city: "Rome" } } }] },
      { role: "user", parts: [{ text: "Never mind." }] },
    ]);
    const prompt = text(chat, new PromptFormatter(chat, "qwen").format(unanswered).tokens);
    expect(prompt).toContain('<|im_start|>assistant\n{"name":"get_weather","args":{"city":"Rome"}}<|im_end|>\n<|im_start|>user\nNever mind.<|im_end|>');
    expect(prompt).not.toContain("<tool_call>");
  });
});
