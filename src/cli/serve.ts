import os from "node:os";
import path from "node:path";
import type { FastifyInstance } from "fastify";
import { createEngine, type EngineSettings } from "./create-engine.js";
import { DEFAULT_PARALLEL } from "../engines/llama/llama-engine.js";
import { createLogger } from "../http/logger.js";
import { ServerMetrics } from "../serving/metrics.js";
import type { ConnectionLimits, TlsFiles } from "../http/connection-limits.js";
import type { LiveServerLimits } from "../live/routes.js";
import { buildServer } from "../http/server.js";
import { DEFAULT_CHUNK_WINDOW_MS } from "../base/chunk-timing.js";
import { StreamTracker } from "../serving/stream-tracker.js";
import type { ModelRegistry } from "../models/registry.js";
import { AdmittedEngine } from "../serving/admission.js";
import { newStateDir, removeOrphanedStateDirs, removeStateDir } from "../engines/state-dirs.js";
import { isUpstreamSource } from "../engines/upstream/upstream-spec.js";
import { defaultDataDir } from "../files/data-dir.js";
import { chooseLocalEngine, engineForModel, type EngineChoiceSettings } from "./engine-choice.js";
import { DEFAULTS } from "../base/config.js";

export interface ServeOptions extends EngineSettings, Omit<EngineChoiceSettings, "dataDir"> {
  models: ModelRegistry;
  host: string;
  port: number;
  apiKeys: string[];
  logLevel?: string;
  /** Requests that may wait for a free stream, per model. */
  queueSize?: number;
  queueTimeoutMs?: number;
  /** On shutdown, how long running streams may take to finish before they are ended. */
  drainTimeoutMs?: number;
  limits?: Partial<ConnectionLimits>;
  corsOrigins?: string[];
  chunkWindowMs?: number;
  /** Tokens all cached contents may hold together. */
  cacheMaxTokens?: number;
  /** Where this server's directory of cached-content KV states is made (default: the OS temp dir). */
  cacheDir?: string;
  /** Uploaded files (the Files API); see ServerOptions.files. */
  files?: { dataDir?: string; maxFileBytes?: number; maxTotalBytes?: number; ttlMs?: number };
  /** Serve HTTPS and WSS with this certificate and key. */
  tls?: TlsFiles;
  /** Live API limits. */
  live?: Partial<LiveServerLimits>;
}

export interface RunningServer {
  app: FastifyInstance;
  url: string;
  /** Stops accepting, lets running streams finish (up to the drain timeout), then unloads. */
  close(): Promise<void>;
}

/** Loads the models, then listens; used by `genai-local serve` and by the tests. */
export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const logger = createLogger(options.logLevel);
  const metrics = new ServerMetrics(options.models);
  const streams = new StreamTracker();
  const parallel = options.parallel ?? DEFAULT_PARALLEL;
  const queueTimeoutMs = options.queueTimeoutMs ?? DEFAULTS.queueTimeoutMs;
  const local = { slots: parallel, queueSize: options.queueSize ?? DEFAULTS.queuePerSlot * parallel, queueTimeoutMs };
  // An upstream engine batches on its own hardware; admission here only bounds what we hold open.
  const upstream = { slots: DEFAULTS.upstreamSlots, queueSize: options.queueSize ?? DEFAULTS.upstreamQueue, queueTimeoutMs };
  // Saved KV states of cached contents: this server's own directory, made (mode 0700) when the
  // first state is saved and removed when the server closes. A server that never saves one leaves
  // nothing behind; one killed before it could clean up leaves its directory to the next server
  // started on the machine (see state-dirs). The node-llama-cpp runners get the name over IPC; a
  // llama-server has it on its command line, so states go in only while the directory is this
  // user's own (see llama-server/slot-states).
  const stateParent = options.cacheDir ?? os.tmpdir();
  const orphans = await removeOrphanedStateDirs(stateParent);
  if (orphans.length > 0) logger.info({ removed: orphans, dir: stateParent }, "removed cached-content state directories of servers no longer running");
  const stateDir = newStateDir(stateParent);
  const removeOwnStateDir = (): Promise<void> => removeStateDir(stateDir);
  const hasLocalModels = options.models.specs.some((spec) => !isUpstreamSource(spec.source));
  const localEngine = hasLocalModels ? await chooseLocalEngine({ ...options, dataDir: options.files?.dataDir ?? defaultDataDir() }) : undefined;
  if (localEngine?.kind === "llama-server") logger.info({ binary: localEngine.binary.path, version: localEngine.version }, "llama-server engine");
  await options.models.loadAll(async (spec) => {
    const upstreamModel = isUpstreamSource(spec.source);
    const modelEngine = localEngine && !upstreamModel ? engineForModel(spec, localEngine, options.engine) : undefined;
    logger.info(
      modelEngine ? { model: spec.id, engine: modelEngine.kind, reason: modelEngine.reason } : { model: spec.id, engine: "openai-upstream", reason: "an --upstream model" },
      "engine chosen",
    );
    const engine = await createEngine(spec, {
      ...options,
      localEngine: modelEngine,
      stateDir,
      parallel,
      chunkWindowMs: options.chunkWindowMs ?? DEFAULT_CHUNK_WINDOW_MS,
      onRunnerRestart: (id) => {
        metrics.runnerRestarts.inc({ model: id });
        logger.error({ model: id }, "model runner crashed and was restarted");
      },
    });
    return new AdmittedEngine(engine, upstreamModel ? upstream : local);
  }).catch(async (error: unknown) => {
    await removeOwnStateDir();
    throw error;
  });
  const app = await buildServer({
    models: options.models,
    metrics,
    streams,
    apiKeys: options.apiKeys,
    logger,
    limits: options.limits,
    corsOrigins: options.corsOrigins,
    chunkWindowMs: options.chunkWindowMs,
    cacheMaxTokens: options.cacheMaxTokens,
    files: options.files,
    tls: options.tls,
    live: options.live,
    drainTimeoutMs: options.drainTimeoutMs,
  });
  try {
    await app.listen({ host: options.host, port: options.port });
  } catch (error) {
    await options.models.closeAll();
    await removeOwnStateDir();
    throw error;
  }
  const address = app.server.address();
  const port = typeof address === "object" && address ? address.port : options.port;
  const host = options.host.includes(":") ? `[${options.host}]` : options.host;
  return {
    app,
    url: `${options.tls ? "https" : "http"}://${host}:${port}`,
    close: async () => {
      const closed = app.close();
      await streams.drain(options.drainTimeoutMs ?? DEFAULTS.drainTimeoutMs);
      // Connections whose stream ended after close() began are idle now, not when close() looked.
      const sweeper = setInterval(() => app.server.closeIdleConnections(), 50);
      app.server.closeIdleConnections();
      await closed.finally(() => clearInterval(sweeper));
      await options.models.closeAll();
      await removeOwnStateDir();
    },
  };
}
