import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { jsonLine, openJsonArrayStream, openSseStream } from "../../src/http/sse.js";

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
