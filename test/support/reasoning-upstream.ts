import http from "node:http";
import { listenOnLoopback, serveIfRunAsScript } from "./fake-upstream.js";

/**
 * An OpenAI-compatible engine serving a reasoning model the way real engines stream one, a delta
 * every `intervalMs`: first the reasoning, then the answer (or a tool call when tools are offered
 * and no tool result has come back yet). One model per dialect:
 *  - `think-vllm`: `delta.reasoning_content` beside `content: null`, as vLLM before 0.10 and DeepSeek
 *    stream it; usage without a reasoning breakdown
 *  - `think-llama`: `delta.reasoning_content` alone, as llama-server (--reasoning-format deepseek)
 *    streams it; usage on the finishing chunk itself, with llama-server's `timings`
 *  - `think-reasoning`: `delta.reasoning`, as newer vLLM and OpenRouter stream it; usage with
 *    `completion_tokens_details.reasoning_tokens`
 * vLLM's `stream_options.continuous_usage_stats` puts usage on every chunk, as vLLM does.
 * A request that turns thinking off (`chat_template_kwargs.enable_thinking: false`) gets no
 * reasoning, as Qwen3's template does. Every request body is kept (GET /v1/_requests), so a test
 * can see what reached the engine (a turn's reasoning given back as `reasoning_content`).
 *
 * Standalone (for the Python suite): `tsx test/support/reasoning-upstream.ts [intervalMs]` prints
 * its base URL, then serves until stdin closes or it gets SIGTERM.
 */
export const THINKING_MODELS = ["think-vllm", "think-llama", "think-reasoning"] as const;
export type ThinkingModel = (typeof THINKING_MODELS)[number];
export const THOUGHT = ["Let", " me", " add", " two", " and", " two."];
export const ANSWER = ["The", " answer", " is", " 4."];

export interface ReasoningUpstream {
  url: string;
  /** Request bodies received, oldest first. */
  requests: Record<string, unknown>[];
  /** When (performance.now()) each reasoning and answer delta of the latest reply was written. */
  written: { kind: "thought" | "answer" | "call"; at: number }[];
  close(): Promise<void>;
}

interface ChatBody {
  model: ThinkingModel;
  messages: { role: string; content?: unknown }[];
  tools?: { function: { name: string } }[];
  chat_template_kwargs?: { enable_thinking?: boolean };
  stream_options?: { continuous_usage_stats?: boolean };
}

const sse = (data: unknown) => `data: ${JSON.stringify(data)}\n\n`;

function delta(model: ThinkingModel, kind: "thought" | "answer", text: string): object {
  if (kind === "answer") return { content: text };
  if (model === "think-vllm") return { reasoning_content: text, content: null };
  if (model === "think-llama") return { reasoning_content: text };
  return { reasoning: text };
}

export async function startReasoningUpstream(intervalMs = 20): Promise<ReasoningUpstream> {
  const requests: Record<string, unknown>[] = [];
  const written: ReasoningUpstream["written"] = [];
  const server = http.createServer((req, res) => {
    if (req.method === "GET" && req.url === "/v1/models") {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ object: "list", data: THINKING_MODELS.map((id) => ({ id, object: "model", max_model_len: 4096 })) }));
      return;
    }
    if (req.method === "GET" && req.url === "/v1/_requests") {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(requests));
      return;
    }
    let raw = "";
    req.on("data", (piece: Buffer) => (raw += piece));
    req.on("end", () => {
      const body = JSON.parse(raw) as ChatBody;
      requests.push(body as unknown as Record<string, unknown>);
      written.length = 0;
      const model = body.model;
      const thinks = body.chat_template_kwargs?.enable_thinking !== false;
      const answered = body.messages.some((m) => m.role === "tool" || (typeof m.content === "string" && m.content.startsWith("Result of")));
      const tool = body.tools?.length && !answered ? body.tools[0]!.function.name : undefined;
      const steps: { kind: "thought" | "answer" | "call"; text: string }[] = [
        ...(thinks ? THOUGHT.map((text) => ({ kind: "thought" as const, text })) : []),
        ...(tool ? [{ kind: "call" as const, text: tool }] : ANSWER.map((text) => ({ kind: "answer" as const, text }))),
      ];
      const promptTokens = JSON.stringify(body.messages).split(/\s+/).length;
      let sent = 0;
      const continuous = body.stream_options?.continuous_usage_stats === true;
      const chunk = (d: object, finish: string | null = null, extra: object = {}) =>
        sse({
          id: "r",
          object: "chat.completion.chunk",
          created: 0,
          model,
          choices: [{ index: 0, delta: d, finish_reason: finish }],
          ...(continuous ? { usage: { prompt_tokens: promptTokens, completion_tokens: sent, total_tokens: promptTokens + sent } } : {}),
          ...extra,
        });
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write(chunk({ role: "assistant", content: model === "think-llama" ? null : "" }));
      const timer = setInterval(() => {
        const step = steps[sent];
        if (step) {
          sent++;
          written.push({ kind: step.kind, at: performance.now() });
          if (step.kind === "call") {
            res.write(chunk({ tool_calls: [{ index: 0, id: "call_1", type: "function", function: { name: step.text, arguments: '{"city":"Paris"}' } }] }));
          } else {
            res.write(chunk(delta(model, step.kind, step.text)));
          }
          return;
        }
        clearInterval(timer);
        const thoughts = steps.filter((s) => s.kind === "thought").length;
        const completion = steps.length;
        const usage = {
          prompt_tokens: promptTokens,
          completion_tokens: completion,
          total_tokens: promptTokens + completion,
          ...(model === "think-reasoning" ? { completion_tokens_details: { reasoning_tokens: thoughts } } : {}),
        };
        const finish = tool ? "tool_calls" : "stop";
        if (model === "think-llama") res.end(chunk({}, finish, { usage, timings: { predicted_n: completion } }) + "data: [DONE]\n\n");
        else res.end(chunk({}, finish) + sse({ id: "r", object: "chat.completion.chunk", created: 0, model, choices: [], usage }) + "data: [DONE]\n\n");
      }, intervalMs);
      res.on("close", () => clearInterval(timer));
    });
  });
  return { ...(await listenOnLoopback(server)), requests, written };
}

await serveIfRunAsScript(import.meta.url, () => startReasoningUpstream(Number(process.argv[2] ?? 20)));
