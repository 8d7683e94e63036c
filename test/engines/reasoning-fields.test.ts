import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { deltaReasoning, reasoningFields } from "../../src/engines/upstream/reasoning-fields.js";
import { parseUpstreamSource } from "../../src/engines/upstream/upstream-spec.js";
import { ThoughtSigner } from "../../src/serving/thought-signatures.js";

describe("reasoning fields per upstream dialect", () => {
  const off = { includeThoughts: false, budget: 0 };
  const auto = { includeThoughts: true, budget: -1 };
  const budget = { includeThoughts: true, budget: 2048 };
  const high = { includeThoughts: true, level: "HIGH" as const };

  it.each([
    ["openai", off, { reasoning_effort: "low" }],
    ["openai", auto, {}],
    ["openai", high, { reasoning_effort: "high" }],
    ["vllm", off, { reasoning_effort: "low", chat_template_kwargs: { enable_thinking: false } }],
    ["vllm", budget, { reasoning_effort: "medium", thinking_token_budget: 2048 }],
    ["llama-server", off, { chat_template_kwargs: { enable_thinking: false } }],
    ["llama-server", high, { reasoning_effort: "high" }],
    ["llama-server", budget, { reasoning_effort: "medium", reasoning_budget_tokens: 2048 }],
    ["openrouter", off, { reasoning: { enabled: false } }],
    ["openrouter", budget, { reasoning: { max_tokens: 2048 } }],
    ["openrouter", auto, { reasoning: { enabled: true } }],
    ["deepseek", off, { thinking: { type: "disabled" } }],
    ["deepseek", high, { thinking: { type: "enabled" } }],
    ["none", high, {}],
  ] as const)("%s, %o → %o", (dialect, thinking, fields) => {
    expect(reasoningFields(dialect, thinking)).toEqual(fields);
  });

  it("sends nothing when the client did not ask", () => {
    expect(reasoningFields("vllm", undefined)).toEqual({});
  });

  it("reads reasoning_content and reasoning deltas", () => {
    expect(deltaReasoning({ reasoning_content: "a" })).toBe("a");
    expect(deltaReasoning({ reasoning: "b" })).toBe("b");
    expect(deltaReasoning({ reasoning_content: null, reasoning: "" } as never)).toBeUndefined();
  });

  it("takes reasoning=DIALECT in --upstream and refuses an unknown one", () => {
    expect(parseUpstreamSource("m", "openai:http://h:1/v1,reasoning=llama-server").reasoning).toBe("llama-server");
    expect(() => parseUpstreamSource("m", "openai:http://h:1/v1,reasoning=magic")).toThrow(/reasoning=magic is not one of/);
  });
});

describe("thought signatures", () => {
  const signer = new ThoughtSigner();

  it("carry the thought text back, opaque to the client", () => {
    const signature = signer.sign("I should call get_weather.");
    expect(signature).not.toContain("get_weather");
    expect(signer.open(signature)).toBe("I should call get_weather.");
  });

  it("read as foreign when altered, made by another key, or not ours at all", () => {
    const signature = signer.sign("secret plan");
    const bytes = Buffer.from(signature, "base64");
    bytes[bytes.length - 1]! ^= 1;
    expect(signer.open(bytes.toString("base64"))).toBeUndefined();
    expect(new ThoughtSigner().open(signature)).toBeUndefined();
    expect(signer.open("CiQB0e2Kb6TkudQsDxtD31FVR08uogP/Bg0v09ujrGIhrx9VQ1IK")).toBeUndefined();
    expect(signer.open("")).toBeUndefined();
    expect(signer.open("not base64 at all!")).toBeUndefined();
  });

  it("share a key file: made with the first signature, read by the next signer, a damaged one refused", () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "genai-local-key-"));
    try {
      const file = path.join(dir, "data", "thought-signing.key");
      const first = new ThoughtSigner();
      first.useKeyFile(file);
      expect(existsSync(file)).toBe(false);
      const signature = first.sign("kept across restarts");
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(statSync(path.dirname(file)).mode & 0o777).toBe(0o700);
      const next = new ThoughtSigner();
      next.useKeyFile(file);
      expect(next.open(signature)).toBe("kept across restarts");
      writeFileSync(file, "short\n");
      expect(() => new ThoughtSigner().useKeyFile(file)).toThrow(/is not a thought-signing key/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
