import { spawn, type ChildProcess } from "node:child_process";
import { llamaServerBinary } from "./llama-server.js";
import { onLlamaServer, repoRoot } from "./server.js";

export interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
  /** When each stdout line arrived, ms since the start. */
  lines: { at: number; text: string }[];
}

/** Ends whatever is left of a process group; one already gone is fine. */
function killGroup(pgid: number | undefined): void {
  if (pgid === undefined) return;
  try {
    process.kill(-pgid, "SIGKILL");
  } catch {
    // nothing left
  }
}

/**
 * Runs a command to its end (killed after timeoutMs), keeping the arrival time of each line. It runs
 * in a process group of its own, ended with it, so that nothing it started (a server, a runner, the
 * node behind tsx) outlives it, also when it fails or runs out of time.
 */
export function runToEnd(
  command: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<Finished> {
  const child = spawn(command, args, { cwd: repoRoot, env: { ...process.env, ...options.env }, stdio: ["ignore", "pipe", "pipe"], detached: true });
  return collect(child, options.timeoutMs ?? 60_000);
}

function collect(child: ChildProcess, timeoutMs: number): Promise<Finished> {
  const started = Date.now();
  const result: Finished = { code: null, stdout: "", stderr: "", lines: [] };
  let partial = "";
  child.stdout!.on("data", (data: Buffer) => {
    result.stdout += data.toString();
    const pieces = (partial + data.toString()).split("\n");
    partial = pieces.pop() ?? "";
    for (const text of pieces) result.lines.push({ at: Date.now() - started, text });
  });
  child.stderr!.on("data", (data: Buffer) => (result.stderr += data.toString()));
  const timer = setTimeout(() => killGroup(child.pid), timeoutMs);
  return new Promise((resolve) => {
    child.on("close", (code) => {
      clearTimeout(timer);
      killGroup(child.pid);
      result.code = code;
      resolve(result);
    });
  });
}

/** Starts `genai-local serve` as its own process and resolves once it prints its URL. */
export async function spawnServer(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ url: string; child: ChildProcess; stderr: () => string }> {
  // The tiny story model unless the test names its models (the CLI's own default is the chat model).
  const models = args.some((a) => a === "--model" || a === "--upstream") ? [] : ["--model", "stories-260k=stories260K.gguf"];
  // GENAI_LOCAL_TEST_ENGINE=llama-server: the CLI finds the binary as a user's does, under --engine auto (an env a test gives wins).
  const engine = onLlamaServer ? { GENAI_LOCAL_LLAMA_SERVER: llamaServerBinary } : {};
  const child = spawn(process.execPath, ["dist/cli/main.js", "serve", "--port", "0", "--threads", "1", ...models, ...args], {
    cwd: repoRoot,
    env: { ...process.env, ...engine, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr!.on("data", (data: Buffer) => (stderr += data.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    let stdout = "";
    child.stdout!.on("data", (data: Buffer) => {
      stdout += data.toString();
      const match = /listening on (http:\/\/\S+)/.exec(stdout);
      if (match?.[1]) resolve(match[1]);
    });
    child.on("exit", (code) => reject(new Error(`server exited with ${code}: ${stderr}`)));
  });
  return { url, child, stderr: () => stderr };
}
