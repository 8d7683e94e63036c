import path from "node:path";
import type { LlamaContext } from "node-llama-cpp";
import { describe, expect, it } from "vitest";
import { LlamaEngine } from "../../src/engines/llama/llama-engine.js";
import { flashAttentionFor, getRuntime } from "../../src/engines/llama/llama-runtime.js";
import { modelsDir } from "../support/server.js";

describe("flash attention", () => {
  it("auto is off on the CPU alone and llama.cpp's choice on a GPU; on and off are kept", () => {
    expect(flashAttentionFor("auto", false)).toBe(false);
    expect(flashAttentionFor("auto", true)).toBe("auto");
    for (const onGpu of [false, true]) {
      expect(flashAttentionFor("on", onGpu)).toBe(true);
      expect(flashAttentionFor("off", onGpu)).toBe(false);
    }
  });

  it("reaches the model's contexts: off by default on the CPU alone (the tests' runtime), off or on when asked", async () => {
    const modelPath = path.join(modelsDir(), "stories260K.gguf");
    // GENAI_LOCAL_GPU unset: CPU only. Set, the default is llama.cpp's choice.
    const byDefault = (await getRuntime(1)).gpu === false ? false : "auto";
    for (const [mode, expected] of [[undefined, byDefault], ["auto", byDefault], ["on", true], ["off", false]] as const) {
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
