import { spawn, type ChildProcess } from "node:child_process";
import { lstat, mkdtemp, readdir, rm } from "node:fs/promises";
import { connect } from "node:net";
import os from "node:os";
import path from "node:path";
import { Agent, request } from "undici";
import { EngineError } from "../engine.js";
import { findExecutable } from "../executables.js";
import { usableTaskset } from "../llama/cpu-affinity.js";

export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ServerProcessOptions {
  binary: string;
  /** Everything but --host, which the supervisor chooses. */
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

export const SOCKET_DIR_PREFIX = "genai-local-llama-";
export const SOCKET_NAME = "llama-server.sock";
/** A llama-server binds its socket within moments of starting; a directory this old without a listener is stale. */
const STALE_AFTER_MS = 60_000;
let staleSwept: Promise<void> | undefined;

/** Whether something listens on the Unix socket at `socketPath`. */
function listening(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(socketPath);
    socket.once("connect", () => (socket.destroy(), resolve(true)));
    socket.once("error", () => resolve(false));
  });
}

/**
 * Removes the socket directories of llama-servers that are gone without removing theirs (their
 * server was killed with SIGKILL, and they with it): this user's, where nothing listens any more,
 * and not new (another server's llama-server may be starting in one).
 */
export async function sweepStaleSocketDirs(parent: string): Promise<void> {
  const entries = await readdir(parent, { withFileTypes: true }).catch(() => []);
  for (const entry of entries) {
    if (!entry.isDirectory() || !entry.name.startsWith(SOCKET_DIR_PREFIX)) continue;
    const dir = path.join(parent, entry.name);
    const stat = await lstat(dir).catch(() => undefined);
    if (!stat || (process.getuid && stat.uid !== process.getuid()) || Date.now() - stat.mtimeMs < STALE_AFTER_MS) continue;
    if (!(await listening(path.join(dir, SOCKET_NAME)))) await rm(dir, { recursive: true, force: true }).catch(() => {});
  }
}

const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * One llama-server child: listening on a Unix socket in a directory only this user can enter (so no
 * other local user reaches the model or its slots, and a request skips loopback TCP), ready once
 * /health says so, ended by kill() or with this process. `exited` settles when the child is gone,
 * however it went, and its socket's directory with it.
 */
export class LlamaServerProcess {
  readonly exited: Promise<ProcessExit>;
  private exit: ProcessExit | undefined;
  /** The end of what the child wrote to stderr: the reason when it fails to start. */
  private stderrTail = "";

  /** For /health while it starts. */
  private readonly agent: Agent;

  private constructor(
    private readonly child: ChildProcess,
    /** Where it listens; requests to it go to `baseUrl` through a dispatcher connecting here. */
    readonly socketPath: string,
    private readonly label: string,
  ) {
    live.add(child);
    this.agent = new Agent({ connect: { socketPath, timeout: 5_000 }, pipelining: 0 });
    this.exited = new Promise((resolve) => {
      child.once("exit", (code, signal) => {
        live.delete(child);
        this.exit = { code, signal };
        void this.agent.close().catch(() => {});
        void rm(path.dirname(socketPath), { recursive: true, force: true }).finally(() => resolve({ code, signal }));
      });
    });
    child.stderr?.on("data", (data: Buffer) => {
      this.stderrTail = (this.stderrTail + data.toString()).slice(-4000);
    });
    child.stdout?.resume();
  }

  /** Starts the binary and waits until it serves. */
  static async start(options: ServerProcessOptions): Promise<LlamaServerProcess> {
    installExitHook();
    await (staleSwept ??= sweepStaleSocketDirs(os.tmpdir()));
    // llama-server listens on a Unix socket when --host ends in .sock; mkdtemp makes the directory 0700.
    const socketPath = path.join(await mkdtemp(path.join(os.tmpdir(), SOCKET_DIR_PREFIX)), SOCKET_NAME);
    const args = [...options.args, "--host", socketPath];
    // Found and tried once per process, when cpuForRunner chose the CPU; taskset and setpriv exec, so the pid is llama-server's.
    const taskset = options.cpu === undefined ? undefined : usableTaskset(options.cpu);
    const [command, ...rest] = taskset ? [taskset, "--cpu-list", String(options.cpu), options.binary, ...args] : [options.binary, ...args];
    // Its own process group: a terminal's Ctrl-C reaches the server, which then ends its children.
    const child = SETPRIV
      ? spawn(SETPRIV, ["--pdeathsig", "KILL", "--", command!, ...rest], { stdio: ["ignore", "pipe", "pipe"], detached: true })
      : spawn(command!, rest, { stdio: ["ignore", "pipe", "pipe"], detached: true });
    const started = new LlamaServerProcess(child, socketPath, options.label);
    try {
      await started.waitUntilHealthy(options.startTimeoutMs ?? 300_000);
      return started;
    } catch (error) {
      await started.kill();
      throw error;
    }
  }

  /** The origin of its URLs (the host is not used to connect: see socketPath). */
  readonly baseUrl = "http://localhost";

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
      const response = await request(`${this.baseUrl}/health`, { dispatcher: this.agent, signal: AbortSignal.timeout(2_000) });
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
