import type { Embeddings, GenerationEvent, ModelInfo, SavedPrefix, PromptInput, SamplingOptions, ThinkingOptions } from "../engine.js";
import type { LlamaEngineOptions } from "./llama-engine.js";

/** Messages between the API server and a model's runner process (structured-clone IPC). */
export type ToRunner =
  /** `batchMs`: how long text events may wait to travel together (see runner-main.ts). */
  | { type: "load"; options: LlamaEngineOptions; batchMs: number }
  | { type: "generate"; id: number; prompt: PromptInput; sampling: SamplingOptions; thinking?: ThinkingOptions }
  | { type: "abort"; id: number }
  | { type: "count"; id: number; prompt: PromptInput }
  | { type: "embed"; id: number; texts: string[] }
  | { type: "save-prefix"; id: number; prompt: PromptInput }
  | { type: "drop-prefix"; id: number; prefix: string };

export type FromRunner =
  | { type: "ready"; info: ModelInfo }
  | { type: "load-failed"; message: string }
  /** Events of all streams produced in one event-loop turn, batched into one message. */
  | { type: "events"; batch: [id: number, event: GenerationEvent | "finished"][] }
  | { type: "failed"; id: number; message: string; rejected: boolean }
  | { type: "counted"; id: number; tokens: number }
  | { type: "embedded"; id: number; embeddings: Embeddings }
  | { type: "prefix-saved"; id: number; prefix: SavedPrefix }
  | { type: "prefix-dropped"; id: number };
