import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { lstat, readdir, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { randomId } from "../base/random-id.js";

/**
 * Where a server keeps the saved KV states of its cached contents: a directory of its own,
 * `genai-local-kv-<machine>-<pid>-<random>`. The server removes it when it closes; one killed or
 * crashed cannot, and the states of a real model's long cached contents run to gigabytes. So the
 * name says whose it is — this machine and boot (a hash of the host name and the boot id) and the
 * server's process id — and a server starting later removes the directories of servers of the same
 * machine that are no longer running. Another machine's or another boot's directories, and ones
 * named otherwise, are never touched.
 */
const PREFIX = "genai-local-kv-";

/** Directories handed out in this process and not yet given back: its servers' live ones. */
const live = new Set<string>();

let tag: string | undefined;

/** This machine and boot, as 8 hex digits. */
export function machineTag(): string {
  if (tag) return tag;
  let bootId = "";
  try {
    bootId = readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
  } catch {
    // no /proc (macOS, Windows): the host name alone
  }
  tag = createHash("sha256").update(`${os.hostname()}\n${bootId}`).digest("hex").slice(0, 8);
  return tag;
}

/** A new state directory's path under `parent` (not made: the runner that saves the first state makes it). */
export function newStateDir(parent: string): string {
  const dir = path.join(parent, `${PREFIX}${machineTag()}-${process.pid}-${randomId(12)}`);
  live.add(dir);
  return dir;
}

/** Removes a state directory and everything in it. */
export async function removeStateDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  live.delete(dir);
}

function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM"; // someone else's process: running
  }
}

/**
 * Removes the state directories under `parent` that servers of this machine and boot left behind:
 * their process is gone, or it is this process (a container's server is often pid 1 on every start)
 * and the directory is not one of its live servers'. Only directories owned by this user. Returns
 * the names removed.
 */
export async function removeOrphanedStateDirs(parent: string): Promise<string[]> {
  const pattern = new RegExp(`^${PREFIX}${machineTag()}-(\\d+)-[A-Za-z0-9_-]+$`);
  const entries = await readdir(parent, { withFileTypes: true }).catch(() => []);
  const removed: string[] = [];
  for (const entry of entries) {
    const pid = Number(pattern.exec(entry.name)?.[1] ?? Number.NaN);
    if (!entry.isDirectory() || !Number.isSafeInteger(pid)) continue;
    const dir = path.join(parent, entry.name);
    if (pid === process.pid ? live.has(dir) : running(pid)) continue;
    const owner = (await lstat(dir).catch(() => undefined))?.uid;
    if (owner === undefined || (process.getuid && owner !== process.getuid())) continue;
    await rm(dir, { recursive: true, force: true });
    removed.push(entry.name);
  }
  return removed;
}
