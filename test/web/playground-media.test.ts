import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, beforeEach, afterEach, describe, expect, it } from "vitest";
import { makePdf, makePng, makeWav } from "../support/media-files.js";
import { startRecordingUpstream, type RecordingUpstream } from "../support/recording-upstream.js";
import { browserSuiteRuns, lastReply, launchChromium, openPlayground, startServer, waitForFinish } from "./browser.js";

/** The playground with a model that reads media and ones that do not: what each takes, and attachments sent as inlineData. */
describe.skipIf(!browserSuiteRuns())("playground attachments (Chromium)", () => {
  let upstream: RecordingUpstream;
  let server: Awaited<ReturnType<typeof startServer>>;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let pageErrors: Error[];
  const png = makePng();
  const wav = makeWav();

  beforeAll(async () => {
    upstream = await startRecordingUpstream();
    [server, browser] = await Promise.all([
      startServer(["--upstream", `vision=openai:${upstream.url},model=vision-model,input=image+audio`]),
      launchChromium(),
    ]);
  });
  afterAll(async () => {
    await browser?.close();
    server?.child.kill("SIGKILL");
    await upstream?.close();
  });
  beforeEach(async () => {
    context = await browser.newContext({ viewport: { width: 1100, height: 800 } });
    page = await context.newPage();
    pageErrors = [];
    page.on("pageerror", (error) => pageErrors.push(error));
    await openPlayground(page, server.url);
  });
  afterEach(async () => {
    await context?.close();
    expect(pageErrors, "uncaught errors in the page").toEqual([]);
  });

  const inputs = () =>
    page.evaluate(() => {
      const shown = document.getElementById("model-inputs")!;
      const attach = document.getElementById("attach") as HTMLButtonElement;
      const reason = document.getElementById("attach-reason")!;
      return { text: shown.textContent, modalities: shown.dataset.modalities, disabled: attach.disabled, reason: reason.hidden ? "" : reason.textContent, accept: (document.getElementById("attach-input") as HTMLInputElement).accept };
    });

  it("says which inputs each model takes; Attach is off, with the reason, for a text-only model", async () => {
    await page.selectOption("#model", "stories-260k");
    expect(await inputs()).toEqual({
      text: "Takes text only.",
      modalities: "TEXT",
      disabled: true,
      reason: "stories-260k takes text only: it cannot read images, audio or PDFs.",
      accept: "",
    });
    await page.selectOption("#model", "vision");
    const vision = await inputs();
    expect(vision).toMatchObject({ text: "Takes text, images and audio.", modalities: "TEXT,IMAGE,AUDIO", disabled: false, reason: "" });
    expect(vision.accept.split(",")).toEqual(expect.arrayContaining(["image/png", "audio/wav"]));
    expect(vision.accept).not.toContain("application/pdf");
  });

  it("sends attached files as inlineData after the text, bytes intact, and replays them on the next turn", async () => {
    await page.selectOption("#model", "vision");
    await page.setInputFiles("#attach-input", [
      { name: "red.png", mimeType: "image/png", buffer: png },
      { name: "tone.wav", mimeType: "audio/wav", buffer: wav },
    ]);
    expect(await page.locator("#attachments li").allTextContents()).toEqual([`red.png (image/png, ${png.length} B)×`, `tone.wav (audio/wav, ${(wav.length / 1024).toFixed(1)} KiB)×`]);
    upstream.requests.length = 0;
    const sent = page.waitForRequest((r) => r.url().includes(":streamGenerateContent"));
    await page.fill("#prompt", "What is in these?");
    await page.press("#prompt", "Enter");
    const body = (await sent).postDataJSON();
    expect(body.contents).toEqual([
      {
        role: "user",
        parts: [
          { text: "What is in these?" },
          { inlineData: { mimeType: "image/png", data: png.toString("base64") } },
          { inlineData: { mimeType: "audio/wav", data: wav.toString("base64") } },
        ],
      },
    ]);
    expect(await waitForFinish(page)).toBe("STOP");
    expect((await lastReply(page)).text).toBe("seen");
    // The engine got them as OpenAI content parts, in order.
    expect(upstream.requests[0]!.messages.at(-1)!.content).toEqual([
      { type: "text", text: "What is in these?" },
      { type: "image_url", image_url: { url: `data:image/png;base64,${png.toString("base64")}` } },
      { type: "input_audio", input_audio: { data: wav.toString("base64"), format: "wav" } },
    ]);
    // Sent: the chips are gone, the user turn lists what it carried.
    expect(await page.locator("#attachments").isHidden()).toBe(true);
    expect(await page.locator("#history li.turn.user .attached li").allTextContents()).toEqual([expect.stringMatching(/^red\.png/), expect.stringMatching(/^tone\.wav/)]);

    const next = page.waitForRequest((r) => r.url().includes(":streamGenerateContent"));
    await page.fill("#prompt", "And the sound?");
    await page.press("#prompt", "Enter");
    const again = (await next).postDataJSON();
    expect(again.contents[0]).toEqual(body.contents[0]);
    expect(again.contents.at(-1)).toEqual({ role: "user", parts: [{ text: "And the sound?" }] });
    await waitForFinish(page);
  });

  it("refuses to send a file the model cannot read, saying why, and sends nothing", async () => {
    await page.selectOption("#model", "vision");
    await page.setInputFiles("#attach-input", [{ name: "page.pdf", mimeType: "application/pdf", buffer: makePdf() }]);
    expect(await page.locator("#attachments li.refused").getAttribute("title")).toBe("vision cannot read PDFs. Takes text, images and audio.");
    let requests = 0;
    page.on("request", (r) => void (r.url().includes(":streamGenerateContent") && requests++));
    await page.fill("#prompt", "Summarise this.");
    await page.press("#prompt", "Enter");
    await page.locator("#notice").waitFor({ state: "visible" });
    expect(await page.locator("#notice").textContent()).toBe("vision cannot read PDFs. Takes text, images and audio. Remove the attachment or pick another model.");
    expect(requests).toBe(0);
    // Removed, the prompt goes.
    await page.click("#attachments li button");
    expect(await page.locator("#attachments").isHidden()).toBe(true);
    await page.press("#prompt", "Enter");
    expect(await waitForFinish(page)).toBe("STOP");
  });
});
