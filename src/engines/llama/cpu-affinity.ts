import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { environment } from "../../base/config.js";
import { findExecutable } from "../executables.js";

/**
 * Pinning a one-thread runner to one CPU. node-llama-cpp hands each token between a worker thread
 * and the main thread; on a VM whose idle CPUs halt, a hand-off across CPUs wakes one, which costs
 * more than a tiny model's decode step. Runners with more threads are left to the scheduler.
 * Figures: docs/performance.md.
 */
export type PinMode = "auto" | "off";

/** Parses a Linux CPU list ("0-3,6"). */
export function parseCpuList(list: string): number[] {
  const cpus: number[] = [];
  for (const part of list.trim().split(",")) {
    const [from, to] = part.split("-").map((n) => Number(n));
    if (from === undefined || !Number.isInteger(from)) continue;
    const last = to === undefined ? from : to;
    for (let cpu = from; cpu <= last; cpu++) cpus.push(cpu);
  }
  return cpus;
}

/** The CPUs this process may run on (Linux), or undefined where that cannot be read. */
export function allowedCpus(): number[] | undefined {
  try {
    const line = /^Cpus_allowed_list:\s*(.+)$/m.exec(readFileSync("/proc/self/status", "utf8"));
    return line?.[1] ? parseCpuList(line[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** The `taskset` program on PATH (util-linux), or undefined. */
export function findTaskset(searchPath = environment.searchPath()): string | undefined {
  return findExecutable("taskset", searchPath);
}

let usable: string | undefined | null = null;

/**
 * `taskset`, if it can set an affinity here (a sandbox may forbid sched_setaffinity, and a
 * runner that cannot start would fail the model's load): tried once per process.
 */
export function usableTaskset(cpu: number): string | undefined {
  if (usable !== null) return usable;
  usable = findTaskset();
  if (usable) {
    try {
      execFileSync(usable, ["--cpu-list", String(cpu), "true"], { stdio: "ignore", timeout: 5000 });
    } catch {
      usable = undefined;
    }
  }
  return usable;
}

let runnersPinned = 0;

/**
 * The CPU for the next runner with `threads` llama.cpp threads, or undefined when it is not
 * pinned (mode off, more than one thread, fewer than two CPUs, or no way to pin). Runners are
 * spread over the allowed CPUs, starting at one picked by this process's id, so that several
 * servers on one machine do not all start on the same CPU.
 */
export function cpuForRunner(
  mode: PinMode,
  threads: number,
  machine?: { cpus: number[] | undefined; taskset: string | undefined },
): number | undefined {
  if (mode === "off" || threads !== 1) return undefined;
  const cpus = machine ? machine.cpus : allowedCpus();
  const taskset = machine ? machine.taskset : cpus?.[0] === undefined ? undefined : usableTaskset(cpus[0]);
  if (!cpus || cpus.length < 2 || !taskset) return undefined;
  return cpus[(process.pid + runnersPinned++) % cpus.length];
}
