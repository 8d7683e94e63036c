import type { Registry } from "prom-client";

/** One label value's buckets, observed into directly: an array walk, no label hashing. */
export class HistogramSeries {
  /** Per bucket (not cumulative); the last one is +Inf. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(private readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    let i = 0;
    while (i < this.bounds.length && value > this.bounds[i]!) i++;
    this.counts[i]!++;
    this.sum += value;
    this.count++;
  }
}

/**
 * A Prometheus histogram with one label, for values recorded at the rate tokens are made
 * (prom-client's own histogram hashes the labels and allocates on every observe). Registered in
 * a prom-client Registry, which writes it exactly as it writes a prom-client histogram.
 */
export class LatencyHistogram<Label extends string> {
  readonly type = "histogram";
  readonly aggregator = "sum";
  private readonly bySeries = new Map<string, HistogramSeries>();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly label: Label,
    private readonly bounds: readonly number[],
    registry: Registry,
  ) {
    registry.registerMetric(this as unknown as Parameters<Registry["registerMetric"]>[0]);
  }

  /** The series for one label value; keep it for a stream's life and observe into it. */
  series(value: string): HistogramSeries {
    let series = this.bySeries.get(value);
    if (!series) this.bySeries.set(value, (series = new HistogramSeries(this.bounds)));
    return series;
  }

  observe(labels: Record<Label, string>, value: number): void {
    this.series(labels[this.label]).observe(value);
  }

  reset(): void {
    this.bySeries.clear();
  }

  /** prom-client's metric shape: per series, cumulative buckets, +Inf, sum and count. */
  async get() {
    const values: { labels: Record<string, string | number>; value: number; metricName: string }[] = [];
    for (const [labelValue, series] of this.bySeries) {
      let cumulative = 0;
      this.bounds.forEach((le, i) => {
        cumulative += series.counts[i]!;
        values.push({ labels: { le, [this.label]: labelValue }, value: cumulative, metricName: `${this.name}_bucket` });
      });
      values.push({ labels: { le: "+Inf", [this.label]: labelValue }, value: series.count, metricName: `${this.name}_bucket` });
      values.push({ labels: { [this.label]: labelValue }, value: series.sum, metricName: `${this.name}_sum` });
      values.push({ labels: { [this.label]: labelValue }, value: series.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }
}
