import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { allowedCpus, cpuForRunner, findTaskset, parseCpuList } from "../../src/engines/llama/cpu-affinity.js";
import { spawnServer } from "../support/process.js";

const cpusOf = (pid: number): number[] =>
  parseCpuList(/^Cpus_allowed_list:\s*(.+)$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]!);
const threadCpus = (pid: number): number[][] =>
  execFileSync("ls", [`/proc/${pid}/task`]).toString().trim().split("\n").map((tid) => cpusOf(Number(tid)));
const runnerOf = (pid: number): number => Number(execFileSync("pgrep", ["-P", String(pid)]).toString().trim().split("\n")[0]);

describe("pinning one-thread runners", () => {
  it("reads Linux CPU lists", () => {
    expect(parseCpuList("0-3,6,8-9\n")).toEqual([0, 1, 2, 3, 6, 8, 9]);
    expect(parseCpuList("5")).toEqual([5]);
  });

  it("pins only one-thread runners, only with two CPUs or more and a way to pin, spreading them", () => {
    const taskset = "/usr/bin/taskset";
    const two = { cpus: [0, 1], taskset };
    expect(cpuForRunner("auto", 1, two)).toBeDefined();
    expect(cpuForRunner("off", 1, two)).toBeUndefined();
    expect(cpuForRunner("auto", 2, two)).toBeUndefined();
    expect(cpuForRunner("auto", 1, { cpus: [3], taskset })).toBeUndefined();
    expect(cpuForRunner("auto", 1, { cpus: undefined, taskset })).toBeUndefined();
    expect(cpuForRunner("auto", 1, { cpus: [0, 1], taskset: undefined })).toBeUndefined();
    const four = { cpus: [4, 5, 6, 7], taskset };
    const picked = [0, 1, 2, 3].map(() => cpuForRunner("auto", 1, four));
    expect([...picked].sort()).toEqual([4, 5, 6, 7]);
  });

  const canPin = process.platform === "linux" && findTaskset() !== undefined && (allowedCpus()?.length ?? 0) >= 2;

  it.runIf(canPin)("a served tiny model's runner runs, every thread of it, on one CPU; with --pin off on all", async () => {
    const pinned = await spawnServer([]);
    const free = await spawnServer(["--pin", "off"]);
    try {
      const all = allowedCpus()!;
      const threads = threadCpus(runnerOf(pinned.child.pid!));
      expect(threads.length).toBeGreaterThan(1); // node's own threads and llama.cpp's
      expect(new Set(threads.map((cpus) => cpus.join(","))).size).toBe(1);
      expect(threads[0]).toHaveLength(1);
      expect(all).toContain(threads[0]![0]);
      // The server itself is not pinned: it and the clients use the other CPUs.
      expect(cpusOf(pinned.child.pid!)).toEqual(all);
      expect(threadCpus(runnerOf(free.child.pid!)).every((cpus) => cpus.join() === all.join())).toBe(true);

      const response = await fetch(`${pinned.url}/v1beta/models/stories-260k:generateContent`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ contents: [{ parts: [{ text: "Once upon a time" }] }], generationConfig: { maxOutputTokens: 8 } }),
      });
      expect(response.status).toBe(200);
      expect((await response.json()).usageMetadata.candidatesTokenCount).toBeGreaterThan(0);
    } finally {
      pinned.child.kill("SIGTERM");
      free.child.kill("SIGTERM");
      await Promise.all([pinned, free].map(({ child }) => new Promise((resolve) => (child.exitCode !== null ? resolve(null) : child.once("exit", resolve)))));
    }
  });
});
