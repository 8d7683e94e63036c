import path from "node:path";

export interface RemoteModel {
  /** Where the file is downloaded from. */
  url: string;
  /** The file name it is stored under in the models dir. */
  fileName: string;
}

const DEFAULT_HF_ENDPOINT = "https://huggingface.co";

/**
 * `hf:owner/repo/path/to/file.gguf` → Hugging Face's resolve URL (endpoint overridable with
 * GENAI_LOCAL_HF_ENDPOINT, e.g. a mirror or a test server); `https://…/file.gguf` as it is.
 * Returns undefined for anything else (a local path).
 */
export function parseRemoteSource(source: string, endpoint = process.env.GENAI_LOCAL_HF_ENDPOINT ?? DEFAULT_HF_ENDPOINT): RemoteModel | undefined {
  if (source.startsWith("hf:")) {
    const [owner, repo, ...rest] = source.slice(3).split("/");
    const file = rest.join("/");
    if (!owner || !repo || !file || rest.some((segment) => segment === ".." || segment === "")) {
      throw new Error(`"${source}" is not a Hugging Face model URI; expected hf:owner/repo/path/file.gguf.`);
    }
    const encoded = file.split("/").map(encodeURIComponent).join("/");
    return { url: `${endpoint.replace(/\/$/, "")}/${owner}/${repo}/resolve/main/${encoded}`, fileName: path.posix.basename(file) };
  }
  if (/^https?:\/\//i.test(source)) {
    const fileName = decodeURIComponent(new URL(source).pathname.split("/").pop() ?? "");
    if (!fileName || fileName.includes("..")) throw new Error(`Cannot tell a file name from "${source}".`);
    return { url: source, fileName };
  }
  return undefined;
}
