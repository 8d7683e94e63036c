import { mkdirSync } from "node:fs";
import path from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { metricValue, repoRoot, waitFor } from "../support/server.js";
import { browserSuiteRuns, chunk, lastReply, launchChromium, openPlayground, sendPrompt, sseBody, startServer, waitForFinish } from "./browser.js";

const API_KEY = "playground-test-key";
const ARTIFACTS = path.join(repoRoot, "test-artifacts");
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.skipIf(!browserSuiteRuns())("playground page (Chromium)", () => {
  let servers: Awaited<ReturnType<typeof startServer>>[] = [];
  let open: string; // a server without a key, with both models
  let keyed: string; // the same, behind --api-key
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let pageErrors: Error[];

  beforeAll(async () => {
    const [plain, withKey, launched] = await Promise.allSettled([startServer(), startServer(["--api-key", API_KEY]), launchChromium()]);
    servers = [plain, withKey].flatMap((s) => (s.status === "fulfilled" ? [s.value] : []));
    if (launched.status === "fulfilled") browser = launched.value;
    for (const settled of [plain, withKey, launched]) if (settled.status === "rejected") throw settled.reason;
    [open, keyed] = servers.map((s) => s.url) as [string, string];
    const home = await fetch(open);
    if (home.status !== 200) throw new Error(`GET / answered ${home.status}: is playgroundPlugin (src/web/playground-plugin.ts) registered in buildServer?`);
  });

  afterAll(async () => {
    await browser?.close();
    for (const server of servers) server.child.kill("SIGKILL");
  });

  beforeEach(async () => {
    context = await browser.newContext({ viewport: { width: 1100, height: 800 } });
    page = await context.newPage();
    pageErrors = [];
    page.on("pageerror", (error) => pageErrors.push(error));
  });
  afterEach(async () => {
    await context?.close();
    expect(pageErrors, "uncaught errors in the page").toEqual([]);
  });

  it("streams a reply that grows chunk by chunk before its finish reason and figures appear", async () => {
    await openPlayground(page, open);
    expect(await page.locator("#model option").allTextContents()).toEqual(["stories-260k", "tinystories-656k", "smollm2-135m-instruct"]);
    await sendPrompt(page, "Once upon a time", 600);

    const lengths: number[] = [];
    let reply = await lastReply(page);
    for (const until = Date.now() + 20_000; !reply.finish && Date.now() < until; reply = await lastReply(page)) {
      if (reply.text.length > (lengths.at(-1) ?? 0)) lengths.push(reply.text.length);
      await sleep(10);
    }
    expect(reply.finish).toMatch(/^(STOP|MAX_TOKENS)$/);
    expect(lengths.length).toBeGreaterThanOrEqual(3);
    expect(reply.text.length).toBeGreaterThan(lengths[0]!);
    expect(reply.version).toBe("stories-260k");
    expect(reply.stats.ttft).toMatch(/^\d+ ms$/);
    expect(Number(reply.stats.rate)).toBeGreaterThan(0);
    expect(Number(reply.stats.prompt)).toBeGreaterThan(0);
    expect(Number(reply.stats.output)).toBeGreaterThan(10);
    expect(reply.stats.finish).toBe(reply.finish);

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, "playground.png"), fullPage: true });

    // The next prompt carries the whole conversation as contents, with the system instruction.
    await page.fill("#system", "You tell short stories.");
    const sent = page.waitForRequest((r) => r.url().includes(":streamGenerateContent"));
    await sendPrompt(page, "Tell me more", 20);
    const body = (await sent).postDataJSON();
    expect(body.contents.map((c: { role: string }) => c.role)).toEqual(["user", "model", "user"]);
    const letters = (text: string) => text.replace(/[^A-Za-z0-9]/g, ""); // the page shows it rendered
    expect(letters(body.contents[1].parts[0].text)).toBe(letters(reply.text));
    expect(body.systemInstruction).toEqual({ parts: [{ text: "You tell short stories." }] });
    expect(body.generationConfig).toEqual({ maxOutputTokens: 20, thinkingConfig: { includeThoughts: true } });
    await waitForFinish(page);
  });

  it("Stop ends the stream mid-reply and the server's active streams return to 0; so does Esc", async () => {
    await openPlayground(page, open);
    for (const how of ["button", "Escape"]) {
      await sendPrompt(page, "Once upon a time", 2048);
      await waitFor(async () => (await lastReply(page)).text.length > 20, 10_000);
      expect(await metricValue(open, "genai_local_active_streams")).toBe(1);
      if (how === "button") await page.click("#stop");
      else await page.keyboard.press("Escape");
      expect(await waitForFinish(page)).toBe("STOPPED");
      await waitFor(async () => (await metricValue(open, "genai_local_active_streams")) === 0, 5000);
      const reply = await lastReply(page);
      expect(reply.text.length).toBeGreaterThan(20);
      expect(Number(reply.stats.output)).toBeLessThan(2000);
      expect(await page.isDisabled("#stop")).toBe(true);
      expect(await page.isEnabled("#send")).toBe(true);
    }

    // New chat in the middle of a reply stops it and leaves nothing of it behind.
    await sendPrompt(page, "Once upon a time", 2048);
    await waitFor(async () => (await lastReply(page)).text.length > 20, 10_000);
    await page.click("#new-chat");
    await waitFor(async () => (await metricValue(open, "genai_local_active_streams")) === 0, 5000);
    await sleep(100);
    expect(await page.locator("#history li").count()).toBe(0);
    const sent = page.waitForRequest((r) => r.url().includes(":streamGenerateContent"));
    await sendPrompt(page, "Once upon a time", 5);
    expect((await sent).postDataJSON().contents).toHaveLength(1);
    await waitForFinish(page);
  });

  it("sends to the model picked, and the reply says which model answered", async () => {
    await openPlayground(page, open);
    await page.selectOption("#model", "tinystories-656k");
    const sent = page.waitForRequest((r) => r.url().includes(":streamGenerateContent"));
    // Plain ASCII letters only: this model's tokenizer cannot take characters such as # or é.
    await sendPrompt(page, "Once upon a time there was a little cat", 60);
    expect((await sent).url()).toContain("/v1beta/models/tinystories-656k:streamGenerateContent?alt=sse");
    expect(await waitForFinish(page)).toMatch(/^(STOP|MAX_TOKENS)$/);
    const reply = await lastReply(page);
    expect(reply).toMatchObject({ model: "tinystories-656k", version: "tinystories-656k" });
    expect(await page.locator("#history li.turn.model .who").last().textContent()).toBe("tinystories-656k");
    expect(reply.text.length).toBeGreaterThan(0);
  });

  it("chats with the real chat model: a natural end says STOP, and the second turn carries the first", async () => {
    await openPlayground(page, open);
    await page.selectOption("#model", "smollm2-135m-instruct");
    await page.fill("#temperature", "0");
    await sendPrompt(page, "Say hello.", 256);
    expect(await waitForFinish(page, 60_000)).toBe("STOP");
    const first = await lastReply(page);
    expect(first.version).toBe("smollm2-135m-instruct");
    expect(first.text.length).toBeGreaterThan(0);
    expect(first.text).not.toMatch(/<\|im_(start|end)\|>/);
    const sent = page.waitForRequest((r) => r.url().includes(":streamGenerateContent"));
    await sendPrompt(page, "Thank you.", 16);
    expect((await sent).postDataJSON().contents).toHaveLength(3);
    await waitForFinish(page, 60_000);
    const second = await lastReply(page);
    expect(Number(second.stats.prompt)).toBeGreaterThan(Number(first.stats.prompt) + Number(first.stats.output));
  });

  it("asks for the API key on 403, says so readably when the key is wrong, and works with the right one", async () => {
    await page.goto(keyed);
    const notice = page.locator("#notice");
    await notice.waitFor();
    expect(await notice.textContent()).toMatch(/needs an API key \(403 PERMISSION_DENIED\)/);
    expect(await page.getAttribute("#api-key", "class")).toContain("attention");

    await page.fill("#api-key", "not-the-key");
    await page.press("#api-key", "Enter");
    await page.getByText("The API key was not accepted (400 INVALID_ARGUMENT)").waitFor();

    await page.fill("#api-key", API_KEY);
    await page.press("#api-key", "Enter");
    await page.locator("#model option").first().waitFor({ state: "attached" });
    expect(await notice.isHidden()).toBe(true);
    await sendPrompt(page, "Once upon a time", 30);
    expect(await waitForFinish(page)).toMatch(/^(STOP|MAX_TOKENS)$/);
    expect(await page.evaluate(() => [sessionStorage.getItem("genai-local.apiKey"), localStorage.length])).toEqual([API_KEY, 0]);
  });

  const HOSTILE =
    'Hi <script>window.__pwned = "script"</script> <img src=x onerror="window.__pwned = \'img\'"> ' +
    "[link](javascript:window.__pwned='link') ![pic](http://127.0.0.1:9/pixel.png) **bold**";

  const domReport = (selector: string) =>
    page.evaluate((sel) => {
      const root = document.querySelector(sel)!;
      const all = [...root.querySelectorAll("*")];
      return {
        dangerous: root.querySelectorAll("script, img, iframe, object, embed, svg, style").length,
        handlers: all.filter((el) => [...el.attributes].some((a) => a.name.startsWith("on"))).length,
        scriptLinks: [...root.querySelectorAll("a")].filter((a) => /^\s*javascript:/i.test(a.getAttribute("href") ?? "")).length,
        text: root.textContent ?? "",
        bold: root.querySelectorAll("strong").length,
        pwned: (window as { __pwned?: string }).__pwned ?? null,
      };
    }, selector);

  it("renders hostile Markdown as text: the page's render function creates no script or img", async () => {
    await openPlayground(page, open);
    // A string, so that vitest leaves this import() alone: it runs in the page.
    await page.evaluate(`import("/playground/markdown.js").then(({ renderMarkdown }) => {
      const box = Object.assign(document.createElement("div"), { id: "render-test" });
      box.append(renderMarkdown(${JSON.stringify(HOSTILE)}));
      document.body.append(box);
    })`);
    await sleep(100);
    const report = await domReport("#render-test");
    expect(report).toMatchObject({ dangerous: 0, handlers: 0, scriptLinks: 0, bold: 1, pwned: null });
    expect(report.text).toContain('<script>window.__pwned = "script"</script>');
    expect(report.text).toContain("<img src=x onerror=");
  });

  it("keeps hostile text inert in chat history: a user turn to the real model and a model turn from the wire", async () => {
    await openPlayground(page, open);
    await sendPrompt(page, HOSTILE, 20);
    await waitForFinish(page);
    // A reply carrying the same text, served in place of the model (which will not write it on demand).
    await page.route("**/*:streamGenerateContent*", (route) =>
      route.fulfill({ status: 200, contentType: "text/event-stream", body: sseBody([chunk(HOSTILE.slice(0, 40)), chunk(HOSTILE.slice(40), "STOP")]) }),
    );
    await sendPrompt(page, "again", 20);
    expect(await waitForFinish(page)).toBe("STOP");
    await sleep(100);
    const report = await domReport("#history");
    expect(report).toMatchObject({ dangerous: 0, handlers: 0, scriptLinks: 0, pwned: null });
    expect(report.text.split("<img src=x onerror=").length - 1).toBe(2);
    expect((await lastReply(page)).text).toContain('<script>window.__pwned = "script"</script>');
  });

  it("shows server errors readably: 429, 404, an error event mid-stream, an unreachable server", async () => {
    await openPlayground(page, open);
    const error = (code: number, status: string, message: string) => JSON.stringify({ error: { code, message, status } });
    const answers = [
      { status: 429, headers: { "retry-after": "7" }, contentType: "application/json", body: error(429, "RESOURCE_EXHAUSTED", "Too many requests queued.") },
      { status: 404, contentType: "application/json", body: error(404, "NOT_FOUND", "models/gone is not found for API version v1beta.") },
    ];
    const expected = [/The server is busy \(429 RESOURCE_EXHAUSTED\)\. Try again in 7 s\..*Too many requests queued\./, /Not found \(404 NOT_FOUND\).*models\/gone is not found/];
    for (const [i, answer] of answers.entries()) {
      await page.unrouteAll();
      await page.route("**/*:streamGenerateContent*", (route) => route.fulfill(answer));
      await sendPrompt(page, `attempt ${i}`, 20);
      await page.getByText(expected[i]!).waitFor();
      // Nothing came back, so the prompt is handed back to be sent again and no turn is left.
      expect(await page.inputValue("#prompt")).toBe(`attempt ${i}`);
      expect(await page.locator("#history li").count()).toBe(0);
    }

    await page.unrouteAll();
    await page.route("**/*:streamGenerateContent*", (route) =>
      route.fulfill({ status: 200, contentType: "text/event-stream", body: sseBody([chunk("Partial text"), { error: { code: 500, message: "The model runner crashed.", status: "INTERNAL" } }]) }),
    );
    await sendPrompt(page, "break please", 20);
    expect(await waitForFinish(page)).toBe("ERROR");
    expect(await lastReply(page)).toMatchObject({ text: "Partial text", error: "The reply broke off: 500 INTERNAL The model runner crashed." });

    await page.unrouteAll();
    await page.route("**/*:streamGenerateContent*", (route) => route.abort("connectionrefused"));
    await sendPrompt(page, "anyone there", 20);
    await page.getByText(/Could not reach the server/).waitFor();
  });

  it("fits a phone-width screen with the settings folded, and Shift+Enter adds a line without sending", async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await openPlayground(page, open);
    expect(await page.evaluate(() => (document.getElementById("settings") as HTMLDetailsElement).open)).toBe(false);
    await page.fill("#prompt", "first line");
    await page.press("#prompt", "Shift+Enter");
    await page.keyboard.type("second line");
    expect(await page.inputValue("#prompt")).toBe("first line\nsecond line");
    await page.press("#prompt", "Enter");
    await waitForFinish(page);
    expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
    await page.screenshot({ path: path.join(ARTIFACTS, "playground-phone.png"), fullPage: true });
  });
});
