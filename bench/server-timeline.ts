/**
 * Loaded into a genai-local server by bench:ttft-probe (`node --import tsx --import ./bench/server-timeline.ts
 * dist/cli/main.js serve …`): for each generation request, when each step happened, in ms from the
 * moment Node's http server saw the request, appended as one JSON line to BENCH_TIMELINE_FILE when
 * the response ends. It reads Node's and undici's diagnostics channels and wraps ServerResponse
 * writes; nothing in the server changes. Meant for one request at a time (the probe's pattern): an
 * upstream request is credited to the latest server request.
 */
import { appendFileSync } from "node:fs";
import dc from "node:diagnostics_channel";
import http from "node:http";

export interface TimelineRow {
  url: string;
  /** The request's body has been read. */
  body?: number;
  /** The engine's request to its llama-server child (or an upstream) is created, connected, its headers written. */
  upstreamCreated?: number;
  connected?: number;
  sent?: number;
  /** The child's response headers, and its first chunk with text in it. */
  upstreamHeaders?: number;
  upstreamFirstText?: number;
  /** genai-local's first write to the client (its headers leave with it), its first write with text, and the end. */
  firstWrite?: number;
  firstTextWrite?: number;
  done?: number;
}

const file = process.env.BENCH_TIMELINE_FILE;
const GENERATION = /generatecontent|\/completions/i;
/** A chunk with text in it, on the OpenAI wire or the Gemini one. */
const TEXT = /"(content|text)":"[^"]/;
let latest: { row: TimelineRow; start: number } | undefined;
const upstream = new WeakMap<object, { row: TimelineRow; start: number }>();
const served = new WeakMap<object, { row: TimelineRow; start: number }>();
const at = (entry: { row: TimelineRow; start: number }, step: keyof Omit<TimelineRow, "url">): void => {
  entry.row[step] ??= +(performance.now() - entry.start).toFixed(3);
};

if (file) {
  dc.subscribe("http.server.request.start", (message) => {
    const { request } = message as { request: http.IncomingMessage };
    if (!GENERATION.test(request.url ?? "")) return;
    const entry = { row: { url: request.url ?? "" }, start: performance.now() };
    latest = entry;
    served.set(request, entry);
    request.once("end", () => at(entry, "body"));
  });
  dc.subscribe("undici:request:create", (message) => {
    const { request } = message as { request: { path: string } };
    if (!latest || !GENERATION.test(request.path)) return;
    upstream.set(request, latest);
    at(latest, "upstreamCreated");
  });
  dc.subscribe("undici:client:connected", () => latest && at(latest, "connected"));
  const ofUpstream = (step: "sent" | "upstreamHeaders") => (message: unknown) => {
    const entry = upstream.get((message as { request: object }).request);
    if (entry) at(entry, step);
  };
  dc.subscribe("undici:client:sendHeaders", ofUpstream("sent"));
  dc.subscribe("undici:request:headers", ofUpstream("upstreamHeaders"));
  dc.subscribe("undici:request:bodyChunkReceived", (message) => {
    const { request, chunk } = message as { request: object; chunk: Buffer };
    const entry = upstream.get(request);
    if (entry && entry.row.upstreamFirstText === undefined && TEXT.test(chunk.toString())) at(entry, "upstreamFirstText");
  });

  const { write, end } = http.ServerResponse.prototype;
  http.ServerResponse.prototype.write = function (this: http.ServerResponse, ...args: unknown[]) {
    const entry = served.get(this.req);
    if (entry) {
      at(entry, "firstWrite");
      if (entry.row.firstTextWrite === undefined && TEXT.test(String(args[0]))) at(entry, "firstTextWrite");
    }
    return (write as (...a: unknown[]) => boolean).apply(this, args);
  } as typeof write;
  http.ServerResponse.prototype.end = function (this: http.ServerResponse, ...args: unknown[]) {
    const entry = served.get(this.req);
    const first = entry !== undefined && entry.row.done === undefined;
    if (first) {
      at(entry, "firstWrite");
      at(entry, "done");
    }
    const ended = (end as (...a: unknown[]) => http.ServerResponse).apply(this, args);
    // After the response has left, so the file write is not in what the client waits for.
    if (first) appendFileSync(file, `${JSON.stringify(entry.row)}\n`);
    return ended;
  } as typeof end;
}
