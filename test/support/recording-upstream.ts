import http from "node:http";
import { chatChunk, listenOnLoopback } from "./fake-upstream.js";

/**
 * An OpenAI-compatible engine that keeps every chat-completions request body it gets and answers
 * each with a short stream ("seen", then the end): tests read `requests` to see exactly what
 * genai-local sent upstream (content parts, their order, the bytes in them). Usage rides on every
 * chunk, as vLLM's continuous usage stats put it, with `promptTokens` as its prompt_tokens.
 */
export interface RecordingUpstream {
  /** Base URL of the OpenAI surface, ending in /v1. */
  url: string;
  requests: { model?: string; messages: { role: string; content: unknown; tool_calls?: unknown; tool_call_id?: string }[] }[];
  /** What it reports as prompt_tokens (an engine that counts media in its prompt); 300 unless set. */
  promptTokens: number;
  close(): Promise<void>;
}

const chunk = (delta: object, finish: string | null = null, usage?: object) => chatChunk("rec", delta, finish, usage ? { usage } : {});

export async function startRecordingUpstream(): Promise<RecordingUpstream> {
  const requests: RecordingUpstream["requests"] = [];
  const recording = { requests, promptTokens: 300 };
  const usage = (completion: number) => ({ prompt_tokens: recording.promptTokens, completion_tokens: completion, total_tokens: recording.promptTokens + completion });
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
      res.write(chunk({ content: "seen" }, null, usage(1)));
      res.end(chunk({}, "stop", usage(1)) + "data: [DONE]\n\n");
    });
  });
  return Object.assign(recording, await listenOnLoopback(server));
}
