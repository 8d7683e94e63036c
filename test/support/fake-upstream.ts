import type http from "node:http";
import type { AddressInfo } from "node:net";
import { pathToFileURL } from "node:url";

/** A fake OpenAI-compatible engine listening on a loopback port: its base URL (ending in /v1) and how to stop it. */
export interface Listening {
  url: string;
  close(): Promise<void>;
}

/** Starts `server` on a free loopback port; `close` ends its open connections too. */
export async function listenOnLoopback(server: http.Server): Promise<Listening> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** One `chat.completion.chunk` SSE event. */
export const chatChunk = (model: string, delta: object, finish: string | null = null, extra: object = {}): string =>
  `data: ${JSON.stringify({ id: model, object: "chat.completion.chunk", created: 0, model, choices: [{ index: 0, delta, finish_reason: finish }], ...extra })}\n\n`;

/**
 * When the module at `moduleUrl` is run as a script (the Python tests do): start it, print its base
 * URL, and serve until stdin closes or SIGTERM.
 */
export async function serveIfRunAsScript(moduleUrl: string, start: () => Promise<Listening>): Promise<void> {
  if (moduleUrl !== pathToFileURL(process.argv[1] ?? "").href) return;
  const upstream = await start();
  process.stdout.write(`${upstream.url}\n`);
  const stop = () => void upstream.close().then(() => process.exit(0));
  process.on("SIGTERM", stop);
  process.stdin.on("end", stop).resume();
}
