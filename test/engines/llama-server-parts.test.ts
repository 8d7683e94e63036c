import { execFileSync } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findLlamaServer, installedBinaryPath } from "../../src/engines/llama-server/binary.js";
import { installBinary, ninjaProgress, sourceBundlePath } from "../../src/engines/llama-server/source-build.js";
import { embeddingArgs, generationArgs } from "../../src/engines/llama-server/server-args.js";
import { nativeFields, wellFormedText } from "../../src/engines/llama-server/native-fields.js";
import { chooseLocalEngine, engineForModel } from "../../src/cli/engine-choice.js";
import { progressDisplay } from "../../src/cli/engine-build.js";

// `genai-local engine build` without the 20-minute compile: its parts on their own (the real build
// is run by hand, see docs/engines.md), and how a binary is found.
let dir: string;
let fake: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "genai-local-llama-build-"));
  fake = path.join(dir, "built", "llama-server");
  execFileSync("mkdir", ["-p", path.dirname(fake)]);
  await writeFile(fake, "#!/bin/sh\necho 'version: 0.5.0-test (build 1, commit abc1234)' >&2\n");
  await chmod(fake, 0o644); // as a build might leave it: install makes it executable
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("engine build", () => {
  it("reads ninja's [n/m] steps and nothing else", () => {
    expect(ninjaProgress("[12/214] Building CXX object src/CMakeFiles/llama.dir/llama.cpp.o")).toEqual({ done: 12, total: 214 });
    expect(ninjaProgress("[214/214] Linking CXX executable bin/llama-server")).toEqual({ done: 214, total: 214 });
    expect(ninjaProgress("-- Found Git: /usr/bin/git")).toBeUndefined();
    expect(ninjaProgress("warning: [1/2] is not a step")).toBeUndefined();
  });

  it("shows ninja's progress off a terminal as a line at each tenth", () => {
    let written = "";
    const display = progressDisplay({ write: (text: string) => ((written += text), true) } as never);
    for (let done = 1; done <= 204; done++) display.update(done, 204);
    display.stop();
    const lines = written.trim().split("\n");
    expect(lines[0]).toBe("compiling llama-server: 1/204");
    expect(lines.at(-1)).toBe("compiling llama-server: 204/204");
    expect(lines).toHaveLength(11);
  });

  it("builds from the git bundle inside node-llama-cpp's package", () => {
    const bundle = sourceBundlePath();
    expect(bundle.endsWith(path.join("node-llama-cpp", "llama", "gitRelease.bundle"))).toBe(true);
    expect(execFileSync("git", ["bundle", "list-heads", bundle]).toString()).toMatch(/^[0-9a-f]{40} HEAD/);
  });

  it("installs the binary under the data dir, executable, where auto finds it", async () => {
    const dataDir = path.join(dir, "data");
    const installed = await installBinary(fake, dataDir);
    expect(installed).toBe(installedBinaryPath(dataDir));
    expect(statSync(installed).mode & 0o111).not.toBe(0);
    expect(existsSync(`${installed}.${process.pid}.tmp`)).toBe(false);
    expect(findLlamaServer({ dataDir, pathEnv: "" })).toEqual({ path: installed, source: "engine build" });
    const choice = await chooseLocalEngine({ dataDir });
    // PATH may hold a llama-server on a developer's machine; then that one comes first.
    if (choice.kind === "llama-server" && choice.binary.source === "engine build") {
      expect(choice).toMatchObject({ version: "0.5.0-test (build 1, commit abc1234)", reason: `--engine auto found ${installed} (from engine build)` });
    }
  });

  it("prefers the named binary, then PATH, then the installed one", async () => {
    const dataDir = path.join(dir, "data");
    await chmod(fake, 0o755);
    expect(findLlamaServer({ explicit: fake, dataDir, pathEnv: "" })).toEqual({ path: fake, source: "--llama-server" });
    expect(findLlamaServer({ explicit: fake, fromEnv: true })).toEqual({ path: fake, source: "GENAI_LOCAL_LLAMA_SERVER" });
    expect(findLlamaServer({ dataDir, pathEnv: `/nonexistent${path.delimiter}${path.dirname(fake)}` })).toEqual({ path: fake, source: "PATH" });
    expect(findLlamaServer({ dataDir: path.join(dir, "none"), pathEnv: "" })).toBeUndefined();
    expect(() => findLlamaServer({ explicit: path.join(dir, "missing") })).toThrow(/--llama-server names .*missing, which is not an executable file/);
    expect(await chooseLocalEngine({ engine: "node-llama-cpp", llamaServer: fake })).toEqual({ kind: "node-llama-cpp", reason: "--engine node-llama-cpp" });
  });
});

describe("a model's engine", () => {
  const server = { kind: "llama-server" as const, reason: "found", binary: { path: "/b", source: "PATH" as const }, version: "1" };

  it("keeps a model naming a node-llama-cpp chat wrapper on node-llama-cpp under auto, and refuses it when llama-server is asked for", () => {
    expect(engineForModel({ id: "m" }, server)).toBe(server);
    expect(engineForModel({ id: "m", chatWrapper: "qwen3.5" }, server)).toEqual({ kind: "node-llama-cpp", reason: "it names node-llama-cpp's chat wrapper qwen3.5" });
    expect(() => engineForModel({ id: "m", chatWrapper: "qwen3.5" }, server, "llama-server")).toThrow(/chat-wrapper=qwen3.5 is node-llama-cpp's/);
  });
});

describe("llama-server's arguments", () => {
  const facts = { trainContext: 8192, hasChatTemplate: true, hasPooling: false, description: "m.gguf (m, llama)" };
  const model = { id: "m", modelPath: "/m.gguf", parallel: 4, threads: 2, contextSize: 2048 };

  it("gives each slot the per-stream context, flash attention off on the CPU, slot states saved in the state dir", () => {
    const args = generationArgs(model, facts, "/state");
    expect(args.join(" ")).toBe("-m /m.gguf --alias m -np 4 -c 8192 -t 2 -fa off --metrics --slot-save-path /state --no-webui");
    expect(generationArgs({ ...model, contextSize: 100_000, threads: undefined }, facts, "/state").join(" ")).toContain("-np 4 -c 32768 -fa off");
    expect(generationArgs({ ...model, mmproj: "/p.gguf" }, facts, "/state").join(" ")).toMatch(/ --mmproj \/p\.gguf$/);
  });

  it("embeds a whole text in one batch, at the last token when the model has no pooling, unnormalised", () => {
    expect(embeddingArgs(model, facts, "/state").join(" ")).toBe("-m /m.gguf --alias m --embeddings --pooling last --embd-normalize -1 --cache-ram 0 -np 1 -c 2048 -b 2048 -ub 2048 -t 2 -fa off --slot-save-path /state --no-webui");
    expect(embeddingArgs(model, { ...facts, hasPooling: true }, "/state")).not.toContain("--pooling");
  });
});

describe("llama-server's own request fields", () => {
  const request = (sampling: object) => ({ prompt: { turns: [{ role: "user" as const, text: "hi" }] }, sampling });

  it("samples as the node-llama-cpp engine does unless told: temperature 1, top-p 0.95, top-k 64, repeat penalty 1.1 over 64", () => {
    const { request: sent, fields } = nativeFields(request({}), false);
    expect(sent.sampling).toMatchObject({ temperature: 1, topP: 0.95, topK: 64 });
    expect(fields).toEqual({ timings_per_token: true, repeat_penalty: 1.1, repeat_last_n: 64 });
    expect(nativeFields(request({ temperature: 0, presencePenalty: 0.5 }), false)).toMatchObject({ request: { sampling: { temperature: 0 } }, fields: { repeat_penalty: 1, repeat_last_n: -1 } });
  });

  it("says an enum as a grammar, and a plain continuation's schema and logprobs in its own fields", () => {
    expect(nativeFields(request({ constraint: { kind: "enum", values: ['a "b"', "c"] } }), false).fields.grammar).toBe('root ::= "a \\"b\\"" | "c"');
    const plain = nativeFields(request({ constraint: { kind: "json-schema", schema: { type: "object" } }, logprobs: 0 }), true);
    expect(plain.fields).toMatchObject({ json_schema: { type: "object" }, n_probs: 1 });
    expect(plain.request.sampling.constraint).toBeUndefined();
    expect(plain.request.sampling.logprobs).toBeUndefined();
  });

  it("replaces lone surrogates, keeps pairs", () => {
    expect(wellFormedText("a\ud800b\udc00c\ud83d\ude00")).toBe("a\ufffdb\ufffdc\ud83d\ude00");
  });
});
