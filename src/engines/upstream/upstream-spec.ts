import type { InputKind } from "../engine.js";
import { REASONING_DIALECTS, type ReasoningDialect } from "./reasoning-fields.js";

/** `ID=openai:BASE_URL[,model=NAME][,key=ENV_VAR][,input=image+audio+pdf][,reasoning=DIALECT]`: a model served by a remote OpenAI-compatible engine. */
export interface UpstreamSpec {
  id: string;
  baseUrl: string;
  /** The model name the upstream knows it by (default: the id). */
  model: string;
  /** Name of the environment variable holding the upstream's API key, if any. */
  keyEnv?: string;
  /** Media the upstream model takes (`input=image+audio`); none by default. */
  inputKinds?: InputKind[];
  /** Which request fields carry thinkingConfig / reasoning_effort (see reasoning-fields.ts); default openai. */
  reasoning?: ReasoningDialect;
  /** Raw prompts (legacy completions, models without a chat template) go to its /completions as plain text; otherwise they are sent as chat. */
  completions?: boolean;
}

const INPUT_KINDS: readonly string[] = ["image", "audio", "pdf"];

export const UPSTREAM_PREFIX = "openai:";

export function isUpstreamSource(source: string): boolean {
  return source.startsWith(UPSTREAM_PREFIX);
}

/** Parses the SOURCE part (`openai:BASE_URL[,model=NAME][,key=ENV_VAR][,input=KINDS]`) for model `id`. */
export function parseUpstreamSource(id: string, source: string): UpstreamSpec {
  const [url = "", ...options] = source.slice(UPSTREAM_PREFIX.length).split(",");
  let base: URL;
  try {
    base = new URL(url);
  } catch {
    throw new Error(`--upstream ${id}: "${url}" is not a URL (expected ${id}=openai:http://host:port/v1).`);
  }
  const spec: UpstreamSpec = { id, baseUrl: base.toString().replace(/\/$/, ""), model: id };
  for (const option of options) {
    const [key, value] = option.split("=", 2);
    if (key === "model" && value) spec.model = value;
    else if (key === "key" && value) spec.keyEnv = value;
    else if (key === "input" && value) spec.inputKinds = parseInputKinds(id, value);
    else if (key === "reasoning" && (REASONING_DIALECTS as readonly string[]).includes(value ?? "")) spec.reasoning = value as ReasoningDialect;
    else if (key === "reasoning") throw new Error(`--upstream ${id}: reasoning=${value ?? ""} is not one of ${REASONING_DIALECTS.join(", ")}.`);
    else throw new Error(`--upstream ${id}: unknown option "${option}" (use model=NAME, key=ENV_VAR, input=image+audio+pdf or reasoning=DIALECT).`);
  }
  return spec;
}

function parseInputKinds(id: string, value: string): InputKind[] {
  const kinds = [...new Set(value.split("+").map((kind) => kind.trim().toLowerCase()))];
  const unknown = kinds.find((kind) => !INPUT_KINDS.includes(kind));
  if (unknown !== undefined) throw new Error(`--upstream ${id}: unknown input kind "${unknown}" (use image, audio and pdf joined by +).`);
  return kinds as InputKind[];
}
