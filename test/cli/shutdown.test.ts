import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, readdir, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { GoogleGenAI } from "@google/genai";
import { describe, expect, it } from "vitest";
import { machineTag } from "../../src/engines/state-dirs.js";
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

  it("a server killed with cached contents alive leaves their states; the next server on the machine removes them, and nothing else", async () => {
    const cacheDir = await mkdtemp(path.join(os.tmpdir(), "genai-local-orphans-test-"));
    // Not to be touched: another machine's (or boot's), a running process's, a name of another form.
    const kept = [`genai-local-kv-00000000-999999-aaaaaaaaaaaaaaaa`, `genai-local-kv-${machineTag()}-${process.pid}-bbbbbbbbbbbbbbbb`, "genai-local-kv-cccccccccccccccc"];
    for (const name of kept) await mkdir(path.join(cacheDir, name));
    try {
      const killed = await spawnServer(["--cache-dir", cacheDir]);
      const runners = childrenOf(killed.child.pid!);
      await new GoogleGenAI({ apiKey: "k", httpOptions: { baseUrl: killed.url } }).caches.create({ model: "stories-260k", config: { contents: "A cached story.\n" } });
      const own = (await readdir(cacheDir)).filter((name) => !kept.includes(name));
      expect(own).toEqual([expect.stringMatching(new RegExp(`^genai-local-kv-${machineTag()}-${killed.child.pid}-`))]);
      expect((await readdir(path.join(cacheDir, own[0]!))).length).toBe(1); // the saved state
      const exited = new Promise((resolve) => killed.child.on("exit", resolve));
      killed.child.kill("SIGKILL");
      await exited;
      await waitFor(async () => runners.every((pid) => !alive(pid))); // its runner goes when it loses the server
      expect((await readdir(cacheDir)).sort()).toEqual([...kept, own[0]!].sort());

      const next = await spawnServer(["--cache-dir", cacheDir]);
      expect((await readdir(cacheDir)).sort()).toEqual([...kept].sort());
      expect(next.stderr()).toContain(own[0]!);
      const stopped = new Promise((resolve) => next.child.on("exit", resolve));
      next.child.kill("SIGTERM");
      expect(await stopped).toBe(0);
      expect((await readdir(cacheDir)).sort()).toEqual([...kept].sort());
    } finally {
      await rm(cacheDir, { recursive: true, force: true });
    }
  });
});
