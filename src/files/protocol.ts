import { z } from "zod";
import { wireObject } from "../route-kit/wire-object.js";
import type { StoredFile } from "./file-store.js";

/** The Files API's wire types (v1beta, v1, v1alpha), as @google/genai and google-genai send them. */

/** `file` of a create request: what the client says about the upload; sizes come as strings or numbers. */
export const FileMetadataSchema = wireObject({
  name: z.string().optional(),
  displayName: z.string().max(512).optional(),
  mimeType: z.string().optional(),
  sizeBytes: z.union([z.string().regex(/^\d+$/), z.number().int().min(0)]).optional(),
});

export const CreateFileRequestSchema = wireObject({ file: FileMetadataSchema.optional() });
export type CreateFileRequest = z.infer<typeof CreateFileRequestSchema>;

export interface FileResource {
  name: string;
  displayName?: string;
  mimeType: string;
  /** int64, a string on Google's JSON wire. */
  sizeBytes: string;
  createTime: string;
  updateTime: string;
  expirationTime: string;
  sha256Hash: string;
  uri: string;
  state: "ACTIVE";
  source: "UPLOADED";
}

export interface ListFilesResponse {
  files?: FileResource[];
  nextPageToken?: string;
}

/** `baseUrl`: this server as the client reached it (`http://host:port`), `version`: the API version asked. */
/**
 * No `downloadUri`: Google sets it only on generated files (source GENERATED), and the SDKs read its
 * absence as "uploaded, not downloadable"; `:download` still serves these by name.
 */
export function toFileResource(file: StoredFile, baseUrl: string, version: string): FileResource {
  const uri = `${baseUrl}/${version}/files/${file.id}`;
  return {
    name: `files/${file.id}`,
    ...(file.displayName ? { displayName: file.displayName } : {}),
    mimeType: file.mimeType,
    sizeBytes: String(file.sizeBytes),
    createTime: new Date(file.createTime).toISOString(),
    updateTime: new Date(file.updateTime).toISOString(),
    expirationTime: new Date(file.expirationTime).toISOString(),
    sha256Hash: file.sha256Hash,
    uri,
    state: "ACTIVE",
    source: "UPLOADED",
  };
}
