import path from "node:path";
import { getLlama, type LlamaModel } from "node-llama-cpp";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PromptFormatter } from "../../src/engines/llama/prompt-format.js";
import { toPromptInput } from "../../src/gemini/translate.js";
import { modelsDir, useGeminiServer } from "../support/server.js";

// The local path: SmolLM2 driven through node-llama-cpp's Qwen wrapper (a format with function
// calling; no tool-trained GGUF is small enough for the tests) gets a history's calls and results
// in that format, from either surface: both count the prompt the wrapper renders.
const MODEL = "smol-qwen";
const test = useGeminiServer({ models: [`${MODEL}=SmolLM2-135M-Instruct.Q4_1.gguf,chat-wrapper=qwen`] });
let model: LlamaModel;
beforeAll(async () => {
  const llama = await getLlama({ gpu: false, build: "never", maxThreads: 1 });
  model = await llama.loadModel({ modelPath: path.join(modelsDir(), "SmolLM2-135M-Instruct.Q4_1.gguf") });
});
afterAll(async () => model?.dispose());

const contents = [
  { role: "user", parts: [{ text: "Weather in Rome?" }] },
  { role: "model", parts: [{ functionCall: { name: "get_weather", args: { city: "Rome" } } }] },
  { role: "user", parts: [{ functionResponse: { name: "get_weather", response: { forecast: "rain" } } }] },
];

describe("function-call history on a local model with a call format", () => {
  it("@google/genai and the openai SDK send the same history; the engine counts it as the wrapper renders calls and results", async () => {
    const formatted = new PromptFormatter(model, "qwen").format(toPromptInput(contents)).tokens;
    expect(model.detokenize(formatted, true)).toContain('<tool_call>\n{"name": "get_weather", "arguments": {"city": "Rome"}}\n</tool_call><|im_end|>\n<|im_start|>user\n<tool_response>\n{"forecast": "rain"}\n</tool_response>');

    const counted = await test.ai.models.countTokens({ model: MODEL, contents });
    expect(counted.totalTokens).toBe(formatted.length);
    const reply = await test.ai.models.generateContent({ model: MODEL, contents, config: { maxOutputTokens: 4, temperature: 0 } });
    expect(reply.usageMetadata?.promptTokenCount).toBe(formatted.length);

    const openai = new OpenAI({ apiKey: "k", baseURL: `${test.server.url}/v1` });
    const completion = await openai.chat.completions.create({
      model: MODEL,
      max_tokens: 4,
      temperature: 0,
      messages: [
        { role: "user", content: "Weather in Rome?" },
        { role: "assistant", content: null, tool_calls: [{ id: "c1", type: "function", function: { name: "get_weather", arguments: '{"city":"Rome"}' } }] },
        { role: "tool", tool_call_id: "c1", content: '{"forecast":"rain"}' },
      ],
    });
    expect(completion.usage?.prompt_tokens).toBe(formatted.length);
  });
});
