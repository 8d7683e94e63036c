// Live API, text: a chat over one WebSocket session, after Google's "Get started with the Live
// API" sample; only the client differs (examples/client.ts). Each piece of a reply is printed as
// it streams in, while a ticker keeps ticking beside it.
import { Modality, type LiveServerMessage } from "@google/genai";
import { client, MODEL_ID } from "./client.js";

const responseQueue: LiveServerMessage[] = [];
let wake: (() => void) | undefined;
let closing = false;

async function waitMessage(): Promise<LiveServerMessage> {
  while (responseQueue.length === 0) await new Promise<void>((resolve) => (wake = resolve));
  return responseQueue.shift()!;
}

async function handleTurn(): Promise<void> {
  for (;;) {
    const message = await waitMessage();
    if (message.text) process.stdout.write(message.text);
    if (message.serverContent?.turnComplete) {
      process.stdout.write(`\n${"_".repeat(80)}\n`);
      return;
    }
  }
}

async function somethingElse(signal: AbortSignal): Promise<void> {
  while (!signal.aborted) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    if (!signal.aborted) process.stdout.write(" [tick] ");
  }
}

async function live(): Promise<void> {
  const session = await client.live.connect({
    model: MODEL_ID,
    config: { responseModalities: [Modality.TEXT] },
    callbacks: {
      onmessage: (message) => {
        responseQueue.push(message);
        wake?.();
      },
      onerror: (error) => console.error("error:", error.message),
      onclose: (event) => {
        if (!closing) console.error("closed:", event.code, event.reason);
      },
    },
  });
  for (const text of ["Hello, how are you? Tell me a short story about the sea.", "Now give that story a title."]) {
    console.log(`> ${text}`);
    session.sendClientContent({ turns: text });
    await handleTurn();
  }
  closing = true;
  session.close();
}

const done = new AbortController();
await Promise.all([live().finally(() => done.abort()), somethingElse(done.signal)]);
