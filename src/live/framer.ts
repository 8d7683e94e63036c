import type { RawData, WebSocket } from "ws";
import { invalidArgument } from "../route-kit/errors.js";
import { exceedsJsonDepth, tooDeepError } from "../base/json-depth.js";
import { jsonLine } from "../route-kit/sse.js";
import type { LiveServerMessage } from "./protocol.js";
import type { LiveTransport } from "./session-deps.js";

/**
 * The one place that frames Live messages, both ways: each server message is one JSON text frame,
 * and each client frame (text, or binary holding JSON, as the SDKs may send) is parsed here.
 */

/** Past this many unsent bytes, a reply waits for the client to read before it generates more. */
const HIGH_WATER_BYTES = 1024 * 1024;
const SENT = Promise.resolve();

/**
 * Server messages → text frames. `ready` answers when the socket can take more: while the client
 * reads slower than the model writes, the reply pauses (as the SSE framer waits for 'drain').
 */
export function liveTransport(socket: WebSocket): LiveTransport {
  let flushed: Promise<void> = SENT;
  const gone = new Promise<void>((resolve) => socket.once("close", () => resolve()));
  return {
    send(message: LiveServerMessage) {
      if (socket.readyState !== socket.OPEN) return;
      flushed = new Promise((resolve) => socket.send(jsonLine(message), () => resolve()));
    },
    ready() {
      return socket.readyState === socket.OPEN && socket.bufferedAmount > HIGH_WATER_BYTES ? Promise.race([flushed, gone]) : SENT;
    },
    close(code, reason) {
      if (socket.readyState === socket.OPEN || socket.readyState === socket.CONNECTING) socket.close(code, reason);
    },
  };
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

function frameText(data: RawData): string {
  const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
  try {
    return utf8.decode(bytes);
  } catch {
    throw invalidArgument("Invalid JSON payload received. The frame is not UTF-8 text.");
  }
}

/** A client frame → its JSON value; anything else is refused with Google's wording. */
export function parseFrame(data: RawData): unknown {
  const text = frameText(data);
  // The same depth guard as every REST body, before anything walks the frame.
  if (exceedsJsonDepth(text)) throw tooDeepError();
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw invalidArgument(`Invalid JSON payload received. ${(error as Error).message}`);
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw invalidArgument("Invalid JSON payload received. Expected a JSON object as the message.");
  }
  return value;
}
