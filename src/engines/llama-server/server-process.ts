import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { createServer } from "node:net";
import { request } from "undici";
import { EngineError } from "../engine.js";
import { findExecutable } from "../executables.js";
import { usableTaskset } from "../llama/cpu-affinity.js";

export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ServerProcessOptions {
  binary: string;
  /** Everything but --host and --port, which the supervisor chooses. */
  args: string[];
  /** What the process serves, for messages ("llama-server for smollm2"). */
  label: string;
  /** Longest wait for the model to load and /health to answer 200. */
  startTimeoutMs?: number;
  /** Pin the process (all its threads) to this CPU with `taskset`, as a one-thread node-llama-cpp runner is (see cpu-affinity). */
  cpu?: number;
}

/** Every llama-server this process started and has not seen exit: ended when this process exits. */
const live = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // 'exit' runs for process.exit() and a normal end; signals the server handles end in close().
  process.once("exit", () => {
    for (const child of live) child.kill("SIGKILL");
  });
}

/** setpriv (util-linux) on Linux: it asks the kernel to kill the child when its parent dies, even by SIGKILL. */
const SETPRIV = process.platform === "linux" ? findExecutable("setpriv", ["/usr/bin", "/bin"].join(path.delimiter)) : undefined;

/** A free loopback port, found by binding port 0 and letting it go; a lost race shows up as a failed start, which is retried. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * One llama-server child: started on a free loopback port, ready once /health says so, ended by
 * kill() or with this process. `exited` settles when the child is gone, however it went.
 */
export class LlamaServerProcess {
  readonly exited: Promise<ProcessExit>;
  private exit: ProcessExit | undefined;
  /** The end of what the child wrote to stderr: the reason when it fails to start. */
  private stderrTail = "";

  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
    private readonly label: string,
  ) {
    live.add(child);
    this.exited = new Promise((resolve) => {
      child.once("exit", (code, signal) => {
        live.delete(child);
        this.exit = { code, signal };
        resolve(this.exit);
      });
    });
    child.stderr?.on("data", (data: Buffer) => {
      this.stderrTail = (this.stderrTail + data.toString()).slice(-4000);
    });
    child.stdout?.resume();
  }

  /** Starts the binary and waits until it serves; a start that lost its port to another process is tried again once. */
  static async start(options: ServerProcessOptions): Promise<LlamaServerProcess> {
    installExitHook();
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      const args = [...options.args, "--host", "127.0.0.1", "--port", String(port)];
      // Found and tried once per process, when cpuForRunner chose the CPU; taskset and setpriv exec, so the pid is llama-server's.
      const taskset = options.cpu === undefined ? undefined : usableTaskset(options.cpu);
      const [command, ...rest] = taskset ? [taskset, "--cpu-list", String(options.cpu), options.binary, ...args] : [options.binary, ...args];
      // Its own process group: a terminal's Ctrl-C reaches the server, which then ends its children.
      const child = SETPRIV
        ? spawn(SETPRIV, ["--pdeathsig", "KILL", "--", command!, ...rest], { stdio: ["ignore", "pipe", "pipe"], detached: true })
        : spawn(command!, rest, { stdio: ["ignore", "pipe", "pipe"], detached: true });
      const started = new LlamaServerProcess(child, port, options.label);
      try {
        await started.waitUntilHealthy(options.startTimeoutMs ?? 300_000);
        return started;
      } catch (error) {
        await started.kill();
        if (attempt < 2 && started.stderrTail.includes("couldn't bind")) continue;
        throw error;
      }
    }
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Whether the child has exited, or does within `ms` (a dropped connection can arrive before the exit is seen). */
  async exitsWithin(ms: number): Promise<ProcessExit | undefined> {
    if (this.exit) return this.exit;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), ms);
    });
    const result = await Promise.race([this.exited, timeout]);
    clearTimeout(timer);
    return result;
  }

  private async waitUntilHealthy(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const spawnFailed = new Promise<never>((_, reject) => this.child.once("error", (error) => reject(new EngineError(`Could not start the llama-server for ${this.label}: ${error.message}`))));
    spawnFailed.catch(() => {});
    while (Date.now() < deadline) {
      if (this.exit) throw this.startFailure(`exited (${this.exit.signal ?? `code ${this.exit.code}`}) while loading`);
      const healthy = await Promise.race([this.healthy(), spawnFailed]);
      if (healthy) return;
      await delay(100);
    }
    throw this.startFailure(`did not answer /health within ${Math.round(timeoutMs / 1000)} s`);
  }

  private async healthy(): Promise<boolean> {
    try {
      const response = await request(`${this.baseUrl}/health`, { signal: AbortSignal.timeout(2_000) });
      await response.body.dump();
      return response.statusCode === 200;
    } catch {
      return false; // not listening yet
    }
  }

  private startFailure(what: string): EngineError {
    const lines = this.stderrTail.split("\n").filter((line) => /error|failed|couldn't|unknown|invalid/i.test(line));
    const reason = lines.slice(-3).join(" | ").trim();
    return new EngineError(`The llama-server for ${this.label} ${what}${reason ? `: ${reason}` : "."}`);
  }

  /** SIGTERM, then SIGKILL if it is still there after `graceMs`. */
  async kill(graceMs = 5_000): Promise<void> {
    if (this.exit) return;
    this.child.kill("SIGTERM");
    const timer = setTimeout(() => this.child.kill("SIGKILL"), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}
