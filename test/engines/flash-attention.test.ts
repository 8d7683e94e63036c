import path from "node:path";
import type { LlamaContext } from "node-llama-cpp";
import { describe, expect, it } from "vitest";
import { LlamaEngine } from "../../src/engines/llama/llama-engine.js";
import { flashAttentionFor } from "../../src/engines/llama/llama-runtime.js";
import { modelsDir } from "../support/server.js";

describe("flash attention", () => {
  it("auto is llama.cpp's choice; on and off are kept", () => {
    expect(flashAttentionFor("auto")).toBe("auto");
    expect(flashAttentionFor("on")).toBe(true);
    expect(flashAttentionFor("off")).toBe(false);
  });

  it("reaches the model's contexts: llama.cpp's choice by default, off or on when asked", async () => {
    const modelPath = path.join(modelsDir(), "stories260K.gguf");
    for (const [mode, expected] of [[undefined, "auto"], ["off", false], ["on", true]] as const) {
      const engine = await LlamaEngine.load({ id: "m", modelPath, threads: 1, parallel: 1, flashAttention: mode });
      try {
        // The generation context is private; what it was created with is what this test is about.
        expect((engine["context"] as LlamaContext).flashAttention).toBe(expected);
        let text = "";
        for await (const event of engine.generate({ prompt: { turns: [{ role: "user", text: "Once upon a time" }] }, sampling: { temperature: 0, maxOutputTokens: 8 } })) {
          if (event.type === "text") text += event.text;
        }
        expect(text.length).toBeGreaterThan(0);
      } finally {
        await engine.close();
      }
    }
  });
});
