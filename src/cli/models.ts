import { readdir } from "node:fs/promises";
import type { ModelRegistry } from "../models/registry.js";

/** Configured models with their sources, then the GGUF files present in the models dir. */
export async function listModels(models: ModelRegistry, modelsDir: string): Promise<void> {
  const lines = models.specs.map((spec, i) => `${spec.id}${i === 0 ? " (default)" : ""}\t${spec.source}`);
  process.stdout.write(`Configured models (every gemini-* id resolves to ${models.defaultId}):\n${lines.join("\n")}\n`);
  let files: string[] = [];
  try {
    files = (await readdir(modelsDir)).filter((name) => name.toLowerCase().endsWith(".gguf"));
  } catch {
    // a models dir that does not exist yet simply holds no files
  }
  process.stdout.write(`\nModel files in ${modelsDir}:\n${files.length ? files.join("\n") : "(none)"}\n`);
}
