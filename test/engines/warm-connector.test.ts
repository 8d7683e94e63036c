import http from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { Agent, request } from "undici";
import { afterEach, describe, expect, it } from "vitest";
import { warmConnector, type WarmConnector } from "../../src/engines/upstream/warm-connector.js";

/** A server that, like llama-server, closes each connection after its response; it notes when it accepted each. */
async function closingServer() {
  const acceptedAt = new WeakMap<Socket, number>();
  const open = new Set<Socket>();
  let accepted = 0;
  const server = http.createServer((req, res) => {
    res.setHeader("connection", "close");
    res.end(String(acceptedAt.get(req.socket)));
  });
  server.on("connection", (socket: Socket) => {
    accepted++;
    acceptedAt.set(socket, performance.now());
    open.add(socket);
    socket.on("close", () => open.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    accepted: () => accepted,
    open: () => open.size,
    close: () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  };
}

const until = async (condition: () => boolean): Promise<void> => {
  for (let waited = 0; !condition(); waited += 10) {
    if (waited > 5_000) throw new Error("timed out");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
};

let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const step of cleanup.reverse()) await step();
  cleanup = [];
});

async function setUp(options: { maxIdleMs: number; keepWarmMs: number }) {
  const server = await closingServer();
  const warm: WarmConnector = warmConnector({ spares: 2, connectTimeoutMs: 1_000, ...options });
  const agent = new Agent({ connect: warm.connect, pipelining: 0 });
  cleanup.push(server.close, () => agent.close(), async () => warm.close());
  /** The ms between the server accepting the connection and the request being sent. */
  const get = async (): Promise<number> => {
    const sentAt = performance.now();
    const response = await request(server.url, { dispatcher: agent });
    return sentAt - Number(await response.body.text());
  };
  return { server, warm, get };
}

describe("warmConnector", () => {
  it("sends each request after the first on a connection the server accepted before it was sent", async () => {
    const { server, warm, get } = await setUp({ maxIdleMs: 60_000, keepWarmMs: 60_000 });
    expect(await get()).toBeLessThan(0); // the first connects on its own
    await until(() => warm.spares === 2);
    for (let i = 0; i < 5; i++) {
      expect(await get()).toBeGreaterThan(0);
      await until(() => warm.spares === 2);
    }
    expect(server.accepted()).toBe(1 + 5 + 2);
  });

  it("replaces a spare before it gets old while requests come, and lets them lapse when they stop", async () => {
    const { server, warm, get } = await setUp({ maxIdleMs: 100, keepWarmMs: 400 });
    await get();
    await until(() => warm.spares === 2);
    const before = server.accepted();
    await until(() => server.accepted() >= before + 4); // two rounds of replacements
    expect(server.open()).toBeLessThanOrEqual(2);
    await until(() => warm.spares === 0 && server.open() === 0);
    expect(await get()).toBeLessThan(0); // cold again: connects on its own
  });

  it("closes its spares when closed", async () => {
    const { server, warm, get } = await setUp({ maxIdleMs: 60_000, keepWarmMs: 60_000 });
    await get();
    await until(() => warm.spares === 2 && server.open() === 2);
    warm.close();
    expect(warm.spares).toBe(0);
    await until(() => server.open() === 0);
  });
});
