import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { createProgressBar } from "../../src/models/download.js";

describe("createProgressBar", () => {
  const fakeStderr = (): { stream: PassThrough & { isTTY?: boolean }; text: () => string } => {
    const stream = new PassThrough();
    return { stream, text: () => (stream.read() as Buffer | null)?.toString() ?? "" };
  };

  it("writes one start and one done line when the stream is not a terminal", () => {
    const { stream, text } = fakeStderr();
    const bar = createProgressBar("stories260K.gguf", stream);
    bar.update(500_000, 1_185_376);
    bar.update(1_185_376, 1_185_376);
    bar.stop();
    expect(text()).toBe("Downloading stories260K.gguf...\nDownloaded stories260K.gguf (1.2 MB)\n");
  });

  it("draws a bar ending at 100% on a terminal", () => {
    const { stream, text } = fakeStderr();
    stream.isTTY = true;
    const bar = createProgressBar("stories260K.gguf", stream);
    bar.update(500_000, 1_185_376);
    bar.update(1_185_376, 1_185_376);
    bar.stop();
    expect(text()).toMatch(/stories260K\.gguf \[[█]+\] 100% \| 1\.2\/1\.2 MB/);
  });

  it("says how far a failed download got", () => {
    const { stream, text } = fakeStderr();
    const bar = createProgressBar("m.gguf", stream);
    bar.update(600_000, 1_200_000);
    bar.stop(false);
    expect(text()).toBe("Downloading m.gguf...\nDownload of m.gguf stopped after 0.6 of 1.2 MB\n");
  });
});
