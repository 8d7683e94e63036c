import { spawn } from "node:child_process";
import { chmod, copyFile, mkdir, rename, rm } from "node:fs/promises";
import { existsSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { createRequire } from "node:module";
import { binaryVersion, installedBinaryPath, LLAMA_SERVER_NAME } from "./binary.js";

/**
 * `genai-local engine build`: llama-server compiled from the llama.cpp source node-llama-cpp
 * ships (a git bundle in its package), so the engine matches the llama.cpp the package was made
 * with, and installed under the data directory, where `--engine auto` finds it.
 */

/** node-llama-cpp's copy of the llama.cpp source: `llama/gitRelease.bundle` in its package. */
export function sourceBundlePath(): string {
  const entry = createRequire(import.meta.url).resolve("node-llama-cpp");
  let dir = path.dirname(entry);
  while (!existsSync(path.join(dir, "package.json")) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  return path.join(dir, "llama", "gitRelease.bundle");
}

/** ninja's `[12/214] Building CXX object …` as done and total; undefined for any other line. */
export function ninjaProgress(line: string): { done: number; total: number } | undefined {
  const match = /^\[(\d+)\/(\d+)\]/.exec(line.trim());
  if (!match) return undefined;
  return { done: Number(match[1]), total: Number(match[2]) };
}

/** A static, CPU-tuned Release build without curl or TLS (it serves loopback HTTP only). */
export const CMAKE_FLAGS = [
  "-G", "Ninja",
  "-DCMAKE_BUILD_TYPE=Release",
  "-DGGML_NATIVE=ON",
  "-DLLAMA_CURL=OFF",
  "-DLLAMA_OPENSSL=OFF",
  "-DBUILD_SHARED_LIBS=OFF",
  "-DLLAMA_BUILD_TESTS=OFF",
  "-DLLAMA_BUILD_EXAMPLES=OFF",
];

export interface BuildOptions {
  /** The data directory the binary is installed under (see installedBinaryPath). */
  dataDir: string;
  /** Where the source is cloned and built (default: a new temp directory, removed afterwards). */
  workDir?: string;
  /** Compile jobs (default: ninja's own). */
  jobs?: number;
  /** Each of ninja's [n/m] steps. */
  onProgress?: (done: number, total: number) => void;
  /** Every other line the tools print (configure output, warnings, errors). */
  onLine?: (line: string) => void;
  /** The phase starting: clone, configure, compile, install. */
  onPhase?: (phase: "clone" | "configure" | "compile" | "install") => void;
}

export interface BuildResult {
  binary: string;
  version: string;
  seconds: number;
}

/** Runs a command, handing each output line to `onLine`; rejects with the last lines when it fails. */
function runTool(command: string, args: string[], onLine: (line: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
    const tail: string[] = [];
    const reader = (): ((data: Buffer) => void) => {
      let partial = "";
      return (data) => {
        const lines = (partial + data.toString()).split(/\r?\n/);
        partial = lines.pop() ?? "";
        for (const line of lines) {
          tail.push(line);
          if (tail.length > 20) tail.shift();
          onLine(line);
        }
      };
    };
    child.stdout.on("data", reader());
    child.stderr.on("data", reader());
    child.once("error", (error) => reject(new Error(`${command} could not be started (${error.message}); is it installed?`)));
    child.once("close", (code) => {
      if (code === 0) resolve();
      else reject(new Error(`${command} ${args.slice(0, 2).join(" ")} failed (exit code ${code}):\n${tail.join("\n")}`));
    });
  });
}

/** Copies the built binary into place through a temporary name, so a running server never sees half a file. */
export async function installBinary(built: string, dataDir: string): Promise<string> {
  const target = installedBinaryPath(dataDir);
  await mkdir(path.dirname(target), { recursive: true });
  const temporary = `${target}.${process.pid}.tmp`;
  await copyFile(built, temporary);
  await chmod(temporary, 0o755);
  await rename(temporary, target);
  return target;
}

export async function buildLlamaServer(options: BuildOptions): Promise<BuildResult> {
  const started = Date.now();
  const workDir = options.workDir ?? path.join(os.tmpdir(), `genai-local-llama-build-${process.pid}`);
  const ownsWorkDir = options.workDir === undefined;
  const source = path.join(workDir, "llama.cpp");
  const build = path.join(workDir, "build");
  const onLine = options.onLine ?? (() => {});
  try {
    options.onPhase?.("clone");
    if (!existsSync(path.join(source, "CMakeLists.txt"))) {
      await mkdir(workDir, { recursive: true });
      await runTool("git", ["clone", "--quiet", sourceBundlePath(), source], onLine);
    }
    options.onPhase?.("configure");
    await runTool("cmake", ["-S", source, "-B", build, ...CMAKE_FLAGS], onLine);
    options.onPhase?.("compile");
    const jobs = options.jobs === undefined ? [] : ["--parallel", String(options.jobs)];
    await runTool("cmake", ["--build", build, "--target", "llama-server", ...jobs], (line) => {
      const step = ninjaProgress(line);
      if (step) options.onProgress?.(step.done, step.total);
      else onLine(line);
    });
    options.onPhase?.("install");
    const binary = await installBinary(path.join(build, "bin", LLAMA_SERVER_NAME), options.dataDir);
    return { binary, version: await binaryVersion(binary), seconds: (Date.now() - started) / 1000 };
  } finally {
    if (ownsWorkDir) await rm(workDir, { recursive: true, force: true });
  }
}
