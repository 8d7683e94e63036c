import { environment } from "../../base/config.js";
import type { ModelFacts } from "./model-facts.js";

export type FlashAttention = "auto" | "on" | "off";

export interface LlamaServerModel {
  id: string;
  modelPath: string;
  /** llama.cpp threads; llama-server's own default (the machine's cores) when absent (the CLI always sets them: see defaultThreads). */
  threads?: number;
  /** Streams generated at once: llama-server's slots. */
  parallel: number;
  /** Context tokens per stream; the model's trained context when absent. */
  contextSize?: number;
  flashAttention?: FlashAttention;
  /** A multimodal projector GGUF: llama-server then takes the image or audio parts it was made for. */
  mmproj?: string;
}

/** Context tokens each slot gets: what was asked, at most the trained context. */
export function slotContext(model: LlamaServerModel, facts: ModelFacts): number {
  return Math.min(model.contextSize ?? facts.trainContext, facts.trainContext);
}

/**
 * `auto` flash attention is off unless a GPU is asked for (GENAI_LOCAL_GPU), as for the
 * node-llama-cpp engine: on the CPU alone its kernel is the slower path.
 */
function flashAttention(mode: FlashAttention | undefined): string {
  if (mode === "on" || mode === "off") return mode;
  const gpu = environment.gpu();
  return gpu && gpu !== "false" ? "auto" : "off";
}

/**
 * The generation server's arguments: one slot per stream, each with the whole per-stream
 * context (llama-server splits `-c` between its slots), metrics for /metrics and the tests,
 * and where slot states (cached contents) are saved.
 */
export function generationArgs(model: LlamaServerModel, facts: ModelFacts, stateDir: string): string[] {
  return [
    "-m", model.modelPath,
    "--alias", model.id,
    "-np", String(model.parallel),
    "-c", String(slotContext(model, facts) * model.parallel),
    ...(model.threads === undefined ? [] : ["-t", String(model.threads)]),
    "-fa", flashAttention(model.flashAttention),
    "--metrics",
    "--slot-save-path", stateDir,
    "--no-webui",
    ...(model.mmproj ? ["--mmproj", model.mmproj] : []),
  ];
}

/**
 * The embedding server's: llama-server computes embeddings only when started with `--embeddings`,
 * which also narrows its batch, so embeddings get a process of their own (started on first use).
 * A whole text is one batch; a model without pooling of its own is read at its last token, as the
 * node-llama-cpp engine does; vectors come back as computed (not normalised), as Engine.embed promises.
 */
export function embeddingArgs(model: LlamaServerModel, facts: ModelFacts, stateDir: string): string[] {
  const context = String(slotContext(model, facts));
  return [
    "-m", model.modelPath,
    "--alias", model.id,
    "--embeddings",
    ...(facts.hasPooling ? [] : ["--pooling", "last"]),
    "--embd-normalize", "-1",
    // Embedding prompts are not worth keeping in memory for reuse.
    "--cache-ram", "0",
    "-np", "1",
    "-c", context, "-b", context, "-ub", context,
    ...(model.threads === undefined ? [] : ["-t", String(model.threads)]),
    "-fa", flashAttention(model.flashAttention),
    // Only for /slots/0?action=erase (see LlamaServerEngine.embed): it saves nothing there.
    "--slot-save-path", stateDir,
    "--no-webui",
  ];
}
