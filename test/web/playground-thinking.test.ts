import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ANSWER, startReasoningUpstream, THOUGHT, type ReasoningUpstream } from "../support/reasoning-upstream.js";
import { waitFor } from "../support/server.js";
import { browserSuiteRuns, lastReply, launchChromium, openPlayground, sendPrompt, startServer, waitForFinish } from "./browser.js";

/** A thinking model in the playground: its thoughts stream folded above the answer, the answer stays the answer. */
const PACE_MS = 150;

describe.skipIf(!browserSuiteRuns())("playground with a thinking model (Chromium)", () => {
  let upstream: ReasoningUpstream;
  let server: Awaited<ReturnType<typeof startServer>>;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;

  beforeAll(async () => {
    upstream = await startReasoningUpstream(PACE_MS);
    [server, browser] = await Promise.all([startServer(["--upstream", `thinker=openai:${upstream.url},model=think-vllm,reasoning=vllm`]), launchChromium()]);
    context = await browser.newContext({ viewport: { width: 1100, height: 800 } });
    page = await context.newPage();
  });
  afterAll(async () => {
    await context?.close();
    await browser?.close();
    server?.child.kill("SIGKILL");
    await upstream?.close();
  });

  const thoughtsShown = () =>
    page.evaluate(() => {
      const turn = [...document.querySelectorAll<HTMLElement>("#history li.turn.model")].at(-1);
      const details = turn?.querySelector<HTMLDetailsElement>("details.thoughts");
      return { shown: details ? !details.hidden : false, open: details?.open ?? false, label: details?.querySelector("summary")?.textContent ?? "", text: details?.querySelector(".thoughts-body")?.textContent ?? "" };
    });

  it("shows the thoughts folded above the answer while they stream, and only the answer as the reply", async () => {
    await openPlayground(page, server.url);
    await page.selectOption("#model", "thinker");
    const sent = page.waitForRequest((r) => r.url().includes(":streamGenerateContent"));
    await sendPrompt(page, "What is two and two?", 100);
    expect((await sent).postDataJSON().generationConfig.thinkingConfig).toEqual({ includeThoughts: true });

    // While the model thinks: the thoughts grow, folded, and there is no answer yet.
    const seen: string[] = [];
    await waitFor(async () => {
      const [thoughts, reply] = await Promise.all([thoughtsShown(), lastReply(page)]);
      if (thoughts.shown && reply.text === "" && thoughts.text !== seen.at(-1)) {
        expect(thoughts.open).toBe(false);
        expect(thoughts.label).toBe("Thinking…");
        seen.push(thoughts.text);
      }
      return reply.text !== "";
    }, 15_000);
    expect(seen.length).toBeGreaterThanOrEqual(2);
    expect(THOUGHT.join("").startsWith(seen[0]!)).toBe(true);

    expect(await waitForFinish(page)).toBe("STOP");
    const reply = await lastReply(page);
    expect(reply.text).toBe(ANSWER.join(""));
    expect(reply.stats.thoughts).toBe(String(THOUGHT.length));
    const done = await thoughtsShown();
    expect(done).toMatchObject({ shown: true, open: false, label: "Thoughts", text: THOUGHT.join("") });
    // In the page's layout the thoughts come before the answer.
    const order = await page.evaluate(() => {
      const turn = [...document.querySelectorAll("#history li.turn.model")].at(-1)!;
      return [...turn.children].map((c) => c.className);
    });
    expect(order.indexOf("thoughts")).toBeLessThan(order.indexOf("body markdown"));

    // The next turn sends the answer as the model's text, not its thoughts.
    const next = page.waitForRequest((r) => r.url().includes(":streamGenerateContent"));
    await sendPrompt(page, "And three and three?", 100);
    expect((await next).postDataJSON().contents[1].parts[0].text).toBe(ANSWER.join(""));
    await waitForFinish(page);
  });
});
