/**
 * genai-local's configuration defaults and the environment variables it reads, in one place: the
 * CLI's options, the server's assembly and the engines take their defaults from `DEFAULTS`, and
 * the variables not bound to a CLI option are read here only (`environment`), each when asked,
 * so a test or a child process that sets one is seen. Every option and variable is documented
 * in docs/configuration.md (test/docs/configuration.test.ts keeps it so).
 */

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

export const DEFAULTS = {
  host: "127.0.0.1",
  port: 8080,
  /** Streams generated at once per local model; its queue holds `queuePerSlot` × this. */
  parallel: 4,
  queuePerSlot: 4,
  /** An upstream engine's streams in flight at once, and requests that may wait for one. */
  upstreamSlots: 256,
  upstreamQueue: 256,
  queueTimeoutMs: 30_000,
  drainTimeoutMs: 10_000,
  maxBodyBytes: 20 * MiB,
  maxHeaderBytes: 16 * 1024,
  requestTimeoutMs: 30_000,
  /** See base/chunk-timing.ts. */
  chunkWindowMs: 10,
  /** Tokens all cached contents may hold together, and a cached content's life when a create names none (Google's). */
  cacheMaxTokens: 65_536,
  cachedContentTtlMs: 3_600_000,
  /** The Files API: a file's life, the largest file, all files together. */
  fileTtlMs: 48 * 3_600_000,
  maxFileBytes: 2 * GiB,
  maxTotalFileBytes: 20 * GiB,
  /** The Live API. */
  liveMaxSessions: 256,
  liveMaxFrameBytes: 4 * MiB,
  liveSetupTimeoutMs: 10_000,
  liveIdleTimeoutMs: 10 * 60_000,
  liveSessionTimeoutMs: 60 * 60_000,
  liveGoAwayNoticeMs: 10_000,
  logLevel: "info",
  hfEndpoint: "https://huggingface.co",
} as const;

/** The environment variables genai-local reads outside its CLI options (those bind theirs with `.env(...)`). */
export const environment = {
  /** GENAI_LOCAL_GPU: auto, cuda, vulkan or metal runs llama.cpp on a GPU; unset, "" or "false": the CPU. */
  gpu: (): string | undefined => process.env.GENAI_LOCAL_GPU,
  logLevel: (): string => process.env.GENAI_LOCAL_LOG_LEVEL ?? DEFAULTS.logLevel,
  dataDir: (): string | undefined => process.env.GENAI_LOCAL_DATA_DIR || undefined,
  modelsDir: (): string | undefined => process.env.GENAI_LOCAL_MODELS_DIR || undefined,
  /** GENAI_LOCAL_OFFLINE=1: never download a model. */
  offline: (): boolean => process.env.GENAI_LOCAL_OFFLINE === "1",
  hfEndpoint: (): string => process.env.GENAI_LOCAL_HF_ENDPOINT || DEFAULTS.hfEndpoint,
  hfToken: (): string | undefined => process.env.HF_TOKEN,
  /** GENAI_LOCAL_API_KEY: keys the server requires, comma-separated. */
  apiKeys: (): string[] => (process.env.GENAI_LOCAL_API_KEY ?? "").split(",").filter(Boolean),
  /** GENAI_LOCAL_DEBUG: a failing command prints its stack. */
  debug: (): boolean => Boolean(process.env.GENAI_LOCAL_DEBUG),
  /** The platform's own directories (XDG on Linux, LOCALAPPDATA on Windows). */
  xdgCacheHome: (): string | undefined => process.env.XDG_CACHE_HOME || undefined,
  xdgStateHome: (): string | undefined => process.env.XDG_STATE_HOME || undefined,
  localAppData: (): string | undefined => process.env.LOCALAPPDATA || undefined,
  /** Where executables are looked for (taskset). */
  searchPath: (): string => process.env.PATH ?? "",
  /** A variable the user named (an upstream's `key=ENV`). */
  named: (name: string): string | undefined => process.env[name],
} as const;
