// Prometheus metrics through prom-client: the server's own metrics (one registry per server, so
// several servers in one process keep separate counts) beside prom-client's default process
// metrics (RSS, CPU, event-loop lag, GC, heap, handles, file descriptors), which describe the
// whole process and so are collected once per process.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

let processRegistry: Registry | undefined;

/** The process-wide default metrics, started on first use (they keep an event-loop monitor and a GC observer). */
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

const SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Every metric the server exports; one instance per server. */
export class ServerMetrics {
  readonly registry = new Registry();
  /** The Content-Type of `render()`'s text (Prometheus text format 0.0.4). */
  readonly contentType = this.registry.contentType;
  readonly connections = this.counter('emostream_connections_total', 'WebSocket connections accepted, by endpoint', ['endpoint']);
  readonly sessionsStarted = this.counter('emostream_sessions_started_total', 'Sessions started');
  readonly windows = this.counter('emostream_windows_total', 'Windows whose posteriors were computed (rate() gives windows/s)');
  readonly windowsSkipped = this.counter('emostream_windows_skipped_total', 'Stale windows skipped because the server was overloaded');
  readonly shed = this.counter('emostream_posteriors_shed_total', 'Posterior messages not sent to a slow consumer');
  readonly slowConsumers = this.counter('emostream_slow_consumers_total', 'Connections closed with slow_consumer');
  readonly socketsEvicted = this.counter(
    'emostream_sockets_evicted_total',
    'Unauthenticated sockets closed to make room at --max-unauthenticated-sockets',
  );
  readonly pauses = this.counter('emostream_publisher_pauses_total', 'Times a publisher socket was paused for backpressure');
  readonly errors = this.counter('emostream_errors_total', 'Error messages sent, by code', ['code']);
  readonly batchSize = this.histogram('emostream_batch_size', 'Windows per inference batch', [1, 2, 4, 8, 16, 32, 64]);
  readonly inference = this.histogram('emostream_inference_seconds', 'Engine time per batch', SECONDS);
  readonly queueWait = this.histogram('emostream_queue_wait_seconds', 'Time a window waited in the batch queue', SECONDS);
  readonly latency = this.histogram('emostream_latency_seconds', "Arrival of a window's last sample → posterior sent", SECONDS);

  constructor(
    engine: { model: string; backend: string; provider: string },
    gauges: { sessions: () => number; subscribers: () => number; queueDepth: () => number; maxPending: () => number },
  ) {
    processMetrics();
    // A constant 1 whose labels carry the information (the Prometheus *_info convention).
    new Gauge({
      name: 'emostream_engine_info',
      help: 'The engine serving: model, backend and ONNX Runtime execution provider',
      labelNames: Object.keys(engine),
      registers: [this.registry],
    }).set(engine, 1);
    this.gauge('emostream_sessions', 'Sessions open now', gauges.sessions);
    this.gauge('emostream_subscribers', 'Subscriber connections open now', gauges.subscribers);
    this.gauge('emostream_queue_depth', 'Windows waiting for inference now', gauges.queueDepth);
    this.gauge('emostream_session_pending_max', 'Most windows any one session has had waiting for inference', gauges.maxPending);
  }

  /** The /metrics body: the process's default metrics, then the server's. */
  async render(): Promise<string> {
    return (await processMetrics().metrics()) + '\n' + (await this.registry.metrics());
  }

  /** A counter's current value (summed over label values unless `labels` picks one). */
  async value(counter: Counter, labels: Record<string, string> = {}): Promise<number> {
    const { values } = await counter.get();
    return values.filter((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l)).reduce((sum, v) => sum + v.value, 0);
  }

  private counter(name: string, help: string, labelNames: string[] = []): Counter {
    return new Counter({ name, help, labelNames, registers: [this.registry] });
  }

  private histogram(name: string, help: string, buckets: number[]): Histogram {
    return new Histogram({ name, help, buckets, registers: [this.registry] });
  }

  private gauge(name: string, help: string, read: () => number): void {
    new Gauge({
      name,
      help,
      registers: [this.registry],
      collect() {
        this.set(read());
      },
    });
  }
}
