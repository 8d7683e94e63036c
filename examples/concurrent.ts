// Streaming Quickstart, cell 3: a story streams while a ticker keeps running; neither blocks.
import { client, MODEL_ID } from "./client.js";

async function getResponse(): Promise<void> {
  for await (const chunk of await client.models.generateContentStream({
    model: MODEL_ID,
    contents: "Tell me a story in 300 words.",
  })) {
    console.log(chunk.text);
    console.log("_".repeat(80));
  }
}

async function somethingElse(signal: AbortSignal): Promise<void> {
  while (!signal.aborted) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    if (!signal.aborted) console.log("==========not blocked!==========");
  }
}

const done = new AbortController();
await Promise.all([getResponse().finally(() => done.abort()), somethingElse(done.signal)]);
