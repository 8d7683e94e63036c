#!/usr/bin/env node
// A stand-in for llama.cpp's llama-server, for tests of what genai-local sends it: it listens where
// `--host` says (a Unix socket), reports vision in /props when started with --mmproj, and appends
// its arguments and every chat-completions body, one JSON line each, to $FAKE_LLAMA_SERVER_LOG.
import { appendFileSync } from "node:fs";
import http from "node:http";

const args = process.argv.slice(2);
if (args.includes("--version")) {
  console.log("version: 0 (fake)");
  process.exit(0);
}
const log = (entry) => process.env.FAKE_LLAMA_SERVER_LOG && appendFileSync(process.env.FAKE_LLAMA_SERVER_LOG, `${JSON.stringify(entry)}\n`);
log({ args });
const json = (res, body) => res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(body));
const chunk = (delta, finish = null) => `data: ${JSON.stringify({ id: "f", object: "chat.completion.chunk", created: 0, model: "m", choices: [{ index: 0, delta, finish_reason: finish }], ...(finish ? { usage: { prompt_tokens: 7, completion_tokens: 1, total_tokens: 8 } } : {}) })}\n\n`;
const server = http.createServer((req, res) => {
  if (req.url === "/health") return json(res, { status: "ok" });
  if (req.url === "/props") return json(res, { chat_template_caps: {}, modalities: { vision: args.includes("--mmproj"), audio: false } });
  if (req.method === "POST" && req.url === "/v1/chat/completions") {
    const pieces = [];
    req.on("data", (piece) => pieces.push(piece));
    req.on("end", () => {
      log({ body: JSON.parse(Buffer.concat(pieces).toString("utf8")) });
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.end(chunk({ role: "assistant", content: "" }) + chunk({ content: "seen" }) + chunk({}, "stop") + "data: [DONE]\n\n");
    });
    return;
  }
  res.writeHead(404).end();
});
server.listen(args[args.indexOf("--host") + 1]);
process.on("SIGTERM", () => server.close(() => process.exit(0)));
