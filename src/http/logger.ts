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
