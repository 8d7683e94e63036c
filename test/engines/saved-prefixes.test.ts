import { readdir } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { LlamaEngine } from "../../src/engines/llama/llama-engine.js";
import { machineTag } from "../../src/engines/state-dirs.js";
import { modelsDir } from "../support/server.js";

/** This process's state directories under the system's temp dir, and the files in them. */
async function ownStateFiles(): Promise<string[]> {
  const mine = new RegExp(`^genai-local-kv-${machineTag()}-${process.pid}-`);
  const dirs = (await readdir(os.tmpdir())).filter((name) => mine.test(name));
  const files = await Promise.all(dirs.map(async (dir) => (await readdir(path.join(os.tmpdir(), dir))).map((file) => `${dir}/${file}`)));
  return files.flat();
}

describe("an engine given no state directory", () => {
  it("saves cached prefixes in one named like a server's (so an orphan is cleaned up), removed when it closes", async () => {
    const before = await ownStateFiles();
    const engine = await LlamaEngine.load({ id: "m", modelPath: path.join(modelsDir(), "stories260K.gguf"), threads: 1, parallel: 1 });
    try {
      const saved = await engine.savePrefix({ turns: [{ role: "user", text: "Once upon a time there was a bird." }] });
      expect(saved.tokens).toBeGreaterThan(5);
      const added = (await ownStateFiles()).filter((file) => !before.includes(file));
      expect(added).toEqual([expect.stringMatching(new RegExp(`/${saved.id}\\.kv$`))]);
    } finally {
      await engine.close();
    }
    expect(await ownStateFiles()).toEqual(before);
  });
});
