import { z } from "zod";
import { ContentSchema, ToolConfigSchema, ToolSchema } from "./protocol.js";
import { wireObject } from "../route-kit/wire-object.js";

/** The `cachedContents` wire types (context caching), validated at the edge as the other requests are. */

/** Fields the server writes; a client may send a resource back with them, and they are ignored. */
const outputOnly = {
  name: z.string().optional(),
  createTime: z.string().optional(),
  updateTime: z.string().optional(),
  usageMetadata: z.unknown().optional(),
};

const expiration = {
  /** A protobuf Duration in its JSON form: "300s", "1.5s". */
  ttl: z.string().optional(),
  /** An RFC 3339 timestamp. */
  expireTime: z.string().optional(),
};

export const CreateCachedContentRequestSchema = wireObject({
  ...outputOnly,
  ...expiration,
  model: z.string().min(1),
  displayName: z.string().max(128).optional(),
  contents: z.array(ContentSchema).max(10_000).optional(),
  systemInstruction: ContentSchema.optional(),
  tools: z.array(ToolSchema).max(128).optional(),
  toolConfig: ToolConfigSchema.optional(),
});
export type CreateCachedContentRequest = z.infer<typeof CreateCachedContentRequestSchema>;

/** PATCH takes a CachedContent; only its expiration can change (see `updateMask`). */
export const UpdateCachedContentRequestSchema = wireObject({
  ...outputOnly,
  ...expiration,
  model: z.string().optional(),
  displayName: z.string().optional(),
  contents: z.unknown().optional(),
  systemInstruction: z.unknown().optional(),
  tools: z.unknown().optional(),
  toolConfig: z.unknown().optional(),
});
export type UpdateCachedContentRequest = z.infer<typeof UpdateCachedContentRequestSchema>;

export interface CachedContentResource {
  name: string;
  model: string;
  displayName?: string;
  createTime: string;
  updateTime: string;
  expireTime: string;
  usageMetadata: { totalTokenCount: number };
}

/** As Google's: an empty page is `{}`. */
export interface ListCachedContentsResponse {
  cachedContents?: CachedContentResource[];
  nextPageToken?: string;
}
