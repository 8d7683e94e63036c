import http from "node:http";
import { chatChunk, listenOnLoopback } from "./fake-upstream.js";

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

const chunk = (delta: object, finish: string | null = null, usage?: object) => chatChunk("rec", delta, finish, usage ? { usage } : {});

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
  return { ...(await listenOnLoopback(server)), requests };
}
