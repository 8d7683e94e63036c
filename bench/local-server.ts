import { spawn, type SpawnOptions } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

export interface ListeningProcess {
  url: string;
  pid: number;
  stop: () => Promise<void>;
}

/**
 * Runs `node ARGS` and waits until it prints `listening on URL`; `stop` ends it with SIGTERM.
 * stdout must be a pipe (it is read for the URL).
 */
export async function startListening(args: string[], options: SpawnOptions): Promise<ListeningProcess> {
  const child = spawn(process.execPath, args, options);
  const url = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const match = /listening on (http:\/\/\S+)/.exec(out);
      if (match?.[1]) resolve(match[1]);
    });
    child.on("exit", (code) => reject(new Error(`node ${args.join(" ")} exited with ${code} before listening`)));
  });
  return {
    url,
    pid: child.pid!,
    stop: () =>
      new Promise((resolve) => {
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  };
}

/** Where the benches find models: GENAI_LOCAL_MODELS_DIR, else ../shared/models beside the repository. */
export const modelsDir = (): string => path.resolve(process.env.GENAI_LOCAL_MODELS_DIR ?? path.resolve(repoRoot, "../shared/models"));

/** The parseArgs options of every bench that runs a model: `--model-path PATH` and `--model ID`. */
export const modelOptions = {
  "model-path": { type: "string" },
  model: { type: "string" },
} as const;

export interface BenchModel {
  /** The id requests ask for. */
  id: string;
  /** The GGUF a server started by the bench (or the engine alone) loads. */
  path: string;
  /** `--model ID=PATH`, for startLocalServer. */
  serverArgs: string[];
}

/**
 * The model of one bench run: `--model-path` (a GGUF; stories260K.gguf in modelsDir() by default),
 * loaded as `--model ID=PATH` by a server the bench starts. The id is `--model`, else the file's
 * name; against another server (`--url`) it is the model that server is asked for.
 */
export function benchModel(values: { model?: string; "model-path"?: string }): BenchModel {
  const file = path.resolve(values["model-path"] ?? path.join(modelsDir(), "stories260K.gguf"));
  const id = values.model ?? path.basename(file).replace(/\.gguf$/i, "").toLowerCase().replace(/[^a-z0-9-]+/g, "-");
  return { id, path: file, serverArgs: ["--model", `${id}=${file}`] };
}

/**
 * Starts `genai-local serve` (built) on a free loopback port for a benchmark that was given no URL.
 * BENCH_SERVER_NODE_ARGS adds node flags to the server only, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof";
 * BENCH_SERVER_MAIN (or `main`) runs another build (a path to its cli/main.js), to compare two builds.
 */
export function startLocalServer(
  args: string[],
  main = process.env.BENCH_SERVER_MAIN ?? "dist/cli/main.js",
  extra: { nodeArgs?: string[]; env?: Record<string, string> } = {},
): Promise<ListeningProcess> {
  const nodeArgs = [...(process.env.BENCH_SERVER_NODE_ARGS ?? "").split(" ").filter(Boolean), ...(extra.nodeArgs ?? [])];
  return startListening([...nodeArgs, main, "serve", "--port", "0", "--log-level", "warn", ...args], {
    cwd: repoRoot,
    env: { ...process.env, GENAI_LOCAL_MODELS_DIR: modelsDir(), ...extra.env },
    stdio: ["ignore", "pipe", "inherit"],
  });
}

/**
 * llama.cpp's own llama-server on a free loopback port, set up as the benches compare it with
 * genai-local: 4 slots of `contextPerSlot` each, flash attention off, the GGUF's chat template and the
 * sampling penalties genai-local applies by default; ready once /health answers 200.
 */
export async function startLlamaServer(binary: string, modelPath: string, extraArgs: string[], contextPerSlot: number): Promise<ListeningProcess> {
  const port = 20000 + Math.floor(Math.random() * 20000);
  const args = ["-m", modelPath, "--host", "127.0.0.1", "--port", String(port), "-np", "4", "-c", String(4 * contextPerSlot), "-fa", "off", "--jinja"];
  args.push("--repeat-penalty", "1.1", "--repeat-last-n", "64", "--min-p", "0.05", "--no-webui", ...extraArgs);
  const child = spawn(binary, args, { stdio: ["ignore", "ignore", "pipe"] });
  let log = "";
  child.stderr!.on("data", (d: Buffer) => (log = (log + d.toString()).slice(-4000)));
  const url = `http://127.0.0.1:${port}`;
  for (let waited = 0; ; waited += 200) {
    if (child.exitCode !== null) throw new Error(`llama-server exited (${child.exitCode}):\n${log}`);
    if (waited > 120_000) throw new Error(`llama-server did not become healthy:\n${log}`);
    const healthy = await fetch(`${url}/health`).then((r) => r.ok, () => false);
    if (healthy) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    url,
    pid: child.pid!,
    stop: () => new Promise((resolve) => (child.once("exit", () => resolve()), child.kill("SIGTERM"))),
  };
}
