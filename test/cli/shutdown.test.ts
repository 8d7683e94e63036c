import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { spawnServer } from "../support/process.js";
import { metricValue, waitFor } from "../support/server.js";
import { postStream, readEvents, storyRequest } from "../support/sse.js";

const childrenOf = (pid: number): number[] => {
  try {
    return execFileSync("pgrep", ["-P", String(pid)]).toString().trim().split("\n").filter(Boolean).map(Number);
  } catch {
    return [];
  }
};
const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe("graceful shutdown", () => {
  it("SIGTERM during 8 streams: each ends with its last chunk or a clean 503 event; exit 0; no runner left", async () => {
    const server = await spawnServer(["--parallel", "4", "--drain-timeout", "1"]);
    const runners = childrenOf(server.child.pid!);
    expect(runners.length).toBe(1);

    // Half are short and finish; the long ones and the queued ones are still running at SIGTERM.
    const results = Array.from({ length: 8 }, async (_, i) => {
      const response = await postStream(server.url, storyRequest(i % 2 === 0 ? 40 : 1900));
      if (response.status !== 200) return { status: response.status, body: await response.json(), events: undefined };
      return { status: 200, events: await readEvents(response) };
    });
    await waitFor(async () => (await metricValue(server.url, "genai_local_active_streams")) === 4);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const exited = new Promise<number | null>((resolve) => server.child.on("exit", (code) => resolve(code)));
    server.child.kill("SIGTERM");

    let finished = 0;
    let ended = 0;
    for (const result of await Promise.all(results)) {
      if (result.status === 200) {
        const last = result.events!.at(-1)!.data;
        if (last.error) {
          expect(last.error).toMatchObject({ code: 503, status: "UNAVAILABLE" });
          ended++;
        } else {
          expect(last.candidates[0].finishReason).toMatch(/STOP|MAX_TOKENS/);
          finished++;
        }
      } else {
        // still waiting for a free stream when the server stopped
        expect(result.status).toBe(503);
        expect(result.body.error.status).toBe("UNAVAILABLE");
        ended++;
      }
    }
    expect(finished + ended).toBe(8);
    expect(finished).toBeGreaterThan(0);
    expect(ended).toBeGreaterThan(0);
    expect(await exited).toBe(0);
    for (const pid of runners) expect(alive(pid)).toBe(false);
  });
});
