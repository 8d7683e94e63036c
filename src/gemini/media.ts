import type { ModelInfo, TurnPart } from "../engines/engine.js";
import { invalidArgument } from "../route-kit/errors.js";
import { decodedBytes, MAX_MEDIA_PART_BYTES, MAX_MEDIA_REQUEST_BYTES, mediaKind, SUPPORTED_MIME_TYPES } from "../serving/media-parts.js";
import type { Content, Part } from "./protocol.js";

/** What a request's media parts need: the bytes of the files they name, and the model that must read them. */
export interface MediaContext {
  /** fileData.fileUri → its bytes (base64) and the file's MIME type; see loadReferencedFiles. */
  files: ReadonlyMap<string, { mimeType: string; data: string }>;
  /** The model the request goes to: parts it cannot take are refused. Absent (countTokens): no check. */
  model?: ModelInfo;
  /** Decoded media bytes so far in this request (MAX_MEDIA_REQUEST_BYTES). */
  bytes: number;
}

export const newMediaContext = (files: MediaContext["files"] = new Map(), model?: ModelInfo): MediaContext => ({ files, model, bytes: 0 });

const tooMuchMedia = () => invalidArgument(`The request's media parts come to more than ${MAX_MEDIA_REQUEST_BYTES} bytes, the most one request may carry.`);

type FileLoader = (fileUri: string, where: string) => Promise<{ mimeType: string; data: string }>;

/** Loads the file of each fileData part (once per URI) before translation, which stays synchronous and pure. */
export async function loadReferencedFiles(contents: Content[], load: FileLoader): Promise<Map<string, { mimeType: string; data: string }>> {
  const files = new Map<string, { mimeType: string; data: string }>();
  let bytes = 0;
  for (const [i, content] of contents.entries()) {
    for (const [j, part] of (content.parts ?? []).entries()) {
      const uri = part.fileData?.fileUri;
      if (uri === undefined || files.has(uri)) continue;
      const file = await load(uri, `contents[${i}].parts[${j}]`);
      bytes += decodedBytes(file.data);
      if (bytes > MAX_MEDIA_REQUEST_BYTES) throw tooMuchMedia();
      files.set(uri, file);
    }
  }
  return files;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Standard base64 of inline data: base64url (which Google takes too) and whitespace normalised. */
function normalisedBase64(data: string, where: string): string {
  const standard = data.replace(/\s+/g, "").replace(/-/g, "+").replace(/_/g, "/");
  if (!BASE64.test(standard) || standard.length % 4 === 1) throw invalidArgument(`Invalid value at '${where}.inline_data.data' (TYPE_BYTES), Base64 decoding failed.`);
  return standard;
}

const kindsOf = (model: ModelInfo): string => (model.inputKinds?.length ? `text, ${model.inputKinds.join(", ")}` : "text only");

/** One inlineData or fileData part → a turn part, checked against the MIME types we take, the size limits and the model. */
export function mediaPart(part: Part, where: string, media: MediaContext | undefined): TurnPart {
  const field = part.inlineData ? "inlineData" : "fileData";
  if (!media) throw invalidArgument(`${where}.${field}: media parts are not taken here; send text.`);
  let mimeType: string;
  let data: string;
  if (part.inlineData) {
    mimeType = part.inlineData.mimeType;
    data = normalisedBase64(part.inlineData.data, where);
  } else {
    const uri = part.fileData!.fileUri;
    const file = media.files.get(uri);
    if (!file) throw invalidArgument(`${where}.fileData.fileUri: "${uri}" was not loaded.`);
    mimeType = part.fileData!.mimeType || file.mimeType;
    data = file.data;
  }
  const kind = mediaKind(mimeType);
  if (kind === undefined) {
    throw invalidArgument(`${where}.${field}: MIME type "${mimeType}" is not supported. Supported: ${SUPPORTED_MIME_TYPES.join(", ")}.`);
  }
  const size = decodedBytes(data);
  if (size > MAX_MEDIA_PART_BYTES) {
    throw invalidArgument(`${where}.${field} (${mimeType}) is ${size} bytes; a media part may have at most ${MAX_MEDIA_PART_BYTES} bytes.`);
  }
  media.bytes += size;
  if (media.bytes > MAX_MEDIA_REQUEST_BYTES) throw tooMuchMedia();
  if (kind === "text") return { type: "text", text: Buffer.from(data, "base64").toString("utf8") };
  if (media.model && !media.model.inputKinds?.includes(kind)) {
    throw invalidArgument(`${where}.${field}: model ${media.model.id} cannot take ${mimeType} input (${kind}); it takes ${kindsOf(media.model)}.`);
  }
  return { type: "media", kind, mimeType, data };
}
