import type { RawData, WebSocket } from "ws";
import { invalidArgument } from "../http/errors.js";
import { jsonLine } from "../http/sse.js";
import type { LiveServerMessage } from "./protocol.js";
import type { LiveTransport } from "./session.js";

/**
 * The one place that frames Live messages, both ways: each server message is one JSON text frame,
 * and each client frame (text, or binary holding JSON, as the SDKs may send) is parsed here.
 */

/** Bytes a client may leave unread before it counts as gone (it stopped reading its socket). */
const MAX_UNREAD_BYTES = 16 * 1024 * 1024;

export function liveTransport(socket: WebSocket): LiveTransport {
  return {
    send(message: LiveServerMessage) {
      if (socket.readyState !== socket.OPEN) return;
      if (socket.bufferedAmount > MAX_UNREAD_BYTES) {
        socket.terminate();
        return;
      }
      socket.send(jsonLine(message));
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
  let value: unknown;
  try {
    // JSON DEPTH GUARD: this is the one call site where Live frames are parsed; plug the
    // depth check from src/http/ in here (before or around JSON.parse) when it lands.
    value = JSON.parse(text);
  } catch (error) {
    throw invalidArgument(`Invalid JSON payload received. ${(error as Error).message}`);
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw invalidArgument("Invalid JSON payload received. Expected a JSON object as the message.");
  }
  return value;
}
