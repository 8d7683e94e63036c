import http from "node:http";
import net from "node:net";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { jsonLine, openJsonArrayStream, openSseStream } from "../../src/route-kit/sse.js";

const tricky = { text: "a\u2028b\u2029c\u0085d\ne\"f" };

describe("jsonLine", () => {
  it("escapes characters that JS and SSE parsers may treat as line breaks", () => {
    const line = jsonLine(tricky);
    expect(line).toBe('{"text":"a\\u2028b\\u2029c\\u0085d\\ne\\"f"}');
    expect(line).not.toMatch(/[\u2028\u2029\u0085\n\r]/);
    expect(JSON.parse(line)).toEqual(tricky);
  });
});

describe("stream writers on a real socket", () => {
  let server: http.Server;
  let base: string;

  beforeAll(async () => {
    server = http.createServer(async (req, res) => {
      const writer = req.url === "/sse" ? openSseStream(res) : openJsonArrayStream(res);
      await writer.write(tricky);
      await writer.write({ n: 2 });
      writer.end();
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it("frames SSE as data lines ended by CRLF CRLF, with no comments or event lines", async () => {
    const response = await fetch(`${base}/sse`);
    expect(response.headers.get("content-type")).toBe("text/event-stream");
    expect(response.headers.get("cache-control")).toBe("no-cache");
    expect(response.headers.get("x-accel-buffering")).toBe("no");
    const body = await response.text();
    expect(body).toBe(`data: ${jsonLine(tricky)}\r\n\r\ndata: {"n":2}\r\n\r\n`);
  });

  it("writes one parseable JSON array without alt=sse", async () => {
    const response = await fetch(`${base}/json`);
    expect(response.headers.get("content-type")).toMatch(/^application\/json/);
    expect(JSON.parse(await response.text())).toEqual([tricky, { n: 2 }]);
  });
});

/** The raw body of a chunked response, as its chunks (the terminating empty chunk left out). */
function rawChunks(port: number, path: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1", () => socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`));
    let raw = "";
    socket.setEncoding("latin1");
    socket.on("data", (d: string) => (raw += d));
    socket.on("error", reject);
    socket.on("end", () => {
      let body = raw.slice(raw.indexOf("\r\n\r\n") + 4);
      const chunks: string[] = [];
      for (;;) {
        const eol = body.indexOf("\r\n");
        const size = Number.parseInt(body.slice(0, eol), 16);
        if (!size) break;
        chunks.push(body.slice(eol + 2, eol + 2 + size));
        body = body.slice(eol + 2 + size + 2);
      }
      resolve(chunks);
    });
  });
}

describe("stream writers: one write per turn, and backpressure", () => {
  let server: http.Server;
  let port: number;
  let written = 0;
  let finished: Promise<void> = Promise.resolve();

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      if (req.url === "/turns") {
        const writer = openSseStream(res);
        // Three frames in one turn, then two in a later turn: two writes, not five.
        void writer.write({ n: 1 });
        void writer.write({ n: 2 });
        void writer.write({ n: 3 });
        setTimeout(() => {
          void writer.write({ n: 4 });
          void writer.write({ n: 5 });
          setTimeout(() => writer.end(), 20);
        }, 20);
        return;
      }
      const writer = openSseStream(res);
      const big = { text: "x".repeat(64 * 1024) };
      written = 0;
      finished = (async () => {
        while (written < 400) {
          await writer.write(big);
          written++;
        }
        writer.end();
      })();
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it("writes every frame made in the same event-loop turn in one chunk of the body", async () => {
    const chunks = await rawChunks(port, "/turns");
    expect(chunks).toEqual(['data: {"n":1}\r\n\r\ndata: {"n":2}\r\n\r\ndata: {"n":3}\r\n\r\n', 'data: {"n":4}\r\n\r\ndata: {"n":5}\r\n\r\n']);
  });

  it("stops taking items while the reader does not read, and resumes when it does", async () => {
    const socket = net.connect(port, "127.0.0.1", () => socket.write("GET /slow HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
    socket.pause();
    await new Promise((resolve) => setTimeout(resolve, 300));
    const stalled = written;
    expect(stalled).toBeGreaterThan(0);
    expect(stalled).toBeLessThan(200); // 400 × 64 KiB would be 25 MiB buffered
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(written).toBe(stalled);
    socket.resume();
    socket.on("data", () => {});
    await finished;
    expect(written).toBe(400);
    socket.destroy();
  });
});
