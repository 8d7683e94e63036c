import type { FastifyInstance } from "fastify";
import { checkGeminiKey, type ApiKeys } from "../route-kit/auth.js";
import { invalidArgument, notFound, permissionDenied } from "../route-kit/errors.js";
import type { FileStore, StoredFile } from "./file-store.js";
import { toFileResource, type ListFilesResponse } from "./protocol.js";
import { baseUrlOf } from "./upload-routes.js";

export interface FilesRoutesOptions {
  store: FileStore;
  keys: ApiKeys;
}

const DEFAULT_PAGE_SIZE = 10;
const MAX_PAGE_SIZE = 100;

/**
 * Google's answer for a file that is not there (never uploaded, deleted, expired, or another
 * project's): 403 PERMISSION_DENIED in these words, not a 404 (see docs/files-and-media.md).
 */
export const fileNotFound = (id: string) => permissionDenied(`You do not have permission to access the File ${id} or it may not exist.`);

/** `files/abc`, `abc` → the stored file, or Google's 403. */
export function findFile(store: FileStore, name: string): StoredFile {
  const id = name.replace(/^files\//, "");
  const file = store.get(id);
  if (!file) throw fileNotFound(id);
  return file;
}

/** files.get, files.list, files.delete and files.download (`:download?alt=media`); under /v1beta, /v1 and /v1alpha. */
export async function filesRoutes(app: FastifyInstance, options: FilesRoutesOptions): Promise<void> {
  const { store, keys } = options;
  const version = app.prefix.replace(/^\//, "");

  app.addHook("onRequest", async (request) => checkGeminiKey(keys, request));

  app.get<{ Querystring: { pageSize?: string; page_size?: string; pageToken?: string; page_token?: string } }>("/files", async (request) => {
    const sizeText = request.query.pageSize ?? request.query.page_size;
    const size = sizeText === undefined || sizeText === "" ? DEFAULT_PAGE_SIZE : Number(sizeText);
    if (!Number.isInteger(size) || size < 0) throw invalidArgument(`Invalid value for page_size: "${sizeText}" (a whole number >= 0).`);
    const token = request.query.pageToken ?? request.query.page_token;
    const page = store.list(Math.min(size || DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE), token || undefined);
    const response: ListFilesResponse = {};
    if (page.files.length > 0) response.files = page.files.map((file) => toFileResource(file, baseUrlOf(request), version));
    if (page.nextPageToken) response.nextPageToken = page.nextPageToken;
    return response;
  });

  app.get<{ Params: { name: string }; Querystring: { alt?: string } }>("/files/:name", async (request, reply) => {
    const { name } = request.params;
    const colon = name.indexOf(":");
    if (colon === -1) return toFileResource(findFile(store, name), baseUrlOf(request), version);
    const method = name.slice(colon + 1);
    if (method !== "download") throw notFound(`Method "${method}" is not served on files; use get, list, delete or download.`);
    const file = findFile(store, name.slice(0, colon));
    if (request.query.alt !== "media") throw invalidArgument("files.download answers the file's bytes: ask with ?alt=media.");
    return reply.type(file.mimeType).header("content-length", String(file.sizeBytes)).send(store.stream(file.id));
  });

  app.delete<{ Params: { name: string } }>("/files/:name", async (request) => {
    const file = findFile(store, request.params.name);
    await store.remove(file.id);
    return {};
  });
}
