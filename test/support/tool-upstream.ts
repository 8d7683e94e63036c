import http from "node:http";
import { chatChunk, listenOnLoopback, serveIfRunAsScript } from "./fake-upstream.js";

/**
 * An OpenAI-compatible engine trained, as it were, for tools: asked with tools and a question
 * last, it streams one call of the first tool (arguments `{"city":"Paris"}`, finish
 * `tool_calls`); asked with a function's result last (a `tool` message, or the text genai-local
 * replays results as: "Result of NAME: …"), it answers in words quoting that result. It keeps each
 * request body, so a test sees what genai-local sent back upstream.
 */
export interface ToolUpstream {
  url: string;
  requests: { messages: { role: string; content?: unknown; tool_call_id?: string }[]; tools?: { function: { name: string } }[] }[];
  close(): Promise<void>;
}

const chunk = (delta: object, finish: string | null = null) => chatChunk("tool", delta, finish);

export async function startToolUpstream(): Promise<ToolUpstream> {
  const requests: ToolUpstream["requests"] = [];
  const server = http.createServer((req, res) => {
    if (req.method === "GET" && req.url === "/v1/models") {
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ object: "list", data: [] }));
      return;
    }
    const pieces: Buffer[] = [];
    req.on("data", (piece: Buffer) => pieces.push(piece));
    req.on("end", () => {
      const body = JSON.parse(Buffer.concat(pieces).toString("utf8")) as ToolUpstream["requests"][number];
      requests.push(body);
      const last = body.messages.at(-1);
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write(chunk({ role: "assistant", content: "" }));
      const tool = body.tools?.[0]?.function.name;
      const isResult = last?.role === "tool" || (typeof last?.content === "string" && last.content.startsWith("Result of "));
      if (!isResult && tool) {
        res.write(chunk({ tool_calls: [{ index: 0, id: "call_paris", type: "function", function: { name: tool, arguments: '{"city":' } }] }));
        res.write(chunk({ tool_calls: [{ index: 0, function: { arguments: '"Paris"}' } }] }));
        res.end(chunk({}, "tool_calls") + "data: [DONE]\n\n");
        return;
      }
      const result = typeof last?.content === "string" ? last.content : JSON.stringify(last?.content ?? "");
      // A word every 30 ms, so the answer streams as several messages.
      const words = ["The", " forecast", " says:", ` ${result}`];
      const next = (i: number): void => {
        if (i === words.length) {
          res.end(chunk({}, "stop") + "data: [DONE]\n\n");
          return;
        }
        res.write(chunk({ content: words[i] }));
        setTimeout(() => next(i + 1), 30);
      };
      next(0);
    });
  });
  return { ...(await listenOnLoopback(server)), requests };
}

await serveIfRunAsScript(import.meta.url, () => startToolUpstream());
