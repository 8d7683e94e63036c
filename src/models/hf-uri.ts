import { DEFAULTS, environment } from "../base/config.js";

/** A file in a Hugging Face model repository, as named by `hf:owner/repo/path/to/file.gguf`. */
export interface HfFileRef {
  owner: string;
  repo: string;
  /** The path inside the repository, e.g. `quantized/model-Q4_K_M.gguf`. */
  file: string;
  /** The last segment of `file`: the name the model is stored under locally. */
  fileName: string;
  /** A branch, tag or commit (`hf:owner/repo@REV/file.gguf`); the main branch when absent. */
  revision?: string;
}

/** A model that lives somewhere else: where to fetch it and what to call it locally. */
export interface RemoteModelSource {
  url: string;
  fileName: string;
  /** Set for `hf:` sources. */
  hf?: HfFileRef;
}

export const DEFAULT_HF_ENDPOINT = DEFAULTS.hfEndpoint;
const HF_PREFIX = "hf:";
const HF_FORMAT = "hf:owner/repo[@revision]/path/to/file.gguf";

/** Hugging Face's base URL; GENAI_LOCAL_HF_ENDPOINT points it at a mirror (or a test server). */
export function hfEndpoint(): string {
  return environment.hfEndpoint().replace(/\/+$/, "");
}

export function isHfUri(source: string): boolean {
  return source.startsWith(HF_PREFIX);
}

export function isHttpUrl(source: string): boolean {
  return /^https?:\/\//i.test(source);
}

/** Whether a model source names something to download rather than a local file. */
export function isRemoteSource(source: string): boolean {
  return isHfUri(source) || isHttpUrl(source);
}

export function parseHfUri(uri: string): HfFileRef {
  if (!isHfUri(uri)) throw new Error(`"${uri}" is not a Hugging Face URI; expected ${HF_FORMAT}.`);
  const segments = uri.slice(HF_PREFIX.length).split("/");
  const [owner, repoAndRevision = "", ...fileSegments] = segments;
  const at = repoAndRevision.indexOf("@");
  const repo = at < 0 ? repoAndRevision : repoAndRevision.slice(0, at);
  const revision = at < 0 ? undefined : repoAndRevision.slice(at + 1);
  if (!owner || !repo || fileSegments.length === 0 || revision === "") {
    throw new Error(`"${uri}" does not name a file in a repository; expected ${HF_FORMAT}.`);
  }
  // Empty, "." and ".." segments would let the URL (or the local file name) escape the repository.
  if (segments.some((segment) => segment === "" || segment === "." || segment === "..")) {
    throw new Error(`"${uri}" has an empty, "." or ".." path segment; expected ${HF_FORMAT}.`);
  }
  const fileName = fileSegments[fileSegments.length - 1] as string;
  const ref: HfFileRef = { owner, repo, file: fileSegments.join("/"), fileName };
  if (revision !== undefined) ref.revision = revision;
  return ref;
}

/** The URL Hugging Face serves the file's content at, on its revision (main by default). */
export function hfFileUrl(ref: HfFileRef, endpoint: string = hfEndpoint()): string {
  const path = [ref.owner, ref.repo, "resolve", ref.revision ?? "main", ...ref.file.split("/")].map(encodeURIComponent).join("/");
  return `${endpoint.replace(/\/+$/, "")}/${path}`;
}

/** Where an `hf:` URI or an http(s) URL downloads from; throws for anything else. */
export function parseModelSource(source: string): RemoteModelSource {
  if (isHfUri(source)) {
    const hf = parseHfUri(source);
    return { url: hfFileUrl(hf), fileName: hf.fileName, hf };
  }
  if (isHttpUrl(source)) return { url: source, fileName: fileNameOfUrl(source) };
  throw new Error(`Cannot download "${source}": a model source to download must be ${HF_FORMAT} or an http(s):// URL.`);
}

function fileNameOfUrl(url: string): string {
  let lastSegment: string;
  try {
    lastSegment = decodeURIComponent(new URL(url).pathname.split("/").pop() ?? "");
  } catch {
    throw new Error(`"${url}" is not a valid URL.`);
  }
  // The name becomes a path in the models dir, so it must stay a plain file name.
  if (!lastSegment || lastSegment === "." || lastSegment === ".." || /[/\\]/.test(lastSegment)) {
    throw new Error(`Cannot tell a file name from "${url}"; its path must end in a file name such as model.gguf.`);
  }
  return lastSegment;
}
