import http from "node:http";
import type { AddressInfo } from "node:net";

/**
 * An OpenAI-compatible engine that keeps every chat-completions request body it gets and answers
 * each with a short stream ("seen", then the end): tests read `requests` to see exactly what
 * genai-local sent upstream (content parts, their order, the bytes in them).
 */
export interface RecordingUpstream {
  /** Base URL of the OpenAI surface, ending in /v1. */
  url: string;
  requests: { model?: string; messages: { role: string; content: unknown }[] }[];
  close(): Promise<void>;
}

const chunk = (delta: object, finish: string | null = null, usage?: object) =>
  `data: ${JSON.stringify({ id: "rec", object: "chat.completion.chunk", created: 0, model: "rec", choices: [{ index: 0, delta, finish_reason: finish }], ...(usage ? { usage } : {}) })}\n\n`;

export async function startRecordingUpstream(): Promise<RecordingUpstream> {
  const requests: RecordingUpstream["requests"] = [];
  const server = http.createServer((req, res) => {
    if (req.method === "GET" && req.url === "/v1/models") {
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ object: "list", data: [] }));
      return;
    }
    if (req.method !== "POST" || req.url !== "/v1/chat/completions") {
      res.writeHead(404).end();
      return;
    }
    const pieces: Buffer[] = [];
    req.on("data", (piece: Buffer) => pieces.push(piece));
    req.on("end", () => {
      requests.push(JSON.parse(Buffer.concat(pieces).toString("utf8")));
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write(chunk({ role: "assistant", content: "" }));
      res.write(chunk({ content: "seen" }));
      res.end(chunk({}, "stop", { prompt_tokens: 300, completion_tokens: 1, total_tokens: 301 }) + "data: [DONE]\n\n");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
