import { afterEach, describe, expect, it } from "vitest";
import { hfFileUrl, isRemoteSource, parseHfUri, parseModelSource } from "../../src/models/hf-uri.js";
import { restoreEnv, setEnv } from "./fixture-server.js";

afterEach(() => restoreEnv());

describe("parseHfUri", () => {
  it("splits owner, repo and the file path", () => {
    expect(parseHfUri("hf:ggml-org/tiny-llamas/stories260K.gguf")).toEqual({
      owner: "ggml-org",
      repo: "tiny-llamas",
      file: "stories260K.gguf",
      fileName: "stories260K.gguf",
    });
    expect(parseHfUri("hf:o/r/sub/dir/m-Q4_K_M.gguf")).toMatchObject({ file: "sub/dir/m-Q4_K_M.gguf", fileName: "m-Q4_K_M.gguf" });
  });

  it.each(["hf:", "hf:owner", "hf:owner/repo", "hf:owner/repo/", "hf:o//r/m.gguf", "hf:o/r/../../etc/passwd", "hf:o/r/./m.gguf"])(
    "rejects %s with the expected format",
    (uri) => expect(() => parseHfUri(uri)).toThrow(/expected hf:owner\/repo\[@revision\]\/path\/to\/file\.gguf/),
  );

  it("reads a revision after the repository name", () => {
    expect(parseHfUri("hf:o/r@ab810cf/sub/m.gguf")).toEqual({ owner: "o", repo: "r", file: "sub/m.gguf", fileName: "m.gguf", revision: "ab810cf" });
    expect(() => parseHfUri("hf:o/r@/m.gguf")).toThrow(/expected hf:owner/);
  });
});

describe("hfFileUrl", () => {
  it("points at the revision's resolve URL when one is given", () => {
    setEnv({ GENAI_LOCAL_HF_ENDPOINT: undefined });
    expect(hfFileUrl(parseHfUri("hf:o/r@v1.0/m.gguf"))).toBe("https://huggingface.co/o/r/resolve/v1.0/m.gguf");
  });

  const ref = parseHfUri("hf:ggml-org/tiny-llamas/sub dir/m#1.gguf");

  it("points at the main branch's resolve URL on huggingface.co, path-encoded", () => {
    setEnv({ GENAI_LOCAL_HF_ENDPOINT: undefined });
    expect(hfFileUrl(ref)).toBe("https://huggingface.co/ggml-org/tiny-llamas/resolve/main/sub%20dir/m%231.gguf");
  });

  it("uses GENAI_LOCAL_HF_ENDPOINT when set", () => {
    setEnv({ GENAI_LOCAL_HF_ENDPOINT: "http://127.0.0.1:9999/mirror/" });
    expect(hfFileUrl(ref)).toBe("http://127.0.0.1:9999/mirror/ggml-org/tiny-llamas/resolve/main/sub%20dir/m%231.gguf");
  });
});

describe("parseModelSource", () => {
  it("takes hf: URIs and http(s) URLs", () => {
    setEnv({ GENAI_LOCAL_HF_ENDPOINT: undefined });
    expect(parseModelSource("hf:ggml-org/tiny-llamas/stories260K.gguf")).toMatchObject({
      url: "https://huggingface.co/ggml-org/tiny-llamas/resolve/main/stories260K.gguf",
      fileName: "stories260K.gguf",
      hf: { owner: "ggml-org", repo: "tiny-llamas" },
    });
    expect(parseModelSource("https://example.com/files/my%20model.gguf?download=1")).toEqual({
      url: "https://example.com/files/my%20model.gguf?download=1",
      fileName: "my model.gguf",
    });
    expect(parseModelSource("http://10.0.0.2:8000/m.gguf").fileName).toBe("m.gguf");
  });

  it.each([
    ["./models/m.gguf", /must be hf:owner\/repo\[@revision\]\/path\/to\/file\.gguf or an http\(s\):\/\/ URL/],
    ["ftp://host/m.gguf", /must be hf:owner/],
    ["https://example.com/", /Cannot tell a file name/],
    ["https://example.com/a/..%2F..%2Fetc%2Fpasswd", /Cannot tell a file name/],
  ])("rejects %s", (source, message) => expect(() => parseModelSource(source)).toThrow(message));

  it("tells remote sources from local paths", () => {
    expect(["hf:o/r/m.gguf", "https://x/m.gguf", "HTTP://x/m.gguf"].every(isRemoteSource)).toBe(true);
    expect(["m.gguf", "/abs/m.gguf", "./hf:m.gguf"].some(isRemoteSource)).toBe(false);
  });
});
