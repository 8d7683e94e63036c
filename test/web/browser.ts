import { existsSync } from "node:fs";
import path from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { spawnServer } from "../support/process.js";
import { modelsDir } from "../support/server.js";

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/** Whether the browser suite runs: always under CI (where a missing Chromium must fail), else only if installed. */
export function browserSuiteRuns(): boolean {
  if (existsSync(CHROMIUM) || process.env.CI === "true") return true;
  const bar = "!".repeat(78);
  console.warn(`\n${bar}\n!! SKIPPING the playground browser tests: ${CHROMIUM} is missing.\n!! Install it with: apt-get update && apt-get install -y chromium\n${bar}\n`);
  return false;
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}

export const modelFile = (name: string): string => path.join(modelsDir(), name);

/** `genai-local serve` with both tiny models, stories-260k (the default) and tinystories-656k, and the real chat model. */
export function startServer(extra: string[] = []): ReturnType<typeof spawnServer> {
  return spawnServer([
    "--host", "127.0.0.1",
    "--models-dir", modelsDir(),
    "--model", `stories-260k=${modelFile("stories260K.gguf")}`,
    "--model", `tinystories-656k=${modelFile("TinyStories-656K-Q8_0.gguf")}`,
    "--model", `smollm2-135m-instruct=${modelFile("SmolLM2-135M-Instruct.Q4_1.gguf")}`,
    ...extra,
  ]);
}

/** What the newest model turn shows: its text, finish reason and figures. */
export function lastReply(page: Page): Promise<{ text: string; finish: string | null; model: string | null; version: string | null; error: string; stats: Record<string, string> }> {
  return page.evaluate(() => {
    const turn = [...document.querySelectorAll<HTMLElement>("#history li.turn.model")].at(-1);
    const stats: Record<string, string> = {};
    turn?.querySelectorAll<HTMLElement>("[data-stat]").forEach((cell) => (stats[cell.dataset.stat!] = cell.textContent ?? ""));
    return {
      text: turn?.querySelector(".body")?.textContent?.trim() ?? "",
      finish: turn?.dataset.finishReason ?? null,
      model: turn?.dataset.model ?? null,
      version: turn?.dataset.modelVersion ?? null,
      error: turn?.querySelector(".turn-error")?.textContent ?? "",
      stats,
    };
  });
}

export async function waitForFinish(page: Page, timeout = 20_000): Promise<string> {
  const turn = page.locator("#history li.turn.model").last();
  await turn.and(page.locator("[data-finish-reason]")).waitFor({ timeout });
  return (await turn.getAttribute("data-finish-reason")) ?? "";
}

/** Opens the page and waits until the model picker has been filled from models.list. */
export async function openPlayground(page: Page, url: string): Promise<void> {
  await page.goto(url);
  await page.locator("#model option").first().waitFor({ state: "attached" });
}

/** Types a prompt and sends it with Enter, setting max output tokens first. */
export async function sendPrompt(page: Page, text: string, maxOutputTokens: number): Promise<void> {
  await page.fill("#max-tokens", String(maxOutputTokens));
  await page.fill("#prompt", text);
  await page.press("#prompt", "Enter");
}

/** A text/event-stream body as the server writes it. */
export const sseBody = (events: unknown[]): string => events.map((e) => `data: ${JSON.stringify(e)}\r\n\r\n`).join("");

export const chunk = (text: string, finishReason?: string) => ({
  candidates: [{ content: { role: "model", parts: [{ text }] }, index: 0, ...(finishReason ? { finishReason } : {}) }],
  usageMetadata: { promptTokenCount: 3, candidatesTokenCount: 5, totalTokenCount: 8 },
  modelVersion: "stories-260k",
});
