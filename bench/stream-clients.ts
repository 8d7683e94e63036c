/** Minimal streaming clients for the benchmarks: one per wire format, timing every chunk. */
import { fetch as undiciFetch, type Dispatcher } from "undici";

export interface StreamTiming {
  /** ms from request to the first chunk with text. */
  ttft: number;
  /** ms between consecutive tokens (a chunk of k tokens counts k - 1 zero gaps). */
  gaps: number[];
  tokens: number;
  totalMs: number;
}

export interface StreamTarget {
  baseUrl: string;
  format: "gemini" | "openai";
  model: string;
  apiKey?: string;
  maxTokens: number;
  prompt: string;
  /** undici's dispatcher to send through (one connecting to a Unix socket); without it, Node's fetch. */
  dispatcher?: Dispatcher;
}

async function* sseData(response: Response): AsyncGenerator<string> {
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (let part = await reader.read(); !part.done; part = await reader.read()) {
    buffer += decoder.decode(part.value, { stream: true });
    let end: number;
    while ((end = buffer.search(/\r?\n\r?\n/)) !== -1) {
      const event = buffer.slice(0, end);
      buffer = buffer.slice(end).replace(/^\r?\n\r?\n/, "");
      for (const line of event.split(/\r?\n/)) if (line.startsWith("data:")) yield line.slice(5).trim();
    }
  }
}

function request(target: StreamTarget): { url: string; init: RequestInit } {
  const headers: Record<string, string> = { "Content-Type": "application/json" };
  if (target.format === "gemini") {
    if (target.apiKey) headers["x-goog-api-key"] = target.apiKey;
    return {
      url: `${target.baseUrl}/v1beta/models/${target.model}:streamGenerateContent?alt=sse`,
      init: {
        method: "POST",
        headers,
        body: JSON.stringify({
          contents: [{ role: "user", parts: [{ text: target.prompt }] }],
          generationConfig: { maxOutputTokens: target.maxTokens, temperature: 0 },
        }),
      },
    };
  }
  if (target.apiKey) headers.authorization = `Bearer ${target.apiKey}`;
  return {
    url: `${target.baseUrl}/v1/chat/completions`,
    init: {
      method: "POST",
      headers,
      body: JSON.stringify({
        model: target.model,
        messages: [{ role: "user", content: target.prompt }],
        max_tokens: target.maxTokens,
        temperature: 0,
        stream: true,
        stream_options: { include_usage: true },
      }),
    },
  };
}

/** Tokens so far, as the wire reports them (usage when present, else one per text chunk). */
function tokensIn(format: StreamTarget["format"], data: any, previous: number): { tokens: number; text: boolean } {
  if (format === "gemini") {
    const text = Boolean(data.candidates?.[0]?.content?.parts?.some((p: { text?: string }) => p.text));
    return { tokens: data.usageMetadata?.candidatesTokenCount ?? previous + (text ? 1 : 0), text };
  }
  const text = Boolean(data.choices?.[0]?.delta?.content);
  return { tokens: data.usage?.completion_tokens ?? previous + (text ? 1 : 0), text };
}

/** A connection the server had closed, taken from undici's pool before it saw the close. */
const staleConnection = (error: unknown): boolean => {
  const code = ((error as { cause?: { code?: string } }).cause ?? {}).code;
  return code === "UND_ERR_SOCKET" || code === "ECONNRESET";
};

/**
 * The response and when the request that got it was sent. llama-server closes a kept-alive
 * connection after a few requests, and undici may hand one out in that instant ("other side
 * closed", nodejs/undici#3492; its maintainers' advice is to retry): such a request, which never
 * reached the server, is sent again, timed from the new send.
 */
async function open(url: string, init: RequestInit, dispatcher?: Dispatcher): Promise<{ response: Response; started: number }> {
  for (let attempt = 1; ; attempt++) {
    const started = performance.now();
    try {
      const response = dispatcher ? ((await undiciFetch(url, { ...(init as object), dispatcher })) as unknown as Response) : await fetch(url, init);
      return { response, started };
    } catch (error) {
      if (attempt >= 4 || !staleConnection(error)) throw error;
    }
  }
}

export async function timeOneStream(target: StreamTarget): Promise<StreamTiming> {
  const { url, init } = request(target);
  const { response, started } = await open(url, init, target.dispatcher);
  if (!response.ok) throw new Error(`${response.status}: ${await response.text()}`);
  let ttft = -1;
  let last = 0;
  let tokens = 0;
  const gaps: number[] = [];
  for await (const payload of sseData(response)) {
    if (payload === "[DONE]") break;
    const now = performance.now() - started;
    const next = tokensIn(target.format, JSON.parse(payload), tokens);
    if (next.text) {
      if (ttft < 0) ttft = now;
      else {
        const added = Math.max(1, next.tokens - tokens);
        gaps.push((now - last) / added);
        for (let i = 1; i < added; i++) gaps.push(0);
      }
      last = now;
    }
    tokens = Math.max(tokens, next.tokens);
  }
  return { ttft, gaps, tokens, totalMs: performance.now() - started };
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}
