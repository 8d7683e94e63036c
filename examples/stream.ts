// Streaming Quickstart, cell 1: print each chunk as it is generated.
import { client, MODEL_ID } from "./client.js";

const stream = await client.models.generateContentStream({
  model: MODEL_ID,
  contents: "Tell me a story in 300 words.",
});
for await (const chunk of stream) {
  console.log(chunk.text);
  console.log("_".repeat(80));
}
