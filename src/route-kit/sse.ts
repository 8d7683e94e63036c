import type { ServerResponse } from "node:http";
import { afterThisTick } from "../base/chunk-timing.js";

/**
 * The only place that frames streamed responses. Each item is written as soon as it exists;
 * items produced in the same event-loop turn (a burst of tokens, a batch from the runner, one
 * upstream read) leave in one socket write rather than one write each. When the socket's buffer
 * is full, `write` waits for 'drain', so a slow reader pauses generation instead of growing memory.
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

const HAS_LINE_BREAKING = /[\u2028\u2029\u0085]/;

/** One-line JSON; characters some SSE and JS parsers treat as line breaks are escaped. */
export function jsonLine(item: unknown): string {
  const json = JSON.stringify(item);
  return HAS_LINE_BREAKING.test(json) ? json.replace(LINE_BREAKING, (c) => ESCAPES[c] ?? c) : json;
}

const WRITTEN = Promise.resolve();
const FLUSH_AT = 64 * 1024;

/**
 * Gathers frames and writes them once per turn (on the next tick, after the burst that made
 * them): one chunk of the chunked body and one syscall instead of one per frame. While the
 * socket's buffer is over its high-water mark, `add` answers a promise of 'drain' (or 'close').
 */
function turnWriter(res: ServerResponse): { add(frame: string): Promise<void>; end(last: string): void } {
  let pending = "";
  let scheduled = false;
  let full: Promise<void> | undefined;
  const flush = (): void => {
    scheduled = false;
    const chunk = pending;
    pending = "";
    if (chunk === "" || res.destroyed || res.writableEnded) return;
    if (!res.write(chunk)) full ??= drained(res).then(() => (full = undefined));
  };
  return {
    add(frame) {
      if (res.destroyed || res.writableEnded) return WRITTEN;
      pending += frame;
      // A producer that never waits (items always ready) would keep the tick from coming: past
      // this size the frames go now, so the socket's backpressure still reaches it.
      if (pending.length >= FLUSH_AT) flush();
      else if (!scheduled) {
        scheduled = true;
        afterThisTick(flush);
      }
      return full ?? WRITTEN;
    },
    end(last) {
      const chunk = pending + last;
      pending = "";
      if (!res.writableEnded) res.end(chunk);
    },
  };
}

function drained(res: ServerResponse): Promise<void> {
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
  // No flushHeaders(): the head leaves with the first frame, in the same write (this is opened
  // once the first item exists), which saves the client a wakeup before its first chunk.
  const out = turnWriter(res);
  return {
    write: (item) => out.add(`data: ${item === SSE_DONE ? "[DONE]" : jsonLine(item)}\r\n\r\n`),
    end: () => out.end(""),
  };
}

/** Without `alt=sse`: one JSON array whose elements are written as they are produced. */
export function openJsonArrayStream(res: ServerResponse, headers: Record<string, string> = {}): StreamWriter {
  res.writeHead(200, { ...headers, "Content-Type": "application/json; charset=UTF-8", "Cache-Control": "no-cache" });
  const out = turnWriter(res);
  let count = 0;
  return {
    write: (item) => out.add(`${count++ === 0 ? "[" : ",\r\n"}${jsonLine(item)}`),
    end: () => out.end(count === 0 ? "[]" : "]"),
  };
}
