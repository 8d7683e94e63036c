import { mkdtemp, rm } from "node:fs/promises";
import http from "node:http";
import type { Socket } from "node:net";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { Agent, request } from "undici";
import { afterEach, describe, expect, it } from "vitest";
import { spareConnector } from "../../src/engines/llama-server/spare-connection.js";

/** A server on a Unix socket that notes when each connection was opened and which one each request came on. */
async function socketServer(dir: string) {
  const opened = new Map<Socket, number>();
  const served: { openedAt: number; socket: Socket }[] = [];
  const server = http.createServer((req, res) => {
    served.push({ openedAt: opened.get(req.socket)!, socket: req.socket });
    res.end("ok");
  });
  server.on("connection", (socket: Socket) => opened.set(socket, performance.now()));
  const socketPath = path.join(dir, "s.sock");
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  const live = () => [...opened.keys()].filter((socket) => !socket.destroyed);
  return { server, socketPath, opened, served, live };
}

let dir: string;
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  await rm(dir, { recursive: true, force: true });
});

async function setUp(maxIdleMs?: number) {
  dir = await mkdtemp(path.join(os.tmpdir(), "genai-local-spare-test-"));
  const served = await socketServer(dir);
  cleanups.push(() => new Promise<void>((resolve) => served.server.close(() => resolve())), () => void served.server.closeAllConnections());
  const connector = spareConnector({ socketPath: served.socketPath, timeout: 2_000 }, maxIdleMs);
  const agent = new Agent({ connect: connector, pipelining: 0 });
  cleanups.push(() => connector.close(), () => agent.close());
  const get = async (): Promise<string> => {
    const response = await request("http://localhost/x", { dispatcher: agent });
    return response.body.text();
  };
  return { ...served, connector, get };
}

/** Until `test` holds (the server sees connections a moment after they are made). */
async function until(test: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !test(); i++) await sleep(10);
  expect(test()).toBe(true);
}

describe("spareConnector (a llama-server child's connections, one opened ahead)", () => {
  it("a request after the first goes out on a connection opened before it was asked for, and each connection carries one request", async () => {
    const server = await setUp();
    expect(await server.get()).toBe("ok");
    await until(() => server.live().length === 1); // the spare, opened after the first request
    const asked = performance.now();
    expect(await server.get()).toBe("ok");
    expect(server.served[1]!.openedAt).toBeLessThan(asked);
    expect(server.served[1]!.socket).not.toBe(server.served[0]!.socket);
    await until(() => server.live().length === 1); // the next spare
    expect(server.opened.size).toBe(3);
  });

  it("a spare past its idle limit is replaced by a new one, and the request takes the new one", async () => {
    const server = await setUp(60);
    await server.get();
    await until(() => server.live().length === 1);
    const first = server.live()[0]!;
    await until(() => first.destroyed && server.live().length === 1);
    const asked = performance.now();
    await server.get();
    const used = server.served[1]!;
    expect(used.socket).not.toBe(first);
    expect(asked - used.openedAt).toBeLessThan(60 + 50);
  });

  it("a spare the server closes is not used: the next request connects anew and is answered", async () => {
    const server = await setUp();
    await server.get();
    await until(() => server.live().length === 1);
    const spare = server.live()[0]!;
    spare.destroy();
    await sleep(20);
    expect(await server.get()).toBe("ok");
    expect(server.served[1]!.socket).not.toBe(spare);
  });

  it("close() closes the waiting connection and opens no more", async () => {
    const server = await setUp();
    await server.get();
    await until(() => server.live().length === 1);
    server.connector.close();
    await until(() => server.live().length === 0);
    await sleep(50);
    expect(server.live()).toHaveLength(0);
  });
});
