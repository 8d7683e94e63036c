import http from "node:http";
import https from "node:https";
import type { Socket } from "node:net";
import { errorBody, invalidArgument, type ApiError } from "../route-kit/errors.js";
import { DEFAULTS } from "../base/config.js";

export interface ConnectionLimits {
  /** Largest request body, in bytes. */
  maxBodyBytes: number;
  /** Largest request head (request line + headers), in bytes. */
  maxHeaderBytes: number;
  /** Time a client has to send its whole request (headers and body); a slow client is cut off. */
  requestTimeoutMs: number;
}

export const DEFAULT_LIMITS: ConnectionLimits = { maxBodyBytes: DEFAULTS.maxBodyBytes, maxHeaderBytes: DEFAULTS.maxHeaderBytes, requestTimeoutMs: DEFAULTS.requestTimeoutMs };

/** PEM certificate (chain) and private key; with them the server speaks HTTPS (and WSS). */
export interface TlsFiles {
  cert: string | Buffer;
  key: string | Buffer;
}

/**
 * The HTTP server (HTTPS with `tls`) with limits a client cannot talk its way around: slow headers or bodies
 * (slowloris) time out before any route, so they never hold a stream slot.
 */
export function createHttpServer(limits: ConnectionLimits, tls?: TlsFiles) {
  const options: http.ServerOptions = {
    maxHeaderSize: limits.maxHeaderBytes,
    requestTimeout: limits.requestTimeoutMs,
    headersTimeout: Math.min(limits.requestTimeoutMs, 60_000),
    connectionsCheckingInterval: Math.min(1000, limits.requestTimeoutMs / 2),
    keepAliveTimeout: 5000,
  };
  return (handler: http.RequestListener): http.Server =>
    tls ? (https.createServer({ ...options, cert: tls.cert, key: tls.key }, handler) as unknown as http.Server) : http.createServer(options, handler);
}

function clientErrorFor(error: Error & { code?: string }, limits: ConnectionLimits): { status: number; apiError: ApiError } {
  if (error.code === "HPE_HEADER_OVERFLOW") {
    return { status: 431, apiError: invalidArgument(`Request header fields too large: the limit is ${limits.maxHeaderBytes} bytes.`) };
  }
  if (error.code === "ERR_HTTP_REQUEST_TIMEOUT") {
    return { status: 408, apiError: invalidArgument(`The request was not received within ${limits.requestTimeoutMs / 1000} s.`) };
  }
  return { status: 400, apiError: invalidArgument(`Malformed HTTP request (${error.code ?? error.message}).`) };
}

/** Errors Node's HTTP parser meets before any route runs, answered in Google's shape. */
export function clientErrorHandler(limits: ConnectionLimits) {
  return (error: Error & { code?: string }, socket: Socket): void => {
    if (!socket.writable) {
      socket.destroy();
      return;
    }
    const { status, apiError } = clientErrorFor(error, limits);
    const body = JSON.stringify(errorBody(apiError));
    socket.end(
      `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nContent-Type: application/json; charset=UTF-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  };
}
