// Streaming Quickstart, cell 2: the same stream consumed from an async function.
import { client, MODEL_ID } from "./client.js";

async function main(): Promise<void> {
  for await (const chunk of await client.models.generateContentStream({
    model: MODEL_ID,
    contents: "Tell me a story in 300 words.",
  })) {
    console.log(chunk.text);
    console.log("_".repeat(80));
  }
}

await main();
