import { z } from "zod";
import { ContentSchema, ThinkingConfigSchema, ToolConfigSchema, ToolSchema, type ModalityTokenCount } from "../gemini/protocol.js";
import { wireObject } from "../route-kit/wire-object.js";

/**
 * The Live API's wire (BidiGenerateContent), validated at the edge. Client messages carry one of
 * `setup`, `clientContent`, `realtimeInput`, `toolResponse`, in either spelling (the Python SDK
 * sends `client_content` at the top level); their contents are the Gemini REST types.
 */

/** The generation settings a Live setup may carry; the speech ones are named so they can be refused by name. */
export const LiveGenerationConfigSchema = wireObject({
  temperature: z.number().min(0).max(2).optional(),
  topP: z.number().min(0).max(1).optional(),
  topK: z.number().int().min(1).optional(),
  maxOutputTokens: z.number().int().min(1).optional(),
  seed: z.number().int().optional(),
  stopSequences: z.array(z.string()).max(5).optional(),
  presencePenalty: z.number().min(-2).max(2).optional(),
  frequencyPenalty: z.number().min(-2).max(2).optional(),
  candidateCount: z.number().int().min(1).max(1).optional(),
  responseModalities: z.array(z.string()).optional(),
  thinkingConfig: ThinkingConfigSchema.optional(),
  mediaResolution: z.string().optional(),
  speechConfig: z.unknown().optional(),
  enableAffectiveDialog: z.boolean().optional(),
});
export type LiveGenerationConfig = z.infer<typeof LiveGenerationConfigSchema>;

export const SetupSchema = wireObject({
  model: z.string().min(1),
  generationConfig: LiveGenerationConfigSchema.optional(),
  systemInstruction: ContentSchema.optional(),
  tools: z.array(ToolSchema).max(128).optional(),
  /** Not sent by the SDKs' Live modules; taken as in generateContent (mode ANY forces a call). */
  toolConfig: ToolConfigSchema.optional(),
  realtimeInputConfig: z.unknown().optional(),
  sessionResumption: wireObject({ handle: z.string().optional(), transparent: z.boolean().optional() }).optional(),
  contextWindowCompression: z.unknown().optional(),
  inputAudioTranscription: z.unknown().optional(),
  outputAudioTranscription: z.unknown().optional(),
  proactivity: z.unknown().optional(),
  historyConfig: z.unknown().optional(),
});
export type Setup = z.infer<typeof SetupSchema>;

export const ClientContentSchema = wireObject({
  turns: z.array(ContentSchema).max(10_000).optional(),
  turnComplete: z.boolean().optional(),
});
export type ClientContent = z.infer<typeof ClientContentSchema>;

export const RealtimeInputSchema = wireObject({
  text: z.string().optional(),
  mediaChunks: z.unknown().optional(),
  audio: z.unknown().optional(),
  video: z.unknown().optional(),
  audioStreamEnd: z.boolean().optional(),
  activityStart: z.unknown().optional(),
  activityEnd: z.unknown().optional(),
});
export type RealtimeInput = z.infer<typeof RealtimeInputSchema>;

export const FunctionResponseSchema = z.looseObject({
  id: z.string().optional(),
  name: z.string().min(1),
  response: z.unknown().optional(),
});

export const ToolResponseSchema = wireObject({
  functionResponses: z.array(FunctionResponseSchema).max(128).optional(),
});
export type ToolResponse = z.infer<typeof ToolResponseSchema>;

export const ClientMessageSchema = wireObject({
  setup: SetupSchema.optional(),
  clientContent: ClientContentSchema.optional(),
  realtimeInput: RealtimeInputSchema.optional(),
  toolResponse: ToolResponseSchema.optional(),
});
export type ClientMessage = z.infer<typeof ClientMessageSchema>;

export interface LiveUsageMetadata {
  promptTokenCount?: number;
  cachedContentTokenCount?: number;
  responseTokenCount: number;
  totalTokenCount: number;
  promptTokensDetails?: ModalityTokenCount[];
  responseTokensDetails: { modality: "TEXT"; tokenCount: number }[];
}

export interface LiveFunctionCall {
  id: string;
  name: string;
  args: Record<string, unknown>;
}

export interface ServerContent {
  modelTurn?: { role: "model"; parts: { text: string }[] };
  generationComplete?: true;
  turnComplete?: true;
  interrupted?: true;
}

/** What the server sends: one of these fields per message, with usageMetadata beside turnComplete. */
export interface LiveServerMessage {
  setupComplete?: Record<string, never>;
  serverContent?: ServerContent;
  toolCall?: { functionCalls: LiveFunctionCall[] };
  toolCallCancellation?: { ids: string[] };
  goAway?: { timeLeft: string };
  sessionResumptionUpdate?: { newHandle: string; resumable: boolean };
  usageMetadata?: LiveUsageMetadata;
}
