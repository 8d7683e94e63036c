import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, utimes } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { SOCKET_DIR_PREFIX, SOCKET_NAME, sweepStaleSocketDirs } from "../../src/engines/llama-server/server-process.js";

let parent: string;
let listener: Server | undefined;
afterEach(async () => {
  await new Promise((resolve) => (listener ? listener.close(resolve) : resolve(undefined)));
  listener = undefined;
  await rm(parent, { recursive: true, force: true });
});

/** A socket directory as a llama-server child has it, `ageS` seconds old. */
async function socketDir(name: string, ageS: number, listens = false): Promise<string> {
  const dir = path.join(parent, `${SOCKET_DIR_PREFIX}${name}`);
  await mkdir(dir, { mode: 0o700 });
  if (listens) {
    listener = createServer();
    await new Promise<void>((resolve) => listener!.listen(path.join(dir, SOCKET_NAME), resolve));
  }
  const at = new Date(Date.now() - ageS * 1000);
  await utimes(dir, at, at);
  return dir;
}

describe("llama-server socket directories", () => {
  it("a stale one (old, nothing listening) is removed; a live one, a new one and other names are kept", async () => {
    parent = await mkdtemp(path.join(os.tmpdir(), "genai-local-sockets-test-"));
    const stale = await socketDir("stale", 600);
    const live = await socketDir("live", 600, true);
    const starting = await socketDir("starting", 1);
    const other = path.join(parent, "genai-local-kv-other");
    await mkdir(other);
    await sweepStaleSocketDirs(parent);
    expect(existsSync(stale)).toBe(false);
    expect([live, starting, other].map(existsSync)).toEqual([true, true, true]);
  });
});
