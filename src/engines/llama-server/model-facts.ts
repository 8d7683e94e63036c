import path from "node:path";
import { readGgufFileInfo } from "node-llama-cpp";

/** What the engine needs to know about a GGUF before it starts llama-server for it. */
export interface ModelFacts {
  /** The context the model was trained on, in tokens. */
  trainContext: number;
  hasChatTemplate: boolean;
  /** Whether the model names its own pooling (an embedding model); otherwise embeddings take the last token's state. */
  hasPooling: boolean;
  /** "SmolLM2-135M-Instruct.Q4_1.gguf (SmolLM2 135M Instruct, llama)" */
  description: string;
}

/** Reads the GGUF's header only (no tensors, no vocabulary). */
export async function readModelFacts(modelPath: string): Promise<ModelFacts> {
  const info = await readGgufFileInfo(modelPath, {
    readTensorInfo: false,
    logWarnings: false,
    ignoreKeys: ["tokenizer.ggml.tokens", "tokenizer.ggml.scores", "tokenizer.ggml.token_type", "tokenizer.ggml.merges"],
  });
  const metadata = info.metadata as { general?: { name?: unknown; architecture?: unknown }; tokenizer?: { chat_template?: unknown } };
  const architecture = info.architectureMetadata as { context_length?: unknown; pooling_type?: unknown };
  const trainContext = Number(architecture.context_length);
  const name = typeof metadata.general?.name === "string" && metadata.general.name ? `${metadata.general.name}, ` : "";
  const template = metadata.tokenizer?.chat_template;
  return {
    trainContext: Number.isSafeInteger(trainContext) && trainContext > 0 ? trainContext : 4096,
    hasChatTemplate: typeof template === "string" && template.length > 0,
    hasPooling: architecture.pooling_type !== undefined && Number(architecture.pooling_type) !== 0,
    description: `${path.basename(modelPath)} (${name}${String(metadata.general?.architecture ?? "gguf")})`,
  };
}
