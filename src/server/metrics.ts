// Prometheus metrics through prom-client: the server's own metrics (one registry per server, so
// several servers in one process keep separate counts) beside prom-client's default process
// metrics (RSS, CPU, event-loop lag, GC, heap, handles, file descriptors), which describe the
// whole process and so are collected once per process.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { BusStats } from '../bus/types.js';
import type { EngineStats } from '../inference/engine.js';

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
    /** Counters kept elsewhere, read at each scrape: the bus's (serve --bus) and a remote engine's. */
    sources: { bus?: () => BusStats; engine?: () => EngineStats } = {},
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
    const bus = sources.bus;
    if (bus) {
      this.gauge('emostream_bus_connected', 'Both connections to the bus are up (1) or not (0)', () => (bus().connected ? 1 : 0));
      this.mirror('emostream_bus_messages_published_total', 'Messages this node handed to the bus', () => bus().published);
      this.mirror(
        'emostream_bus_messages_received_total',
        "Messages this node read from the bus for its subscribers of other nodes' sessions",
        () => bus().received,
      );
      this.mirror(
        'emostream_bus_messages_lost_total',
        'Messages this node could not hand to the bus (unreachable, failed, or over --bus-max-inflight)',
        () => bus().lost,
      );
      this.mirror(
        'emostream_bus_messages_gap_reported_total',
        'Messages subscribers here were told (bus_lost) they missed between nodes',
        () => bus().gapsReported,
      );
      this.mirror(
        'emostream_bus_reconnects_total',
        'Times a connection to the bus was re-established after being lost',
        () => bus().reconnects,
      );
      this.gauge('emostream_bus_inflight', 'Messages on their way to the bus now', () => bus().inflight);
      this.gauge('emostream_bus_following', "Subscribers here of other nodes' sessions", () => bus().following);
    }
    const remote = sources.engine;
    if (remote) {
      new Counter({
        name: 'emostream_remote_windows_total',
        help: 'Windows of a remote engine, by where they were computed: remote (a worker), local (fallback), skipped (fallback overloaded)',
        labelNames: ['computed'],
        registers: [this.registry],
        collect() {
          const s = remote();
          this.reset();
          this.inc({ computed: 'remote' }, s.remoteWindows);
          this.inc({ computed: 'local' }, s.localWindows);
          this.inc({ computed: 'skipped' }, s.overloadedWindows);
        },
      });
      this.mirror(
        'emostream_remote_timeouts_total',
        'Batches no worker answered usably within --remote-deadline-ms (each fell back to local or overloaded)',
        () => remote().timedOutBatches,
      );
      this.mirror('emostream_remote_late_answers_total', 'Worker answers that came after their deadline', () => remote().late);
    }
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

  /** A counter kept elsewhere (it only grows), read at each scrape. */
  private mirror(name: string, help: string, read: () => number): void {
    new Counter({
      name,
      help,
      registers: [this.registry],
      collect() {
        this.reset();
        this.inc(read());
      },
    });
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
