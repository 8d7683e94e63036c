import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { Readable } from "node:stream";
import { ApiKeys, checkGeminiKey } from "../route-kit/auth.js";
import { ApiError, invalidArgument, notFound } from "../route-kit/errors.js";
import { parseJsonText } from "../base/json-depth.js";
import { parseBody } from "../route-kit/validate.js";
import { FileStoreError, VALID_FILE_ID, type FileStore, type UploadSession } from "./file-store.js";
import { CreateFileRequestSchema, toFileResource } from "./protocol.js";
import { parseMultipart } from "./multipart.js";

export interface UploadRoutesOptions {
  store: FileStore;
  keys: ApiKeys;
}

/** The SDKs send 8 MiB chunks; we say so, as Google's x-goog-upload-chunk-granularity does. */
const CHUNK_GRANULARITY = 8 * 1024 * 1024;
const MAX_METADATA_BYTES = 64 * 1024;
/** A one-request (multipart or raw) upload is held in memory: larger files go resumable. */
const MAX_ONE_REQUEST_BYTES = 256 * 1024 * 1024;

/** What a browser's upload sends and must be let read (CORS). */
export const UPLOAD_REQUEST_HEADERS = [
  "x-goog-upload-protocol",
  "x-goog-upload-command",
  "x-goog-upload-header-content-length",
  "x-goog-upload-header-content-type",
  "x-goog-upload-offset",
  "x-goog-upload-file-name",
];
export const UPLOAD_RESPONSE_HEADERS = ["x-goog-upload-url", "x-goog-upload-control-url", "x-goog-upload-status", "x-goog-upload-size-received", "x-goog-upload-chunk-granularity"];

type UploadQuery = { Querystring: { upload_id?: string; uploadType?: string; key?: string } };

export const baseUrlOf = (request: FastifyRequest): string => `${request.protocol}://${request.host}`;

async function readAll(body: Readable, limit: number, what: string): Promise<Buffer> {
  const pieces: Buffer[] = [];
  let size = 0;
  for await (const piece of body as AsyncIterable<Buffer>) {
    size += piece.length;
    if (size > limit) {
      body.resume();
      throw invalidArgument(`The ${what} is larger than ${limit} bytes.`);
    }
    pieces.push(piece);
  }
  return Buffer.concat(pieces);
}

const header = (request: FastifyRequest, name: string): string | undefined => {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
};

/** The store's refusals in Google's terms; a chunk's errors keep the upload's headers so a client can resync. */
function toApiError(error: unknown): unknown {
  if (!(error instanceof FileStoreError)) return error;
  const headers = error.received === undefined ? undefined : { "x-goog-upload-status": "active", "x-goog-upload-size-received": String(error.received) };
  if (error.kind === "not-found") return new ApiError("NOT_FOUND", error.message);
  if (error.kind === "quota") return new ApiError("RESOURCE_EXHAUSTED", error.message);
  if (error.kind === "exists") return new ApiError("ALREADY_EXISTS", error.message);
  if (error.kind === "busy") return new ApiError("FAILED_PRECONDITION", error.message, undefined, headers);
  return new ApiError("INVALID_ARGUMENT", error.message, undefined, headers);
}

function fileMetadata(raw: unknown): { id?: string; displayName?: string; mimeType?: string; sizeBytes?: number } {
  const file = parseBody(CreateFileRequestSchema, raw ?? {}).file ?? {};
  let id: string | undefined;
  if (file.name !== undefined && file.name !== "") {
    id = file.name.replace(/^files\//, "");
    if (!VALID_FILE_ID.test(id)) {
      throw invalidArgument(`Invalid file name "${file.name}": the id after files/ must be 1-40 lowercase letters, digits or dashes, and not start or end with a dash.`);
    }
  }
  return { id, displayName: file.displayName, mimeType: file.mimeType, sizeBytes: file.sizeBytes === undefined ? undefined : Number(file.sizeBytes) };
}

/**
 * `POST /upload/{version}/files`: Google's resumable protocol (start, then chunks to the upload URL,
 * the last one with `finalize`; `query` for what arrived; `cancel`), and the one-request multipart
 * and raw forms. The start needs the API key; chunks are authorised by the upload id in the URL,
 * a random secret the server gave only to that caller (Google's upload URLs work the same way, and
 * google-genai sends chunks without the key).
 */
export async function uploadRoutes(app: FastifyInstance, options: UploadRoutesOptions): Promise<void> {
  const { store, keys } = options;
  const version = app.prefix.replace(/^\/upload\//, "");

  // Bytes are written to disk as they arrive, whatever Content-Type the client gave them.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", (_request, payload, done) => done(null, payload));

  app.addHook("onRequest", async (request) => {
    const query = request.query as UploadQuery["Querystring"];
    const presented = header(request, "x-goog-api-key") ?? query.key;
    if (query.upload_id !== undefined && presented === undefined) return;
    checkGeminiKey(keys, request);
  });

  app.post<UploadQuery>("/files", async (request, reply) => {
    const body = (request.body as Readable | undefined) ?? null;
    try {
      if (request.query.upload_id !== undefined) return await uploadCommand(request, reply, request.query.upload_id, body);
      const protocol = (header(request, "x-goog-upload-protocol") ?? request.query.uploadType ?? "").toLowerCase();
      if (protocol === "resumable") return await startUpload(request, reply, body);
      if (protocol === "multipart") return await multipartUpload(request, body);
      if (protocol === "raw" || protocol === "media") return await rawUpload(request, body);
      body?.resume();
      throw invalidArgument("Set X-Goog-Upload-Protocol to resumable, multipart or raw to upload a file.");
    } catch (error) {
      body?.resume();
      throw toApiError(error);
    }
  });

  async function startUpload(request: FastifyRequest, reply: FastifyReply, body: Readable | null) {
    const command = (header(request, "x-goog-upload-command") ?? "").toLowerCase();
    if (command !== "start") throw invalidArgument(`X-Goog-Upload-Command must be "start" to begin a resumable upload (got "${command}").`);
    const text = body ? (await readAll(body, MAX_METADATA_BYTES, "upload's metadata")).toString("utf8") : "";
    const meta = fileMetadata(text.trim() === "" ? {} : parseJson(text));
    const declared = header(request, "x-goog-upload-header-content-length") ?? (meta.sizeBytes === undefined ? undefined : String(meta.sizeBytes));
    if (declared === undefined || !/^\d+$/.test(declared.trim())) {
      throw invalidArgument("X-Goog-Upload-Header-Content-Length must give the file's size in bytes.");
    }
    const sizeBytes = Number(declared.trim());
    const mimeType = header(request, "x-goog-upload-header-content-type") ?? meta.mimeType;
    if (!mimeType) throw invalidArgument("X-Goog-Upload-Header-Content-Type must give the file's MIME type.");
    const session = await store.startUpload({ id: meta.id, displayName: meta.displayName, mimeType, sizeBytes });
    const url = `${baseUrlOf(request)}/upload/${version}/files?upload_id=${session.id}&upload_protocol=resumable`;
    return reply
      .headers({
        "x-goog-upload-url": url,
        "x-goog-upload-control-url": url,
        "x-goog-upload-status": "active",
        "x-goog-upload-chunk-granularity": String(CHUNK_GRANULARITY),
      })
      .send();
  }

  function sessionReply(request: FastifyRequest, reply: FastifyReply, session: UploadSession) {
    reply.header("x-goog-upload-size-received", String(session.received));
    if (!session.done) return reply.header("x-goog-upload-status", "active").send();
    return reply.header("x-goog-upload-status", "final").send({ file: toFileResource(session.done, baseUrlOf(request), version) });
  }

  async function uploadCommand(request: FastifyRequest, reply: FastifyReply, uploadId: string, body: Readable | null) {
    const commands = (header(request, "x-goog-upload-command") ?? "").toLowerCase().split(",").map((c) => c.trim()).filter(Boolean);
    const session = store.upload(uploadId);
    if (!session) {
      throw notFound("No upload with this id is in progress here (it finished, was cancelled, expired, or the server restarted). Start the upload again.");
    }
    if (commands.includes("cancel")) {
      store.cancel(uploadId);
      return reply.header("x-goog-upload-status", "cancelled").send();
    }
    if (commands.includes("query")) {
      body?.resume();
      return sessionReply(request, reply, session);
    }
    const upload = commands.includes("upload");
    const finalize = commands.includes("finalize");
    if (!upload && !finalize) throw invalidArgument(`X-Goog-Upload-Command must be upload, "upload, finalize", finalize, query or cancel (got "${commands.join(", ")}").`);
    const offsetText = header(request, "x-goog-upload-offset");
    if (offsetText === undefined || !/^\d+$/.test(offsetText.trim())) {
      throw new ApiError("INVALID_ARGUMENT", "X-Goog-Upload-Offset must give the byte offset of this chunk.", undefined, {
        "x-goog-upload-status": session.done ? "final" : "active",
        "x-goog-upload-size-received": String(session.received),
      });
    }
    const chunk = upload && body ? body : Readable.from([]);
    if (!upload) body?.resume();
    const updated = await store.appendChunk(uploadId, Number(offsetText.trim()), chunk, finalize);
    return sessionReply(request, reply, updated);
  }

  async function multipartUpload(request: FastifyRequest, body: Readable | null) {
    const type = header(request, "content-type") ?? "";
    const boundary = /boundary="?([^";]+)"?/i.exec(type)?.[1];
    if (!boundary) throw invalidArgument("A multipart upload needs Content-Type multipart/related with a boundary.");
    const bytes = body ? await readAll(body, MAX_ONE_REQUEST_BYTES + MAX_METADATA_BYTES, "multipart upload (use the resumable protocol for large files)") : Buffer.alloc(0);
    const parts = parseMultipart(bytes, boundary);
    if (parts.length !== 2) throw invalidArgument(`A multipart upload has two parts, the metadata (JSON) and the file's bytes; this one has ${parts.length}.`);
    const [metaPart, dataPart] = parts as [(typeof parts)[0], (typeof parts)[0]];
    const metaText = metaPart.body.toString("utf8").trim();
    const meta = fileMetadata(metaText === "" ? {} : parseJson(metaText));
    const mimeType = meta.mimeType ?? dataPart.contentType;
    if (!mimeType) throw invalidArgument("Give the file's MIME type in the metadata (file.mimeType) or as the second part's Content-Type.");
    const file = await store.putWhole({ id: meta.id, displayName: meta.displayName, mimeType }, dataPart.body);
    return { file: toFileResource(file, baseUrlOf(request), version) };
  }

  async function rawUpload(request: FastifyRequest, body: Readable | null) {
    const mimeType = header(request, "x-goog-upload-header-content-type") ?? header(request, "content-type");
    if (!mimeType) throw invalidArgument("A raw upload needs the file's MIME type as its Content-Type.");
    const bytes = body ? await readAll(body, MAX_ONE_REQUEST_BYTES, "raw upload (use the resumable protocol for large files)") : Buffer.alloc(0);
    const displayName = header(request, "x-goog-upload-file-name");
    const file = await store.putWhole({ mimeType, displayName }, bytes);
    return { file: toFileResource(file, baseUrlOf(request), version) };
  }
}

/** Upload metadata is JSON this route reads itself (its bodies skip the server's parser): behind the same depth guard. */
function parseJson(text: string): unknown {
  try {
    return parseJsonText(text);
  } catch (error) {
    if (error instanceof SyntaxError) throw invalidArgument(`Invalid JSON payload received. ${error.message}`);
    throw error;
  }
}
