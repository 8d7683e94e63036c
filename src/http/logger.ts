import pino, { type Logger } from "pino";

/** Structured logs go to stderr so stdout stays for what a command prints (URLs, chunks). */
export function createLogger(level = process.env.GENAI_LOCAL_LOG_LEVEL ?? "info"): Logger {
  return pino(
    {
      level,
      redact: { paths: ['req.headers["x-goog-api-key"]', "req.headers.authorization", "req.query.key"], censor: "[redacted]" },
    },
    pino.destination(2),
  );
}
