/** The Gemini REST wire types (v1beta and v1), validated at the edge (see wireObject). */
import { z } from "zod";
import type { Modality } from "../serving/media-parts.js";
import { wireObject } from "../route-kit/wire-object.js";

export const PartSchema = wireObject({
  text: z.string().optional(),
  thought: z.boolean().optional(),
  thoughtSignature: z.string().optional(),
  inlineData: wireObject({ mimeType: z.string().min(1), data: z.string(), displayName: z.string().optional() }).optional(),
  fileData: wireObject({ mimeType: z.string().optional(), fileUri: z.string().min(1), displayName: z.string().optional() }).optional(),
  functionCall: wireObject({ id: z.string().optional(), name: z.string().min(1), args: z.record(z.string(), z.unknown()).optional() }).optional(),
  functionResponse: z
    .looseObject({ id: z.string().optional(), name: z.string().min(1), response: z.unknown().optional() })
    .optional(),
  executableCode: z.unknown().optional(),
  codeExecutionResult: z.unknown().optional(),
  videoMetadata: z.unknown().optional(),
});
export type Part = z.infer<typeof PartSchema>;

export const ContentSchema = wireObject({
  role: z.string().optional(),
  parts: z.array(PartSchema).max(1_000).optional(),
});
export type Content = z.infer<typeof ContentSchema>;

/** Levels are sent in either case by the SDKs (the Python SDK's enum is upper case, hand-written bodies often lower). */
const THINKING_LEVELS = ["THINKING_LEVEL_UNSPECIFIED", "MINIMAL", "LOW", "MEDIUM", "HIGH"] as const;

export const ThinkingConfigSchema = wireObject({
  includeThoughts: z.boolean().optional(),
  thinkingBudget: z.number().int().min(-1).optional(),
  thinkingLevel: z.preprocess((v) => (typeof v === "string" ? v.toUpperCase() : v), z.enum(THINKING_LEVELS)).optional(),
});
export type ThinkingConfig = z.infer<typeof ThinkingConfigSchema>;

export const GenerationConfigSchema = wireObject({
  temperature: z.number().min(0).max(2).optional(),
  topP: z.number().min(0).max(1).optional(),
  topK: z.number().int().min(1).optional(),
  maxOutputTokens: z.number().int().min(1).optional(),
  stopSequences: z.array(z.string()).max(5).optional(),
  seed: z.number().int().optional(),
  candidateCount: z.number().int().min(1).max(8).optional(),
  presencePenalty: z.number().min(-2).max(2).optional(),
  frequencyPenalty: z.number().min(-2).max(2).optional(),
  responseMimeType: z.string().optional(),
  responseSchema: z.unknown().optional(),
  responseJsonSchema: z.unknown().optional(),
  responseModalities: z.array(z.string()).optional(),
  responseLogprobs: z.boolean().optional(),
  logprobs: z.number().int().min(0).max(20).optional(),
  thinkingConfig: ThinkingConfigSchema.optional(),
  mediaResolution: z.string().optional(),
  enableEnhancedCivicAnswers: z.boolean().optional(),
});
export type GenerationConfig = z.infer<typeof GenerationConfigSchema>;

export const FunctionDeclarationSchema = wireObject({
  name: z.string(),
  description: z.string().optional(),
  parameters: z.unknown().optional(),
  parametersJsonSchema: z.unknown().optional(),
  response: z.unknown().optional(),
  responseJsonSchema: z.unknown().optional(),
  behavior: z.string().optional(),
});
export type FunctionDeclarationWire = z.infer<typeof FunctionDeclarationSchema>;

/** Tools other than functions are named so that they can be refused by name. */
export const ToolSchema = wireObject({
  functionDeclarations: z.array(FunctionDeclarationSchema).max(512).optional(),
  googleSearch: z.unknown().optional(),
  googleSearchRetrieval: z.unknown().optional(),
  codeExecution: z.unknown().optional(),
  urlContext: z.unknown().optional(),
  retrieval: z.unknown().optional(),
  computerUse: z.unknown().optional(),
  fileSearch: z.unknown().optional(),
  googleMaps: z.unknown().optional(),
  enterpriseWebSearch: z.unknown().optional(),
});
export type Tool = z.infer<typeof ToolSchema>;

export const ToolConfigSchema = wireObject({
  functionCallingConfig: wireObject({
    mode: z.enum(["MODE_UNSPECIFIED", "AUTO", "ANY", "NONE", "VALIDATED"]).optional(),
    allowedFunctionNames: z.array(z.string()).optional(),
  }).optional(),
  retrievalConfig: z.unknown().optional(),
});
export type ToolConfig = z.infer<typeof ToolConfigSchema>;

const generateContentShape = {
  contents: z.array(ContentSchema).max(10_000),
  systemInstruction: ContentSchema.optional(),
  generationConfig: GenerationConfigSchema.optional(),
  safetySettings: z.array(z.unknown()).optional(),
  tools: z.array(ToolSchema).max(128).optional(),
  toolConfig: ToolConfigSchema.optional(),
  cachedContent: z.string().optional(),
  labels: z.record(z.string(), z.string()).optional(),
  model: z.string().optional(),
};

export const GenerateContentRequestSchema = wireObject(generateContentShape);
export type GenerateContentRequest = z.infer<typeof GenerateContentRequestSchema>;

export const CountTokensRequestSchema = wireObject({
  contents: z.array(ContentSchema).optional(),
  generateContentRequest: GenerateContentRequestSchema.optional(),
});
export type CountTokensRequest = z.infer<typeof CountTokensRequestSchema>;

const TASK_TYPES = [
  "TASK_TYPE_UNSPECIFIED",
  "RETRIEVAL_QUERY",
  "RETRIEVAL_DOCUMENT",
  "SEMANTIC_SIMILARITY",
  "CLASSIFICATION",
  "CLUSTERING",
  "QUESTION_ANSWERING",
  "FACT_VERIFICATION",
  "CODE_RETRIEVAL_QUERY",
] as const;

export const EmbedContentRequestSchema = wireObject({
  model: z.string().optional(),
  content: ContentSchema,
  taskType: z.enum(TASK_TYPES).optional(),
  title: z.string().optional(),
  outputDimensionality: z.number().int().min(1).optional(),
});
export type EmbedContentRequest = z.infer<typeof EmbedContentRequestSchema>;

export const BatchEmbedContentsRequestSchema = wireObject({
  requests: z.array(EmbedContentRequestSchema).min(1).max(250),
});

export interface UsageMetadata {
  /** Left out when the engine cannot say (an upstream that reports no usage). */
  promptTokenCount?: number;
  /** Left out while it is 0 and the model is thinking. */
  candidatesTokenCount?: number;
  totalTokenCount: number;
  cachedContentTokenCount?: number;
  /** Present once the model has thought; not part of candidatesTokenCount but of the total. */
  thoughtsTokenCount?: number;
  promptTokensDetails?: ModalityTokenCount[];
}

export interface ModalityTokenCount {
  modality: Modality;
  tokenCount: number;
}

export interface TextPart {
  text: string;
  thought?: true;
  thoughtSignature?: string;
}

export interface FunctionCallPart {
  functionCall: { id: string; name: string; args: Record<string, unknown> };
  thoughtSignature?: string;
}

export interface LogprobsCandidate {
  token: string;
  tokenId?: number;
  logProbability: number;
}

export interface LogprobsResult {
  topCandidates: { candidates: LogprobsCandidate[] }[];
  chosenCandidates: LogprobsCandidate[];
  logProbabilitySum?: number;
}

export interface Candidate {
  /** `{}` when the model's output was withheld (MALFORMED_FUNCTION_CALL), as Google sends it. */
  content: { parts: (TextPart | FunctionCallPart)[]; role: "model" } | Record<string, never>;
  finishReason?: "STOP" | "MAX_TOKENS" | "SAFETY" | "MALFORMED_FUNCTION_CALL";
  /** Why generation ended, when the reason needs words: a malformed call quotes what the model wrote. */
  finishMessage?: string;
  index: number;
  logprobsResult?: LogprobsResult;
  avgLogprobs?: number;
}

export interface GenerateContentResponse {
  candidates: Candidate[];
  usageMetadata: UsageMetadata;
  modelVersion: string;
  responseId: string;
}

export interface ModelResource {
  name: string;
  /** genai-local's own: what the model reads (TEXT, and IMAGE, AUDIO, DOCUMENT where it takes them). */
  inputModalities: string[];
  version: string;
  displayName: string;
  description: string;
  inputTokenLimit: number;
  outputTokenLimit: number;
  supportedGenerationMethods: string[];
  temperature: number;
  topP: number;
  topK: number;
  maxTemperature: number;
}
