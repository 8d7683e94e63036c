import "undici";
import { createServer } from "node:net";
import type { AddressInfo } from "node:net";
import { it, expect } from "vitest";
import { downloadModel } from "./src/models/download.js";
it("connection: close under backpressure", async () => {
  const body = Buffer.alloc(4 * 1024 * 1024, 0x61);
  const server = createServer((sock) => sock.once("data", () => {
    sock.write(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`);
    sock.end(body);
  }));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  for (let i = 0; i < 3; i++) await downloadModel(`http://127.0.0.1:${(server.address() as AddressInfo).port}/m.gguf`, "/tmp/repro/out2/m.gguf");
  server.close();
  expect(1).toBe(1);
});
