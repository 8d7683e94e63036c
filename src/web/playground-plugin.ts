import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { FastifyInstance, FastifyReply } from "fastify";

/** From dist/web/ (or src/web/ under a TypeScript runner), the page lives in ../../web. */
const WEB_DIR = fileURLToPath(new URL("../../web/", import.meta.url));
export const ASSET_PREFIX = "/playground/";

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
};

// Model output is shown on this page; even if something slipped past the sanitiser, nothing
// inline could run and nothing could be fetched from elsewhere.
const PAGE_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

/**
 * Every URL path this plugin answers, mapped to its file: an allowlist made once at start-up,
 * so no part of a request's path ever reaches the filesystem. The two vendor modules are the
 * self-contained ES builds that marked and DOMPurify ship.
 */
async function assetTable(): Promise<Map<string, string>> {
  const table = new Map<string, string>();
  for (const name of await readdir(WEB_DIR)) {
    if (name !== "index.html" && CONTENT_TYPES[path.extname(name)]) table.set(name, path.join(WEB_DIR, name));
  }
  table.set("vendor/marked.js", fileURLToPath(import.meta.resolve("marked")));
  table.set("vendor/purify.js", fileURLToPath(import.meta.resolve("dompurify")));
  return table;
}

async function sendFile(reply: FastifyReply, file: string): Promise<FastifyReply> {
  const body = await readFile(file);
  return reply
    .type(CONTENT_TYPES[path.extname(file)] ?? "application/octet-stream")
    .header("cache-control", "no-cache")
    .header("x-content-type-options", "nosniff")
    .send(body);
}

/** The browser playground: GET / is the page, GET /playground/* its modules and styles. */
export async function playgroundPlugin(app: FastifyInstance): Promise<void> {
  const assets = await assetTable();
  const page = path.join(WEB_DIR, "index.html");

  app.get("/", async (_request, reply) => {
    reply.header("content-security-policy", PAGE_POLICY).header("referrer-policy", "no-referrer");
    return sendFile(reply, page);
  });
  app.get<{ Params: { "*": string } }>(`${ASSET_PREFIX}*`, async (request, reply) => {
    const file = assets.get(request.params["*"]);
    return file ? sendFile(reply, file) : reply.callNotFound();
  });
}
