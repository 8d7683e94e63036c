import { describe, expect, it } from "vitest";
// The page's own module: plain ES, and Node 20 has the fetch-era globals it uses.
import { ApiProblem, sseEvents } from "../../web/api.js";

/** A body delivered in the given pieces, as a network might split it. */
const body = (...pieces: string[]) =>
  new ReadableStream<Uint8Array>({
    start(controller) {
      for (const piece of pieces) controller.enqueue(new TextEncoder().encode(piece));
      controller.close();
    },
  });

const collect = async (stream: ReadableStream<Uint8Array>) => {
  const out: unknown[] = [];
  for await (const event of sseEvents(stream)) out.push(event);
  return out;
};

describe("the page's SSE parser", () => {
  it("splits events on blank lines, whatever the line endings and however the bytes arrive", async () => {
    const wire = 'data: {"a":1}\r\n\r\ndata: {"b":"é"}\n\n: a comment\r\n\r\ndata: {"c":3}\r\n\r\n';
    const bytes = new TextEncoder().encode(wire);
    const whole = await collect(body(wire));
    expect(whole).toEqual([{ a: 1 }, { b: "é" }, { c: 3 }]);
    // Every split point, including inside \r\n\r\n and inside the two-byte é.
    for (let at = 1; at < bytes.length; at++) {
      const stream = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(bytes.slice(0, at));
          controller.enqueue(bytes.slice(at));
          controller.close();
        },
      });
      expect(await collect(stream)).toEqual(whole);
    }
  });

  it("joins multi-line data, reads a last event without its blank line, and rejects data that is not JSON", async () => {
    expect(await collect(body('data: {"x":\ndata: 1}\n\ndata:{"y":2}'))).toEqual([{ x: 1 }, { y: 2 }]);
    await expect(collect(body("data: <html>\n\n"))).rejects.toBeInstanceOf(ApiProblem);
  });
});
