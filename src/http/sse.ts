import type { ServerResponse } from "node:http";

/**
 * The only place that frames streamed responses. Each item is written as soon as it exists;
 * when the socket's buffer is full, `write` waits for 'drain', so a slow reader pauses
 * generation instead of growing memory.
 */
export interface StreamWriter {
  /** Writes one item; resolves once the socket can take more. */
  write(item: unknown): Promise<void>;
  /** Ends the response normally. */
  end(): void;
}

/** Yielded by a surface whose protocol ends the stream with `data: [DONE]` (OpenAI's); Gemini never does. */
export const SSE_DONE = Symbol("[DONE]");

const LINE_BREAKING = /[\u2028\u2029\u0085]/g;
const ESCAPES: Record<string, string> = { "\u2028": "\\u2028", "\u2029": "\\u2029", "\u0085": "\\u0085" };

/** One-line JSON; characters some SSE and JS parsers treat as line breaks are escaped. */
export function jsonLine(item: unknown): string {
  return JSON.stringify(item).replace(LINE_BREAKING, (c) => ESCAPES[c] ?? c);
}

function writeAndWait(res: ServerResponse, chunk: string): Promise<void> {
  if (res.destroyed || res.writableEnded) return Promise.resolve();
  if (res.write(chunk)) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      res.off("drain", done);
      res.off("close", done);
      resolve();
    };
    res.on("drain", done);
    res.on("close", done);
  });
}

/** `alt=sse`: `data: <json>\r\n\r\n` per item; no comments, no `event:` lines, no `[DONE]`. */
export function openSseStream(res: ServerResponse, headers: Record<string, string> = {}): StreamWriter {
  res.writeHead(200, {
    ...headers,
    "Content-Type": "text/event-stream",
    "Cache-Control": "no-cache",
    "X-Accel-Buffering": "no",
    Connection: "keep-alive",
  });
  res.flushHeaders();
  return {
    write: (item) => writeAndWait(res, `data: ${item === SSE_DONE ? "[DONE]" : jsonLine(item)}\r\n\r\n`),
    end: () => {
      if (!res.writableEnded) res.end();
    },
  };
}

/** Without `alt=sse`: one JSON array whose elements are written as they are produced. */
export function openJsonArrayStream(res: ServerResponse, headers: Record<string, string> = {}): StreamWriter {
  res.writeHead(200, { ...headers, "Content-Type": "application/json; charset=UTF-8", "Cache-Control": "no-cache" });
  res.flushHeaders();
  let count = 0;
  return {
    write: (item) => writeAndWait(res, `${count++ === 0 ? "[" : ",\r\n"}${jsonLine(item)}`),
    end: () => {
      if (!res.writableEnded) res.end(count === 0 ? "[]" : "]");
    },
  };
}
