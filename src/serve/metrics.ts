/**
 * The inference server's metrics, rendered in Prometheus's text exposition
 * format (version 0.0.4): requests by route and status, a request latency
 * histogram, a histogram of the batch sizes that ran, and the queue depth.
 *
 * @module
 */

/** A cumulative histogram with fixed upper bounds, as Prometheus keeps one. */
class Histogram {
  readonly counts: number[];
  count = 0;
  sum = 0;
  constructor(readonly bounds: readonly number[]) {
    this.counts = new Array(bounds.length).fill(0);
  }
  observe(v: number): void {
    this.count++;
    this.sum += v;
    for (let i = 0; i < this.bounds.length; i++) if (v <= this.bounds[i]) this.counts[i]++;
  }
  render(name: string, help: string): string {
    const lines = [`# HELP ${name} ${help}`, `# TYPE ${name} histogram`];
    this.bounds.forEach((b, i) => lines.push(`${name}_bucket{le="${b}"} ${this.counts[i]}`));
    lines.push(`${name}_bucket{le="+Inf"} ${this.count}`);
    lines.push(`${name}_sum ${this.sum}`, `${name}_count ${this.count}`);
    return lines.join("\n");
  }
}

/**
 * Counters and histograms of one server; `render()` gives the text that
 * `GET /metrics` returns.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const m = new zn.serve.ServerMetrics();
 * m.request("/v1/predict", 200, 0.004);
 * m.render().includes('zeno_requests_total{route="/v1/predict",code="200"} 1'); // true
 * ```
 */
export class ServerMetrics {
  readonly #requests = new Map<string, number>();
  readonly #latency = new Histogram([
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1,
    2.5,
    5,
  ]);
  readonly #batch = new Histogram([1, 2, 4, 8, 16, 32, 64, 128, 256]);
  /** Examples waiting for a batch, set by the server. */
  queueDepth = 0;
  /** Batches running on the workers, set by the server. */
  inFlight = 0;

  /** Counts one answered request and its latency in seconds. */
  request(route: string, status: number, seconds: number): void {
    const key = `route="${route}",code="${status}"`;
    this.#requests.set(key, (this.#requests.get(key) ?? 0) + 1);
    if (route === "/v1/predict") this.#latency.observe(seconds);
  }

  /** Counts one batch of `rows` examples run as one forward pass. */
  batch(rows: number): void {
    this.#batch.observe(rows);
  }

  /** The number of requests answered with `status` on `route`. */
  requests(route: string, status: number): number {
    return this.#requests.get(`route="${route}",code="${status}"`) ?? 0;
  }

  /** The metrics in Prometheus's text format. */
  render(): string {
    const req = ["# HELP zeno_requests_total Requests answered, by route and status code."];
    req.push("# TYPE zeno_requests_total counter");
    for (const [k, v] of this.#requests) req.push(`zeno_requests_total{${k}} ${v}`);
    return [
      req.join("\n"),
      this.#latency.render(
        "zeno_request_duration_seconds",
        "Time from a prediction request's arrival to its answer.",
      ),
      this.#batch.render("zeno_batch_size", "Examples per forward pass."),
      "# HELP zeno_queue_depth Examples waiting for a batch.",
      "# TYPE zeno_queue_depth gauge",
      `zeno_queue_depth ${this.queueDepth}`,
      "# HELP zeno_batches_in_flight Batches running on the workers.",
      "# TYPE zeno_batches_in_flight gauge",
      `zeno_batches_in_flight ${this.inFlight}`,
      "",
    ].join("\n");
  }
}
