import cliProgress from "cli-progress";
import { buildLlamaServer } from "../engines/llama-server/source-build.js";

type Output = NodeJS.WritableStream & { isTTY?: boolean };

export interface EngineBuildOptions {
  dataDir: string;
  workDir?: string;
  jobs?: number;
  /** Print every line cmake and the compiler write. */
  verbose?: boolean;
}

/**
 * ninja's steps as a bar on a terminal; elsewhere (CI logs) a line at each tenth, so the log shows
 * it moving without a line per object file.
 */
export function progressDisplay(stream: Output): { update(done: number, total: number): void; stop(): void } {
  if (stream.isTTY) {
    const bar = new cliProgress.SingleBar({ format: "compiling llama-server [{bar}] {value}/{total} | ETA {eta_formatted}", stream, hideCursor: true }, cliProgress.Presets.shades_classic);
    let started = false;
    return {
      update(done, total) {
        if (!started) bar.start(total, done);
        started = true;
        bar.setTotal(total);
        bar.update(done);
      },
      stop() {
        if (started) bar.stop();
        started = false;
      },
    };
  }
  let shown = -1;
  return {
    update(done, total) {
      const tenth = Math.floor((done / total) * 10);
      if (tenth === shown) return;
      shown = tenth;
      stream.write(`compiling llama-server: ${done}/${total}\n`);
    },
    stop: () => {},
  };
}

/** `genai-local engine build`: compiles and installs llama-server, then says where it is and how to use it. */
export async function runEngineBuild(options: EngineBuildOptions, stream: Output = process.stderr): Promise<void> {
  const progress = progressDisplay(stream);
  const phases = { clone: "cloning the llama.cpp source node-llama-cpp ships", configure: "configuring (cmake)", compile: "compiling (ninja)", install: "installing" };
  const result = await buildLlamaServer({
    dataDir: options.dataDir,
    workDir: options.workDir,
    jobs: options.jobs,
    onPhase: (phase) => {
      if (phase === "install") progress.stop();
      stream.write(`${phases[phase]}...\n`);
    },
    onProgress: (done, total) => progress.update(done, total),
    onLine: (line) => {
      if (options.verbose || /\berror\b/i.test(line)) stream.write(`${line}\n`);
    },
  }).finally(() => progress.stop());
  process.stdout.write(
    `llama-server ${result.version} installed at ${result.binary} (built in ${Math.round(result.seconds)} s).\n` +
      `genai-local serve uses it from now on (--engine auto); --engine node-llama-cpp keeps the in-process engine.\n`,
  );
}
