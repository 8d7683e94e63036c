import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { defaultThreads, physicalCores } from "../../src/engines/threads.js";

const MiB = 1024 * 1024;
const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

/** A fake /sys/devices/system/cpu whose CPUs have these thread_siblings_list values. */
function sysfs(siblings: string[]): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), "cpus-"));
  dirs.push(dir);
  siblings.forEach((list, i) => {
    mkdirSync(path.join(dir, `cpu${i}`, "topology"), { recursive: true });
    writeFileSync(path.join(dir, `cpu${i}`, "topology", "thread_siblings_list"), `${list}\n`);
  });
  mkdirSync(path.join(dir, "cpufreq"));
  return dir;
}

describe("default threads", () => {
  it("gives a tiny model one thread; a larger one every core but one on node-llama-cpp, every core on llama-server", () => {
    expect(defaultThreads(1 * MiB, "node-llama-cpp", 16)).toBe(1);
    expect(defaultThreads(1 * MiB, "llama-server", 16)).toBe(1);
    expect(defaultThreads(98 * MiB, "node-llama-cpp", 2)).toBe(1);
    expect(defaultThreads(98 * MiB, "node-llama-cpp", 8)).toBe(7);
    expect(defaultThreads(98 * MiB, "node-llama-cpp", 1)).toBe(1);
    expect(defaultThreads(98 * MiB, "llama-server", 2)).toBe(2);
    expect(defaultThreads(98 * MiB, "llama-server", 8)).toBe(8);
  });

  it("counts physical cores: SMT siblings share one", () => {
    const logical = os.availableParallelism();
    // Every CPU its own core: all logical CPUs.
    expect(physicalCores(sysfs(Array.from({ length: logical }, (_, i) => String(i))))).toBe(logical);
    // Pairs of siblings: half of them (at least one).
    const pairs = Array.from({ length: logical }, (_, i) => `${i - (i % 2)},${i - (i % 2) + 1}`);
    expect(physicalCores(sysfs(pairs))).toBe(Math.max(1, Math.round(logical / 2)));
    expect(physicalCores("/nonexistent")).toBe(logical);
  });
});
