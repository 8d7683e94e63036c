import type { ChatTurn, GenerateRequest, ModelInfo, PromptInput, SamplingOptions, TokenUsage } from "../engines/engine.js";
import { invalidArgument } from "../http/errors.js";
import { toGrammarSchema, type OutputConstraint } from "../serving/output-constraint.js";
import type {
  Candidate,
  Content,
  CountTokensRequest,
  EmbedContentRequest,
  GenerateContentRequest,
  GenerateContentResponse,
  GenerationConfig,
  ModelResource,
  UsageMetadata,
} from "./protocol.js";

/** Pure translation between the Gemini wire types and the engine's request and events. */

const NOT_YET = "is not supported by genai-local yet";

function turnText(content: Content, where: string): string {
  const parts = content.parts ?? [];
  if (parts.length === 0) throw invalidArgument(`* GenerateContentRequest.${where}.parts: contents.parts must not be empty.`);
  let text = "";
  parts.forEach((part, index) => {
    for (const field of ["inlineData", "fileData", "functionCall", "functionResponse", "executableCode", "codeExecutionResult"] as const) {
      if (part[field] !== undefined) {
        throw invalidArgument(`${where}.parts[${index}].${field}: this model accepts text parts only; ${field} ${NOT_YET}.`);
      }
    }
    if (part.thought) return; // the model's own thoughts are not replayed into the prompt
    text += part.text ?? "";
  });
  return text;
}

/** `contents` → turns, with consecutive same-role turns merged as Google does. */
export function toPromptInput(contents: Content[], systemInstruction?: Content): PromptInput {
  if (contents.length === 0) throw invalidArgument("* GenerateContentRequest.contents: contents is not specified");
  const turns: ChatTurn[] = [];
  contents.forEach((content, index) => {
    const role = content.role ?? "user";
    if (role !== "user" && role !== "model") {
      throw invalidArgument(`Please use a valid role: user, model. (contents[${index}].role is "${role}")`);
    }
    const text = turnText(content, `contents[${index}]`);
    const last = turns.at(-1);
    if (last && last.role === role) last.text += text;
    else turns.push({ role, text });
  });
  const prompt: PromptInput = { turns };
  if (systemInstruction) prompt.systemInstruction = turnText(systemInstruction, "system_instruction");
  return prompt;
}

/** responseMimeType + responseSchema / responseJsonSchema → the constraint generation must follow. */
export function toOutputConstraint(config: GenerationConfig): OutputConstraint | undefined {
  const mime = config.responseMimeType ?? "text/plain";
  const schema = config.responseJsonSchema ?? config.responseSchema;
  const where = config.responseJsonSchema !== undefined ? "response_json_schema" : "response_schema";
  if (config.responseSchema !== undefined && config.responseJsonSchema !== undefined) {
    throw invalidArgument("generation_config: set responseSchema or responseJsonSchema, not both.");
  }
  if (mime === "text/plain") {
    if (schema !== undefined) throw invalidArgument(`generation_config.${where} requires response_mime_type "application/json" or "text/x.enum".`);
    return undefined;
  }
  if (mime === "application/json") {
    return schema === undefined ? { kind: "json" } : { kind: "json-schema", schema: toGrammarSchema(schema, where) };
  }
  if (mime === "text/x.enum") {
    const values = (schema as { enum?: unknown } | undefined)?.enum;
    if (!Array.isArray(values) || values.length === 0 || !values.every((v) => typeof v === "string")) {
      throw invalidArgument(`generation_config.${where}: "text/x.enum" needs a schema with a non-empty string enum.`);
    }
    return { kind: "enum", values };
  }
  throw invalidArgument(`generation_config.response_mime_type: "${mime}" is not supported; use text/plain, application/json or text/x.enum.`);
}

export function toSampling(config: GenerationConfig = {}): SamplingOptions {
  const unsupported: [keyof GenerationConfig, boolean][] = [
    ["candidateCount", (config.candidateCount ?? 1) > 1],
    ["responseLogprobs", config.responseLogprobs === true],
    ["logprobs", config.logprobs !== undefined],
    ["responseModalities", (config.responseModalities ?? []).some((m) => m.toUpperCase() !== "TEXT")],
  ];
  for (const [field, bad] of unsupported) {
    if (bad) throw invalidArgument(`generation_config.${field}: ${JSON.stringify(config[field])} ${NOT_YET}.`);
  }
  return {
    temperature: config.temperature,
    topP: config.topP,
    topK: config.topK,
    seed: config.seed,
    maxOutputTokens: config.maxOutputTokens,
    stopSequences: config.stopSequences,
    presencePenalty: config.presencePenalty,
    frequencyPenalty: config.frequencyPenalty,
    constraint: toOutputConstraint(config),
  };
}

export function toGenerateRequest(body: GenerateContentRequest, signal?: AbortSignal): GenerateRequest {
  if (body.tools?.length) throw invalidArgument(`tools ${NOT_YET}.`);
  if (body.toolConfig !== undefined) throw invalidArgument(`tool_config ${NOT_YET}.`);
  if (body.cachedContent !== undefined) throw invalidArgument(`cached_content ${NOT_YET}.`);
  return {
    prompt: toPromptInput(body.contents, body.systemInstruction),
    sampling: toSampling(body.generationConfig),
    signal,
  };
}

/** countTokens takes either `contents` or a whole `generateContentRequest`. */
export function countTokensPrompt(body: CountTokensRequest): PromptInput {
  if (body.generateContentRequest) {
    const inner = body.generateContentRequest;
    return toPromptInput(inner.contents, inner.systemInstruction);
  }
  return toPromptInput(body.contents ?? []);
}

export function toUsageMetadata(usage: TokenUsage): UsageMetadata {
  const metadata: UsageMetadata = {
    promptTokenCount: usage.promptTokens,
    candidatesTokenCount: usage.outputTokens,
    totalTokenCount: usage.promptTokens + usage.outputTokens,
  };
  if (usage.cachedPromptTokens > 0) metadata.cachedContentTokenCount = usage.cachedPromptTokens;
  return metadata;
}

export interface ResponseIdentity {
  modelVersion: string;
  responseId: string;
}

export function toResponse(
  text: string,
  usage: TokenUsage,
  identity: ResponseIdentity,
  finishReason?: Candidate["finishReason"],
): GenerateContentResponse {
  const candidate: Candidate = { content: { parts: [{ text }], role: "model" }, index: 0 };
  if (finishReason) candidate.finishReason = finishReason;
  return {
    candidates: [candidate],
    usageMetadata: toUsageMetadata(usage),
    modelVersion: identity.modelVersion,
    responseId: identity.responseId,
  };
}

export const MODEL_METHODS = ["generateContent", "streamGenerateContent", "countTokens", "embedContent", "batchEmbedContents"];
const GENERATION_METHODS = ["generateContent", "streamGenerateContent", "countTokens"];

/** The text an embed request embeds: its parts, with a document title first (RETRIEVAL_DOCUMENT). */
export function embedText(request: EmbedContentRequest, where = "content"): string {
  const text = turnText(request.content, where);
  return request.title ? `${request.title}\n${text}` : text;
}

export function toModelResource(info: ModelInfo, name = info.id): ModelResource {
  return {
    name: `models/${name}`,
    version: "001",
    displayName: name === info.id ? info.displayName : `${name} (alias of ${info.id})`,
    description: info.description,
    inputTokenLimit: info.inputTokenLimit,
    outputTokenLimit: info.outputTokenLimit,
    supportedGenerationMethods: info.canEmbed ? [...GENERATION_METHODS, "embedContent", "batchEmbedContents"] : GENERATION_METHODS,
    temperature: 1,
    topP: 0.95,
    topK: 64,
    maxTemperature: 2,
  };
}
