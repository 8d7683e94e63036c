import { Histogram, Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { LatencyHistogram } from "../../src/serving/latency-histogram.js";

const BOUNDS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

describe("LatencyHistogram", () => {
  it("is exposed exactly as prom-client exposes its own histogram", async () => {
    const theirs = new Registry();
    const ours = new Registry();
    const reference = new Histogram({ name: "x_seconds", help: "Latency", labelNames: ["model"], buckets: BOUNDS, registers: [theirs] });
    const histogram = new LatencyHistogram("x_seconds", "Latency", "model", BOUNDS, ours);
    expect(await ours.metrics()).toBe(await theirs.metrics()); // no series yet
    const values = [0, 0.0005, 0.0007, 0.001, 0.003, 0.04, 0.3, 2, 10, 11, 1e-9, 0.0049];
    for (const [i, value] of values.entries()) {
      const model = i % 3 === 0 ? "b" : 'a"\\n';
      reference.observe({ model }, value);
      if (i % 2 === 0) histogram.observe({ model }, value);
      else histogram.series(model).observe(value);
    }
    expect(await ours.metrics()).toBe(await theirs.metrics());
    histogram.reset();
    reference.reset();
    expect(await ours.metrics()).toBe(await theirs.metrics());
  });
});
