import { describe, expect, it } from "vitest";
import { registryFrom } from "../../src/cli/options.js";
import { parseModelSpec } from "../../src/models/registry.js";

describe("--model ID=SOURCE[,chat-wrapper=NAME]", () => {
  it("reads a chat wrapper named after the source, and none otherwise", () => {
    expect(parseModelSpec("smol=SmolLM2.gguf,chat-wrapper=qwen3.5")).toEqual({ id: "smol", source: "SmolLM2.gguf", chatWrapper: "qwen3.5" });
    expect(parseModelSpec("models/x=hf:o/r/f.gguf")).toEqual({ id: "x", source: "hf:o/r/f.gguf" });
    expect(parseModelSpec("dir/My-Model.gguf,chat-wrapper=harmony")).toEqual({ id: "my-model", source: "dir/My-Model.gguf", chatWrapper: "harmony" });
  });

  it("reads a projector (mmproj=PATH), before or after a chat wrapper", () => {
    expect(parseModelSpec("vlm=SmolVLM.gguf,mmproj=/m/mmproj-SmolVLM.gguf")).toEqual({ id: "vlm", source: "SmolVLM.gguf", mmproj: "/m/mmproj-SmolVLM.gguf" });
    expect(parseModelSpec("vlm=v.gguf,mmproj=p.gguf,chat-wrapper=qwen3.5")).toEqual({ id: "vlm", source: "v.gguf", mmproj: "p.gguf", chatWrapper: "qwen3.5" });
    expect(parseModelSpec("vlm=v.gguf,chat-wrapper=qwen3.5,mmproj=p.gguf")).toEqual({ id: "vlm", source: "v.gguf", mmproj: "p.gguf", chatWrapper: "qwen3.5" });
  });

  it("refuses a wrapper node-llama-cpp does not have, naming the ones it has", () => {
    expect(() => registryFrom(["smol=SmolLM2.gguf,chat-wrapper=nope"])).toThrow(/unknown chat wrapper "nope"; one of: .*qwen3\.5/);
    expect(registryFrom(["smol=SmolLM2.gguf,chat-wrapper=deepSeek"]).specs[0]).toMatchObject({ chatWrapper: "deepSeek" });
  });
});
