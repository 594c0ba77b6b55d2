// The one inference stage shared by every session: windows from all sessions queue here and go
// to the engine in batches of up to maxBatch, at most maxWaitMs after the oldest queued window
// arrived, one batch at a time (engines use every core themselves). Results resolve per window,
// in submission order, so each session can wait on its windows in order.
//
// Overload: a window that has waited longer than staleMs while a newer window of the same
// session is queued behind it is skipped (resolved as 'skipped'), so a session that has fallen
// behind catches up with the present instead of falling further behind.
import { EngineOverloaded, type Engine } from '../inference/engine.js';

export interface BatcherOptions {
  /** Largest batch handed to the engine. */
  maxBatch: number;
  /** Longest a window waits for others to fill its batch, ms. */
  maxWaitMs: number;
  /** Age (from its last sample's arrival) past which a window may be skipped, ms. */
  staleMs: number;
}

export type BatchOutcome =
  { kind: 'done'; probs: Float32Array; computeMs: number; batchSize: number } | { kind: 'skipped' } | { kind: 'cancelled' };

export interface BatcherHooks {
  onBatch?(size: number, computeMs: number): void;
  onQueueWait?(ms: number): void;
  onSkip?(key: string): void;
}

interface Item {
  key: string;
  data: Float32Array;
  arrivedAt: number;
  enqueuedAt: number;
  /** Never skipped as stale (a turn's windows: its one utterance message must not be lost). */
  keep: boolean;
  resolve(o: BatchOutcome): void;
  reject(err: unknown): void;
}

// Measured by the benchmark work on the 2-core machine: no wait (an idle engine takes a lone
// window at once; batches form from windows that arrive while it computes) and at most 8 per
// batch, since on CPU a bigger batch barely raises windows/s but every window in it waits for
// the whole batch (16 doubled p99 latency at 64 streams).
export const DEFAULT_BATCHER: BatcherOptions = { maxBatch: 8, maxWaitMs: 0, staleMs: 10000 };

export class Batcher {
  readonly opts: BatcherOptions;
  private queue: Item[] = [];
  private perKey = new Map<string, number>();
  private running = false;
  private timer: NodeJS.Timeout | undefined;
  private idle: Promise<void> = Promise.resolve();
  private closed = false;
  /** Sizes of the batches run so far (count, sum) and the deepest the queue has been. */
  batches = 0;
  batchedWindows = 0;
  maxDepth = 0;

  constructor(
    readonly engine: Engine,
    opts: Partial<BatcherOptions> = {},
    private readonly hooks: BatcherHooks = {},
  ) {
    this.opts = { ...DEFAULT_BATCHER, ...opts };
    const { maxBatch, maxWaitMs, staleMs } = this.opts;
    if (!Number.isInteger(maxBatch) || maxBatch < 1) throw new RangeError(`maxBatch must be a positive integer, got ${maxBatch}`);
    if (!(maxWaitMs >= 0)) throw new RangeError(`maxWaitMs must be ≥ 0, got ${maxWaitMs}`);
    if (!(staleMs > 0)) throw new RangeError(`staleMs must be > 0, got ${staleMs}`);
  }

  /** Windows waiting (not counting the batch being computed). */
  get depth(): number {
    return this.queue.length;
  }

  /** Queues one window of session `key`; `arrivedAt` is when its last audio sample arrived.
   *  `keep`: never skip it as stale. */
  submit(key: string, data: Float32Array, arrivedAt: number, { keep = false } = {}): Promise<BatchOutcome> {
    if (this.closed) return Promise.resolve({ kind: 'cancelled' });
    return new Promise<BatchOutcome>((resolve, reject) => {
      this.queue.push({ key, data, arrivedAt, enqueuedAt: performance.now(), keep, resolve, reject });
      this.perKey.set(key, (this.perKey.get(key) ?? 0) + 1);
      if (this.queue.length > this.maxDepth) this.maxDepth = this.queue.length;
      this.schedule();
    });
  }

  /** Drops every queued window of `key` (its connection is gone); returns how many. */
  cancel(key: string): number {
    const n = this.perKey.get(key) ?? 0;
    if (n === 0) return 0;
    const keep: Item[] = [];
    for (const it of this.queue) {
      if (it.key === key) it.resolve({ kind: 'cancelled' });
      else keep.push(it);
    }
    this.queue = keep;
    this.perKey.delete(key);
    return n;
  }

  /** Stops taking windows, cancels the queued ones and waits for the running batch. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    for (const it of this.queue) it.resolve({ kind: 'cancelled' });
    this.queue = [];
    this.perKey.clear();
    await this.idle;
  }

  /** Resolves once everything queued now has been computed. */
  async drain(): Promise<void> {
    while (this.queue.length > 0 || this.running) await this.idle.then(() => new Promise((r) => setImmediate(r)));
  }

  private schedule(): void {
    if (this.running || this.queue.length === 0 || this.closed) return;
    if (this.queue.length >= this.opts.maxBatch) {
      if (this.timer) clearTimeout(this.timer);
      this.timer = undefined;
      this.run();
      return;
    }
    if (this.timer) return;
    const waited = performance.now() - this.queue[0].enqueuedAt;
    const delay = Math.max(0, this.opts.maxWaitMs - waited);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.run();
    }, delay);
  }

  private take(): Item[] {
    const now = performance.now();
    const batch: Item[] = [];
    let i = 0;
    for (; i < this.queue.length && batch.length < this.opts.maxBatch; i++) {
      const it = this.queue[i];
      const left = (this.perKey.get(it.key) ?? 1) - 1;
      if (left === 0) this.perKey.delete(it.key);
      else this.perKey.set(it.key, left);
      if (!it.keep && left > 0 && now - it.arrivedAt > this.opts.staleMs) {
        this.hooks.onSkip?.(it.key);
        it.resolve({ kind: 'skipped' });
        continue;
      }
      this.hooks.onQueueWait?.(now - it.enqueuedAt);
      batch.push(it);
    }
    this.queue = this.queue.slice(i);
    return batch;
  }

  private run(): void {
    if (this.running || this.closed) return;
    const batch = this.take();
    if (batch.length === 0) {
      this.schedule();
      return;
    }
    this.running = true;
    this.idle = this.compute(batch).finally(() => {
      this.running = false;
      this.schedule();
    });
  }

  private async compute(batch: Item[]): Promise<void> {
    const t0 = performance.now();
    let out: Float32Array[];
    try {
      out = await this.engine.infer(batch.map((it) => it.data));
      if (out.length !== batch.length) throw new Error(`engine returned ${out.length} results for ${batch.length} windows`);
    } catch (err) {
      if (err instanceof EngineOverloaded) for (const it of batch) it.resolve({ kind: 'skipped' });
      else for (const it of batch) it.reject(err);
      return;
    }
    const computeMs = performance.now() - t0;
    this.batches++;
    this.batchedWindows += batch.length;
    this.hooks.onBatch?.(batch.length, computeMs);
    batch.forEach((it, i) => it.resolve({ kind: 'done', probs: out[i], computeMs, batchSize: batch.length }));
  }
}
