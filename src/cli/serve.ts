import type { FastifyInstance } from "fastify";
import { createEngine, type EngineSettings } from "../engines/create-engine.js";
import { createLogger } from "../http/logger.js";
import { buildServer } from "../http/server.js";
import type { ModelRegistry } from "../models/registry.js";

export interface ServeOptions extends EngineSettings {
  models: ModelRegistry;
  host: string;
  port: number;
  apiKeys: string[];
  logLevel?: string;
}

export interface RunningServer {
  app: FastifyInstance;
  url: string;
  close(): Promise<void>;
}

/** Loads the models, then listens; used by `genai-local serve` and by the tests. */
export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const logger = createLogger(options.logLevel);
  await options.models.loadAll((spec) => createEngine(spec, options));
  const app = await buildServer({ models: options.models, apiKeys: options.apiKeys, logger });
  try {
    await app.listen({ host: options.host, port: options.port });
  } catch (error) {
    await options.models.closeAll();
    throw error;
  }
  const address = app.server.address();
  const port = typeof address === "object" && address ? address.port : options.port;
  const host = options.host.includes(":") ? `[${options.host}]` : options.host;
  return {
    app,
    url: `http://${host}:${port}`,
    close: async () => {
      await app.close();
      await options.models.closeAll();
    },
  };
}
