/**
 * A server that answers at once: the Gemini and OpenAI streaming routes, each request answered
 * with a first text chunk as soon as its body is read and a last chunk (finishReason, usage)
 * right after. The SDKs' time to first token against it is what the client itself costs — its
 * request building, its parser, waking its process — which no server can remove. bench:overhead
 * runs it as column (z).
 *
 * It runs in a process of its own, as a real server would (`instant-server.ts --serve` prints
 * its URL).
 */
import http from "node:http";
import { fileURLToPath } from "node:url";
import { startListening, type ListeningProcess } from "./local-server.js";

const usage = { promptTokenCount: 5, candidatesTokenCount: 2, totalTokenCount: 7 };
const geminiChunk = (text: string, last: boolean): string =>
  `data: ${JSON.stringify({
    candidates: [{ content: { role: "model", parts: [{ text }] }, index: 0, ...(last ? { finishReason: "STOP" } : {}) }],
    usageMetadata: usage,
    modelVersion: "instant",
    responseId: "instant",
  })}\r\n\r\n`;
const openAiChunk = (delta: object, finish: string | null, withUsage = false): string =>
  `data: ${JSON.stringify({
    id: "chatcmpl-instant",
    object: "chat.completion.chunk",
    created: 0,
    model: "instant",
    choices: withUsage ? [] : [{ index: 0, delta, finish_reason: finish }],
    ...(withUsage ? { usage: { prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 } } : {}),
  })}\n\n`;

function serve(): void {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      res.writeHead(200, { "Content-Type": "text/event-stream", "Cache-Control": "no-cache" });
      if (req.url?.includes(":streamGenerateContent")) {
        res.write(geminiChunk("Once", false));
        setImmediate(() => res.end(geminiChunk(" upon", true)));
      } else {
        res.write(openAiChunk({ role: "assistant", content: "Once" }, null));
        setImmediate(() => res.end(openAiChunk({ content: " upon" }, "stop") + openAiChunk({}, null, true) + "data: [DONE]\n\n"));
      }
    });
  });
  server.listen(0, "127.0.0.1", () => {
    const address = server.address() as { port: number };
    process.stdout.write(`listening on http://127.0.0.1:${address.port}\n`);
  });
  process.on("disconnect", () => process.exit(0));
}

/** The server in a child process (an IPC channel, so that it ends with the bench however the bench ends). */
export function startInstantServer(): Promise<ListeningProcess> {
  return startListening(["--import", "tsx", fileURLToPath(import.meta.url), "--serve"], { stdio: ["ignore", "pipe", "inherit", "ipc"] });
}

if (process.argv[2] === "--serve") serve();
