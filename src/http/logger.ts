import { LogController, type FastifyReply, type FastifyRequest } from "fastify";
import pino, { type Logger } from "pino";
import { environment } from "../base/config.js";

/** A URL as logged: the `key` query parameter (an API key) is replaced, never written out. */
export function redactUrl(url: string): string {
  return url.replace(/([?&]key=)[^&#]*/gi, "$1[redacted]");
}

/** Structured logs go to stderr so stdout stays for what a command prints (URLs, chunks). */
export function createLogger(level = environment.logLevel()): Logger {
  return pino(
    {
      level,
      serializers: {
        req: (req: { method?: string; url?: string; ip?: string; id?: string }) => ({
          method: req.method,
          url: redactUrl(req.url ?? ""),
          remoteAddress: req.ip,
        }),
      },
    },
    pino.destination(2),
  );
}

/**
 * One line per request, when it ends, with what the request was (method, URL) and how it went:
 * Fastify's "incoming request" line is kept for debug. A log write is a synchronous syscall, and
 * the one at arrival stood between every request and its first token.
 */
export class RequestLogs extends LogController {
  override incomingRequest(request: FastifyRequest): void {
    if (!this.isLogDisabled(request)) request.log.debug({ req: request }, "incoming request");
  }

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (this.isLogDisabled(request)) return;
    if (error) reply.log.error({ req: request, res: reply, err: error, responseTime: reply.elapsedTime }, "request errored");
    else reply.log.info({ req: request, res: reply, responseTime: reply.elapsedTime }, "request completed");
  }
}
