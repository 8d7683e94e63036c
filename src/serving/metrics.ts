import { Counter, Gauge, Registry, collectDefaultMetrics } from "prom-client";
import { LatencyHistogram } from "./latency-histogram.js";
import type { ModelRegistry } from "../models/registry.js";

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * The server's Prometheus metrics. Gauges read the engines' own state when scraped, so they
 * cannot drift; per-token updates are array increments (LatencyHistogram) and a counter added to
 * every 100 ms (see meteredEvents). The default metrics include the event-loop delay
 * (genai_local_nodejs_eventloop_lag_*).
 */
export class ServerMetrics {
  readonly registry = new Registry();
  readonly requests: Counter<"route" | "status">;
  readonly generatedTokens: Counter<"model">;
  readonly reusedPromptTokens: Counter<"model">;
  readonly timeToFirstToken: LatencyHistogram<"model">;
  readonly interTokenLatency: LatencyHistogram<"model">;
  readonly runnerRestarts: Counter<"model">;
  /** The Live API (WebSocket sessions). */
  readonly liveSessions: Gauge;
  readonly liveSessionsTotal: Counter;
  readonly liveTurns: Counter;

  constructor(models: ModelRegistry) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: "genai_local_" });
    this.requests = new Counter({ name: "genai_local_requests_total", help: "HTTP requests by route and status code", labelNames: ["route", "status"], registers });
    this.generatedTokens = new Counter({ name: "genai_local_generated_tokens_total", help: "Tokens generated", labelNames: ["model"], registers });
    this.reusedPromptTokens = new Counter({
      name: "genai_local_prefix_tokens_reused_total",
      help: "Prompt tokens found in a sequence's KV cache and not recomputed",
      labelNames: ["model"],
      registers,
    });
    this.timeToFirstToken = new LatencyHistogram("genai_local_time_to_first_token_seconds", "From request to first generated text", "model", LATENCY_BUCKETS, this.registry);
    this.interTokenLatency = new LatencyHistogram(
      "genai_local_inter_token_latency_seconds",
      "Between consecutive text events of one stream",
      "model",
      LATENCY_BUCKETS,
      this.registry,
    );
    this.runnerRestarts = new Counter({ name: "genai_local_runner_restarts_total", help: "Model runner processes restarted after a crash", labelNames: ["model"], registers });
    this.liveSessions = new Gauge({ name: "genai_local_live_sessions", help: "Live API sessions open now", registers });
    this.liveSessionsTotal = new Counter({ name: "genai_local_live_sessions_total", help: "Live API sessions opened", registers });
    this.liveTurns = new Counter({ name: "genai_local_live_turns_total", help: "Replies generated in Live API sessions", registers });
    new Gauge({
      name: "genai_local_active_streams",
      help: "Generations currently running",
      registers,
      collect() {
        this.set(models.loaded.reduce((sum, engine) => sum + engine.occupancy().active, 0));
      },
    });
    new Gauge({
      name: "genai_local_queued_requests",
      help: "Requests waiting for a free stream",
      registers,
      collect() {
        this.set(models.loaded.reduce((sum, engine) => sum + engine.occupancy().queued, 0));
      },
    });
  }
}
