import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { environment } from "../../base/config.js";
import { findExecutable, isExecutable } from "../executables.js";

const run = promisify(execFile);

export const LLAMA_SERVER_NAME = process.platform === "win32" ? "llama-server.exe" : "llama-server";

/** Where `genai-local engine build` puts the binary it compiled, under the data directory. */
export function installedBinaryPath(dataDir: string): string {
  return path.join(dataDir, "engines", "llama-server", LLAMA_SERVER_NAME);
}

/** Where a binary came from: how `--engine auto` explains its choice. */
export type BinarySource = "--llama-server" | "GENAI_LOCAL_LLAMA_SERVER" | "PATH" | "engine build";

export interface FoundBinary {
  path: string;
  source: BinarySource;
}

export interface BinarySearch {
  /** `--llama-server PATH` (commander folds GENAI_LOCAL_LLAMA_SERVER into it; `fromEnv` says which). */
  explicit?: string;
  fromEnv?: boolean;
  /** The data directory `engine build` installs under. */
  dataDir?: string;
  /** The PATH to search (default: this process's). */
  pathEnv?: string;
}

/**
 * The llama-server binary to run, in order: the one named (option or environment), `llama-server`
 * on PATH, the one `engine build` installed. A binary that is named but missing is an error, not a
 * fallback: the user asked for that one.
 */
export function findLlamaServer(search: BinarySearch): FoundBinary | undefined {
  if (search.explicit) {
    const named = path.resolve(search.explicit);
    const source: BinarySource = search.fromEnv ? "GENAI_LOCAL_LLAMA_SERVER" : "--llama-server";
    if (!isExecutable(named)) throw new Error(`${source} names ${named}, which is not an executable file.`);
    return { path: named, source };
  }
  const found = findExecutable(LLAMA_SERVER_NAME, search.pathEnv ?? environment.searchPath());
  if (found) return { path: found, source: "PATH" };
  const installed = search.dataDir ? installedBinaryPath(search.dataDir) : undefined;
  if (installed && isExecutable(installed)) return { path: installed, source: "engine build" };
  return undefined;
}

/** What `llama-server --version` says (`version: 1 (de3ff81)`), for the start-up log; "unknown" if it says nothing readable. */
export async function binaryVersion(binary: string): Promise<string> {
  try {
    const { stdout, stderr } = await run(binary, ["--version"], { timeout: 10_000 });
    const line = `${stdout}\n${stderr}`.split("\n").find((l) => l.startsWith("version:"));
    return line ? line.slice("version:".length).trim() : "unknown";
  } catch {
    return "unknown";
  }
}
