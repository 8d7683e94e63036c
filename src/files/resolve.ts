import { invalidArgument } from "../route-kit/errors.js";
import { MAX_MEDIA_PART_BYTES } from "../serving/media-parts.js";
import type { FileStore } from "./file-store.js";
import { fileNotFound, findFile } from "./routes.js";

export interface FileBytes {
  mimeType: string;
  /** base64 */
  data: string;
}

const LOOPBACK = new Set(["localhost", "127.0.0.1", "[::1]"]);
const FILE_PATH = /^\/(?:v1beta|v1|v1alpha)\/files\/([a-z0-9-]+)$/;

/** Whether `host` (host:port) names this server as the request's `host` does; loopback names are one. */
function sameServer(host: string, requestHost: string): boolean {
  if (host === requestHost) return true;
  const split = (value: string) => {
    const at = value.lastIndexOf(":");
    return at > value.lastIndexOf("]") ? [value.slice(0, at), value.slice(at + 1)] : [value, ""];
  };
  const [name, port] = split(host);
  const [requestName, requestPort] = split(requestHost);
  return port === requestPort && LOOPBACK.has(name!) && LOOPBACK.has(requestName!);
}

/**
 * A fileData.fileUri → the bytes of a file uploaded here. Ours are `files/ID` and this server's
 * own URIs (`http://host:port/v1beta/files/ID`); any other URI (gs://, another host) is refused
 * and never fetched: the server reads no URL a client hands it.
 */
export function fileUriResolver(store: FileStore, requestHost: string): (fileUri: string, where: string) => Promise<FileBytes> {
  return async (fileUri, where) => {
    let id: string | undefined;
    if (/^files\/[a-z0-9-]+$/.test(fileUri)) id = fileUri.slice("files/".length);
    else {
      let url: URL | undefined;
      try {
        url = new URL(fileUri);
      } catch {
        url = undefined;
      }
      if (url && (url.protocol === "http:" || url.protocol === "https:") && sameServer(url.host, requestHost)) id = FILE_PATH.exec(url.pathname)?.[1];
      if (id === undefined) {
        throw invalidArgument(
          `${where}.fileData.fileUri: "${fileUri.slice(0, 200)}" is not a file of this server. genai-local reads only files uploaded to it (files/ID or the uri its files API gave) and never fetches other URIs (gs://, https:// of another host).`,
        );
      }
    }
    const file = findFile(store, id);
    // Refused before it is read: a 2 GiB upload must not be loaded to learn it is too large.
    if (file.sizeBytes > MAX_MEDIA_PART_BYTES) {
      throw invalidArgument(`${where}.fileData: files/${id} is ${file.sizeBytes} bytes; a media part may have at most ${MAX_MEDIA_PART_BYTES} bytes.`);
    }
    // Deleted or expired since it was looked up: the same answer as if it had been gone before.
    const bytes = await store.read(file.id).catch(() => {
      throw fileNotFound(id);
    });
    return { mimeType: file.mimeType, data: bytes.toString("base64") };
  };
}
