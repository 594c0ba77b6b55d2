// Prometheus text exposition (format 0.0.4), hand-written: counters, gauges and histograms are
// all this server needs, and a registry is a few lines.

type Labels = Record<string, string>;

function labelText(labels: Labels | undefined, extra?: [string, string]): string {
  const parts = Object.entries(labels ?? {}).map(
    ([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`,
  );
  if (extra) parts.push(`${extra[0]}="${extra[1]}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
}

interface Metric {
  render(): string;
}

export class Counter implements Metric {
  private readonly values = new Map<string, { labels?: Labels; v: number }>();
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}
  inc(by = 1, labels?: Labels): void {
    const key = labelText(labels);
    const cur = this.values.get(key);
    if (cur) cur.v += by;
    else this.values.set(key, { labels, v: by });
  }
  get(labels?: Labels): number {
    return this.values.get(labelText(labels))?.v ?? 0;
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`];
    if (this.values.size === 0) lines.push(`${this.name} 0`);
    for (const { labels, v } of this.values.values()) lines.push(`${this.name}${labelText(labels)} ${v}`);
    return lines.join('\n');
  }
}

export class Gauge implements Metric {
  private v = 0;
  constructor(
    readonly name: string,
    readonly help: string,
    private readonly read?: () => number,
  ) {}
  set(v: number): void {
    this.v = v;
  }
  get(): number {
    return this.read ? this.read() : this.v;
  }
  render(): string {
    return [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} gauge`, `${this.name} ${this.get()}`].join('\n');
  }
}

/** A constant 1 whose labels carry the information (the Prometheus *_info convention). */
export class Info implements Metric {
  constructor(
    readonly name: string,
    readonly help: string,
    private readonly labels: Labels,
  ) {}
  render(): string {
    return [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} gauge`, `${this.name}${labelText(this.labels)} 1`].join('\n');
  }
}

export class Histogram implements Metric {
  private readonly counts: number[];
  private sum = 0;
  private n = 0;
  constructor(
    readonly name: string,
    readonly help: string,
    readonly buckets: readonly number[],
  ) {
    this.counts = new Array(buckets.length).fill(0);
  }
  observe(v: number): void {
    this.sum += v;
    this.n++;
    for (let i = 0; i < this.buckets.length; i++) if (v <= this.buckets[i]) this.counts[i]++;
  }
  get count(): number {
    return this.n;
  }
  get total(): number {
    return this.sum;
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    this.buckets.forEach((b, i) => lines.push(`${this.name}_bucket${labelText(undefined, ['le', String(b)])} ${this.counts[i]}`));
    lines.push(`${this.name}_bucket{le="+Inf"} ${this.n}`, `${this.name}_sum ${this.sum}`, `${this.name}_count ${this.n}`);
    return lines.join('\n');
  }
}

export class Registry {
  private readonly metrics: Metric[] = [];
  counter(name: string, help: string): Counter {
    return this.add(new Counter(name, help));
  }
  gauge(name: string, help: string, read?: () => number): Gauge {
    return this.add(new Gauge(name, help, read));
  }
  histogram(name: string, help: string, buckets: readonly number[]): Histogram {
    return this.add(new Histogram(name, help, buckets));
  }
  render(): string {
    return this.metrics.map((m) => m.render()).join('\n') + '\n';
  }
  add<M extends Metric>(m: M): M {
    this.metrics.push(m);
    return m;
  }
}

const SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Every metric the server exports; one instance per server. */
export class ServerMetrics {
  readonly registry = new Registry();
  readonly connections = this.registry.counter('emostream_connections_total', 'WebSocket connections accepted, by endpoint');
  readonly sessionsStarted = this.registry.counter('emostream_sessions_started_total', 'Sessions started');
  readonly windows = this.registry.counter('emostream_windows_total', 'Windows whose posteriors were computed (rate() gives windows/s)');
  readonly windowsSkipped = this.registry.counter(
    'emostream_windows_skipped_total',
    'Stale windows skipped because the server was overloaded',
  );
  readonly shed = this.registry.counter('emostream_posteriors_shed_total', 'Posterior messages not sent to a slow consumer');
  readonly slowConsumers = this.registry.counter('emostream_slow_consumers_total', 'Connections closed with slow_consumer');
  readonly socketsEvicted = this.registry.counter(
    'emostream_sockets_evicted_total',
    'Unauthenticated sockets closed to make room at --max-unauthenticated-sockets',
  );
  readonly pauses = this.registry.counter('emostream_publisher_pauses_total', 'Times a publisher socket was paused for backpressure');
  readonly errors = this.registry.counter('emostream_errors_total', 'Error messages sent, by code');
  readonly batchSize = this.registry.histogram('emostream_batch_size', 'Windows per inference batch', [1, 2, 4, 8, 16, 32, 64]);
  readonly inference = this.registry.histogram('emostream_inference_seconds', 'Engine time per batch', SECONDS);
  readonly queueWait = this.registry.histogram('emostream_queue_wait_seconds', 'Time a window waited in the batch queue', SECONDS);
  readonly latency = this.registry.histogram('emostream_latency_seconds', "Arrival of a window's last sample → posterior sent", SECONDS);

  constructor(
    engine: { model: string; backend: string; provider: string },
    gauges: { sessions: () => number; subscribers: () => number; queueDepth: () => number; maxPending: () => number },
  ) {
    this.registry.add(new Info('emostream_engine_info', 'The engine serving: model, backend and ONNX Runtime execution provider', engine));
    this.registry.gauge('emostream_sessions', 'Sessions open now', gauges.sessions);
    this.registry.gauge('emostream_subscribers', 'Subscriber connections open now', gauges.subscribers);
    this.registry.gauge('emostream_queue_depth', 'Windows waiting for inference now', gauges.queueDepth);
    this.registry.gauge('emostream_session_pending_max', 'Most windows any one session has had waiting for inference', gauges.maxPending);
  }
}
