import "../support/env.js";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import https from "node:https";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../../src/cli/serve.js";
import { startTestServer } from "../support/server.js";
import { CHAT_MODEL, CHAT_MODEL_SPEC, connectRaw, isText, liveUrl } from "./live-clients.js";

/** --tls-cert/--tls-key: REST, SSE, the playground and Live (wss://) on one TLS port, with a throwaway certificate. */
let dir: string;
let cert: Buffer;
let server: RunningServer;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), "genai-local-tls-"));
  const [certFile, keyFile] = [path.join(dir, "cert.pem"), path.join(dir, "key.pem")];
  execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", keyFile, "-out", certFile], { stdio: "ignore" });
  cert = readFileSync(certFile);
  server = await startTestServer({ models: [CHAT_MODEL_SPEC], tls: { cert, key: readFileSync(keyFile) } });
});

afterAll(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

function request(pathname: string, body?: unknown): Promise<{ status: number; type: string; text: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request(`${server.url}${pathname}`, { ca: cert, method: body ? "POST" : "GET", headers: { "content-type": "application/json" } }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (piece: string) => (text += piece));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, type: String(res.headers["content-type"]), text }));
    });
    req.on("error", reject);
    req.end(body ? JSON.stringify(body) : undefined);
  });
}

describe("TLS on the same port", () => {
  it("serves REST, SSE and the playground over https://", async () => {
    expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect((await request("/healthz")).text).toBe('{"status":"ok"}');
    const sse = await request(`/v1beta/models/${CHAT_MODEL}:streamGenerateContent?alt=sse`, { contents: [{ parts: [{ text: "Say hi." }] }], generationConfig: { maxOutputTokens: 4 } });
    expect(sse.type).toMatch(/text\/event-stream/);
    expect(sse.text.match(/^data: /gm)?.length).toBeGreaterThan(0);
    const page = await request("/");
    expect(page.status).toBe(200);
    expect(page.type).toMatch(/text\/html/);
  }, 60_000);

  it("serves Live over wss://, and refuses a client that does not trust the certificate", async () => {
    const { socket, inbox } = await connectRaw(liveUrl(server.url), { ca: cert });
    expect(liveUrl(server.url)).toMatch(/^wss:/);
    socket.send(JSON.stringify({ setup: { model: CHAT_MODEL, generationConfig: { responseModalities: ["TEXT"], maxOutputTokens: 8 } } }));
    socket.send(JSON.stringify({ realtimeInput: { text: "Say hi." } }));
    const reply = await inbox.until((m) => (m as { serverContent?: { turnComplete?: boolean } }).serverContent?.turnComplete === true);
    expect(reply.some(isText)).toBe(true);
    socket.close();
    await expect(connectRaw(liveUrl(server.url))).rejects.toThrow(/self-signed|certificate/i);
  }, 60_000);
});
