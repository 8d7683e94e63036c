import { mediaPart, type MediaContext } from "./media.js";
import type { ChatTurn, TurnPart, FunctionDeclaration, GenerateRequest, ModelInfo, PromptInput, SamplingOptions, ThinkingOptions, ToolUse } from "../engines/engine.js";
import { invalidArgument, NOT_YET } from "../base/api-error.js";
import { toGrammarSchema, type JsonSchema, type OutputConstraint } from "../serving/output-constraint.js";
import { thoughtSigner } from "../serving/thought-signatures.js";
import { appendTurn, CallPairing, partsTurn } from "../serving/turns.js";
import { callText, checkToolUse, NO_PARAMETERS, resultText, withToolPrompt } from "../serving/tool-calls.js";
import type { Content, CountTokensRequest, EmbedContentRequest, GenerateContentRequest, GenerationConfig, ThinkingConfig, Tool, ToolConfig } from "./protocol.js";

/** Pure translation of the Gemini wire's requests into the engine's (responses: translate-response.ts). */

interface TurnContent {
  text: string;
  /** Every part, in order (text-only contents leave them out of the turn, see partsTurn). */
  parts: TurnPart[];
}

/** A content's parts; function calls and results are paired by `pairing` and also written as text for engines that read only text. */
function turnContent(content: Content, where: string, media?: MediaContext, pairing = new CallPairing()): TurnContent {
  const parts = content.parts ?? [];
  if (parts.length === 0) throw invalidArgument(`* GenerateContentRequest.${where}.parts: contents.parts must not be empty.`);
  const pieces: TurnPart[] = [];
  let text = "";
  parts.forEach((part, index) => {
    for (const field of ["executableCode", "codeExecutionResult"] as const) {
      if (part[field] !== undefined) {
        throw invalidArgument(`${where}.parts[${index}].${field}: this model accepts text, media and function parts only; ${field} ${NOT_YET}.`);
      }
    }
    if (part.thought) return; // the model's own thoughts are not replayed into the prompt
    if (part.inlineData || part.fileData) {
      const piece = mediaPart(part, `${where}.parts[${index}]`, media);
      if (piece.type === "text") text += piece.text;
      pieces.push(piece);
    } else if (part.functionCall) {
      const { name, args = {} } = part.functionCall;
      pieces.push({ type: "call", id: pairing.call(name, part.functionCall.id), name, args });
      text += callText([{ name, args }]);
    } else if (part.functionResponse) {
      const { name, response } = part.functionResponse;
      pieces.push({ type: "result", ...pairing.result(name, part.functionResponse.id), response });
      text += resultText(name, response);
    } else {
      pieces.push({ type: "text", text: part.text ?? "" });
      text += part.text ?? "";
    }
  });
  return { text, parts: pieces };
}

function turnText(content: Content, where: string): string {
  return turnContent(content, where).text;
}

/** `contents` → turns, with consecutive same-role turns merged as Google does. `media`: where media parts may be taken. */
export function toPromptInput(contents: Content[], systemInstruction?: Content, media?: MediaContext): PromptInput {
  if (contents.length === 0) throw invalidArgument("* GenerateContentRequest.contents: contents is not specified");
  const turns: ChatTurn[] = [];
  const pairing = new CallPairing();
  const currentTurnStart = lastUserTextIndex(contents) + 1;
  contents.forEach((content, index) => {
    // Function results come back as "user" turns (older SDKs say "function").
    const role = content.role === "function" ? "user" : (content.role ?? "user");
    if (role !== "user" && role !== "model") {
      throw invalidArgument(`Please use a valid role: user, model. (contents[${index}].role is "${role}")`);
    }
    const { text, parts } = turnContent(content, `contents[${index}]`, media, pairing);
    const thought = index >= currentTurnStart && role === "model" ? signedThought(content) : undefined;
    appendTurn(turns, partsTurn(role, text, parts, thought), "");
  });
  const prompt: PromptInput = { turns };
  if (systemInstruction) prompt.systemInstruction = turnText(systemInstruction, "system_instruction");
  return prompt;
}

/**
 * The contents of the current turn begin after the last user content that is not only function
 * results: the steps of a function-calling exchange. Their model turns get their thoughts back
 * (as Gemini 3 keeps them); earlier turns' thoughts are left out, as thinking models' own chat
 * templates leave them out.
 */
function lastUserTextIndex(contents: Content[]): number {
  for (let i = contents.length - 1; i >= 0; i--) {
    const content = contents[i]!;
    if (content.role !== "model" && (content.parts ?? []).some((part) => !part.functionResponse)) return i;
  }
  return -1;
}

/** The thoughts our own signatures on a model content carry; foreign signatures are ignored. */
function signedThought(content: Content): string | undefined {
  let thought = "";
  for (const part of content.parts ?? []) {
    if (part.thoughtSignature) thought += thoughtSigner.open(part.thoughtSignature) ?? "";
  }
  return thought || undefined;
}

/** generationConfig.thinkingConfig → how much the model thinks and whether the client sees it. */
export function toThinking(config: ThinkingConfig | undefined): ThinkingOptions | undefined {
  if (!config) return undefined;
  if (config.thinkingBudget !== undefined && config.thinkingLevel !== undefined && config.thinkingLevel !== "THINKING_LEVEL_UNSPECIFIED") {
    throw invalidArgument("generation_config.thinking_config: thinking_budget and thinking_level cannot be set together; use one of them.");
  }
  const thinking: ThinkingOptions = { includeThoughts: config.includeThoughts ?? false };
  if (config.thinkingBudget !== undefined) thinking.budget = config.thinkingBudget;
  if (config.thinkingLevel !== undefined && config.thinkingLevel !== "THINKING_LEVEL_UNSPECIFIED") thinking.level = config.thinkingLevel;
  return thinking;
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
  if ((config.responseModalities ?? []).some((m) => m.toUpperCase() !== "TEXT")) {
    throw invalidArgument(`generation_config.responseModalities: ${JSON.stringify(config.responseModalities)} ${NOT_YET}; this model answers in TEXT only.`);
  }
  if (config.logprobs !== undefined && !config.responseLogprobs) {
    throw invalidArgument("generation_config.logprobs: logprobs is only valid when response_logprobs is true.");
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
    logprobs: config.responseLogprobs ? (config.logprobs ?? 0) : undefined,
  };
}

/** tools[].functionDeclarations + toolConfig → the functions the model may call, and how. */
export function toToolUse(tools: Tool[] = [], config?: ToolConfig): ToolUse | undefined {
  const functions: FunctionDeclaration[] = [];
  tools.forEach((tool, i) => {
    for (const [field, value] of Object.entries(tool)) {
      if (field !== "functionDeclarations" && value !== undefined) throw invalidArgument(`tools[${i}].${field}: ${field} ${NOT_YET}; declare functions instead.`);
    }
    (tool.functionDeclarations ?? []).forEach((declaration, j) => {
      const where = `tools[${i}].function_declarations[${j}]`;
      if (declaration.parameters !== undefined && declaration.parametersJsonSchema !== undefined) {
        throw invalidArgument(`${where}: set parameters or parameters_json_schema, not both.`);
      }
      const schema = declaration.parametersJsonSchema ?? declaration.parameters;
      const parameters = schema === undefined ? NO_PARAMETERS : toGrammarSchema(schema, `${where}.parameters`, { advisory: true });
      functions.push({ name: declaration.name, description: declaration.description, parameters, declaredParameters: schema as JsonSchema | undefined });
    });
  });
  const calling = config?.functionCallingConfig;
  if (functions.length === 0) {
    if (calling?.mode === "ANY") throw invalidArgument("tool_config.function_calling_config.mode ANY needs function declarations in tools.");
    return undefined;
  }
  const mode = calling?.mode === "ANY" || calling?.mode === "NONE" ? calling.mode : "AUTO";
  if (calling?.allowedFunctionNames?.length && mode !== "ANY") {
    throw invalidArgument("tool_config.function_calling_config.allowed_function_names can only be set when mode is ANY.");
  }
  return checkToolUse({ functions, mode, allowed: calling?.allowedFunctionNames }, "tools");
}

export function toGenerateRequest(body: GenerateContentRequest, signal?: AbortSignal, media?: MediaContext): GenerateRequest {
  const sampling = toSampling(body.generationConfig);
  const tools = toToolUse(body.tools, body.toolConfig);
  if (tools?.mode === "ANY" && sampling.constraint) {
    throw invalidArgument("generation_config.response_mime_type/response_schema cannot be combined with function calling mode ANY.");
  }
  const thinking = toThinking(body.generationConfig?.thinkingConfig);
  return {
    prompt: toPromptInput(body.contents, body.systemInstruction, media),
    ...(thinking ? { thinking } : {}),
    sampling,
    tools,
    candidateCount: body.generationConfig?.candidateCount,
    signal,
  };
}

/**
 * countTokens takes either `contents` or a whole `generateContentRequest`; the latter's function
 * declarations count too, as the prompt a local model reads holds them (written by the serving
 * layer, or by the engine in its model's own format); an engine with tool calling of its own counts none.
 */
export function countTokensPrompt(body: CountTokensRequest, model: Pick<ModelInfo, "nativeTools" | "toolCallFormat"> = {}, media?: MediaContext): PromptInput {
  if (body.generateContentRequest) {
    const inner = body.generateContentRequest;
    const prompt = toPromptInput(inner.contents, inner.systemInstruction, media);
    const tools = model.nativeTools ? undefined : toToolUse(inner.tools, inner.toolConfig);
    return tools ? withToolPrompt({ prompt, sampling: {}, tools }, model.toolCallFormat).prompt : prompt;
  }
  return toPromptInput(body.contents ?? [], undefined, media);
}

/** The text an embed request embeds: its parts, with a document title first (RETRIEVAL_DOCUMENT). */
export function embedText(request: EmbedContentRequest, where = "content"): string {
  const text = turnText(request.content, where);
  return request.title ? `${request.title}\n${text}` : text;
}
