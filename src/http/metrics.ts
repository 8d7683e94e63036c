import { Counter, Gauge, Registry, collectDefaultMetrics } from "prom-client";
import type { ModelRegistry } from "../models/registry.js";

/** The server's Prometheus metrics; gauges read the engines' own state, so they cannot drift. */
export class ServerMetrics {
  readonly registry = new Registry();
  readonly requests: Counter<"route" | "status">;
  readonly generatedTokens: Counter<"model">;

  constructor(models: ModelRegistry) {
    collectDefaultMetrics({ register: this.registry, prefix: "genai_local_" });
    this.requests = new Counter({
      name: "genai_local_requests_total",
      help: "HTTP requests by route and status code",
      labelNames: ["route", "status"],
      registers: [this.registry],
    });
    this.generatedTokens = new Counter({
      name: "genai_local_generated_tokens_total",
      help: "Tokens generated, by model",
      labelNames: ["model"],
      registers: [this.registry],
    });
    new Gauge({
      name: "genai_local_active_streams",
      help: "Generations currently holding a sequence",
      registers: [this.registry],
      collect() {
        this.set(models.loaded.reduce((sum, engine) => sum + engine.load().active, 0));
      },
    });
    new Gauge({
      name: "genai_local_queued_requests",
      help: "Requests waiting for a free sequence",
      registers: [this.registry],
      collect() {
        this.set(models.loaded.reduce((sum, engine) => sum + engine.load().queued, 0));
      },
    });
  }
}
