import { execFileSync } from "node:child_process";
import { Agent, request } from "undici";

/**
 * The llama-server binary the engine tests run: GENAI_LOCAL_TEST_LLAMA_SERVER (CI's, which leaves every
 * other server the tests start on its default engine), else GENAI_LOCAL_LLAMA_SERVER; undefined skips them.
 */
export const llamaServerBinary = process.env.GENAI_LOCAL_TEST_LLAMA_SERVER || process.env.GENAI_LOCAL_LLAMA_SERVER || undefined;
export const SKIP_REASON = "no llama-server binary: set GENAI_LOCAL_TEST_LLAMA_SERVER (e.g. after `genai-local engine build`) to run the llama-server engine tests";

export interface ChildServer {
  pid: number;
  /** --alias: the model id it serves. */
  model: string;
  /** --host: the Unix socket it listens on. */
  socketPath: string;
  embeddings: boolean;
}

/** The llama-server processes this test process started, read from ps (the engine starts them as its children). */
export function childServers(): ChildServer[] {
  const listing = execFileSync("ps", ["-eo", "pid=,ppid=,stat=,args="], { encoding: "utf8" });
  const children: ChildServer[] = [];
  for (const line of listing.split("\n")) {
    const [pid, ppid, stat, ...args] = line.trim().split(/\s+/);
    if (Number(ppid) !== process.pid || !args[0]?.endsWith("llama-server") || stat?.startsWith("Z")) continue;
    const value = (flag: string): string | undefined => args[args.indexOf(flag) + 1];
    children.push({ pid: Number(pid), model: value("--alias") ?? "", socketPath: value("--host") ?? "", embeddings: args.includes("--embeddings") });
  }
  return children;
}

/** Whether a process still runs (a zombie counts as gone). */
export function isRunning(pid: number): boolean {
  try {
    const stat = execFileSync("ps", ["-o", "stat=", "-p", String(pid)], { encoding: "utf8" }).trim();
    return stat !== "" && !stat.startsWith("Z");
  } catch {
    return false;
  }
}

/** GET `path` of the llama-server listening on `socketPath`: its status and JSON body, or undefined when it does not answer. */
export async function askChild(socketPath: string, path: string): Promise<{ status: number; body: unknown } | undefined> {
  const agent = new Agent({ connect: { socketPath } });
  try {
    const response = await request(`http://localhost${path}`, { dispatcher: agent });
    return { status: response.statusCode, body: await response.body.json() };
  } catch {
    return undefined;
  } finally {
    await agent.close();
  }
}

/** The generation slots llama-server is working on (its /slots endpoint). */
export async function busySlots(socketPath: string): Promise<number> {
  const slots = (await askChild(socketPath, "/slots"))?.body as { is_processing: boolean }[];
  return slots.filter((slot) => slot.is_processing).length;
}
